from __future__ import annotations

from datetime import datetime
from typing import Any

from signupflow.schemas import ReadModel


class AuditRead(ReadModel):
    id: int
    actor_user_id: int | None
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, Any]
    created_at: datetime
