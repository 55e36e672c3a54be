from __future__ import annotations

from typing import Literal

from signupflow.schemas import ReadModel


class FeedCreated(ReadModel):
    scope: Literal["person", "organisation"]
    https_url: str
    webcal_url: str
