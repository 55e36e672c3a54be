"""Domain errors carry their HTTP status and problem type; one handler renders every error,
including framework ones, as RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import sentry_sdk
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
# PostgreSQL's answers when it aborts a transaction to resolve contention, not a failure.
ABORTED_BY_CONTENTION = {"40P01": "deadlock detected", "40001": "serialization failure"}
log = logging.getLogger(__name__)


class DomainError(Exception):
    status: ClassVar[int] = 400
    type: ClassVar[str] = "about:blank"
    title: ClassVar[str] = "Bad request"
    # True when the work done before the error must still be committed (e.g. a revocation).
    keeps_changes: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        field: str | None = None,
        **extra: Any,
    ) -> None:
        # `detail` stays English for API clients and logs; `code` and `params` let a client
        # show the message in its user's language (web/locales: "problem.<code>"). Every
        # raise in src/ names a code (tests/api/test_problem_codes.py). `field`: the input
        # the error concerns, so a form marks it (as a 422's `errors` do).
        self.detail = detail or self.title
        self.code = code
        self.params = dict(params or {})
        if field is not None:
            extra["errors"] = [field_error(["body", field], self.detail, code, self.params)]
        self.extra = extra
        super().__init__(self.detail)

    def members(self) -> dict[str, Any]:
        """The problem's extension members: code and params (when coded), then the rest."""
        coded = {"code": self.code, "params": self.params} if self.code else {}
        return {**coded, **self.extra}


class NotFound(DomainError):
    status, type, title = 404, "/problems/not-found", "Not found"


class ResourceNotFound(NotFound):
    """No such row of `model` in the caller's organisation, or none they may see."""

    def __init__(self, model: type, resource_id: int) -> None:
        resource = model.__name__.lower()
        super().__init__(
            f"{resource} {resource_id} not found",
            code="resource.not_found",
            params={"resource": resource, "id": resource_id},
        )


class Conflict(DomainError):
    status, type, title = 409, "/problems/conflict", "Conflict"


class InvalidInput(DomainError):
    status, type, title = 422, "/problems/invalid-input", "Invalid input"


class Unauthenticated(DomainError):
    status, type, title = 401, "/problems/unauthenticated", "Authentication required"


class PermissionDenied(DomainError):
    status, type, title = 403, "/problems/forbidden", "Permission denied"


class ChangedMeanwhile(DomainError):
    """A concurrent request changed or removed what this one was changing (db/conflicts.py)."""

    status, type, title = 409, "/problems/changed-meanwhile", "Changed by someone else"


class RateLimited(DomainError):
    status, type, title = 429, "/problems/rate-limited", "Too many requests"


class ServiceUnavailable(DomainError):
    status, type, title = 503, "/problems/unavailable", "Service temporarily unavailable"


class Problem(BaseModel):
    """RFC 9457 problem details; validation errors add `errors`."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str | None = Field(
        default=None,
        description=(
            "Stable, machine-readable reason (e.g. `team.name_taken`), listed in "
            "docs/problem-codes.md. Clients translate it; `detail` stays English."
        ),
        examples=["team.name_taken"],
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="The values a message for `code` needs, by name (present with `code`).",
        examples=[{"name": "Welcome"}],
    )


# Documented on every operation, so clients (and schema-driven tests) know the error shape;
# each refers to the one Problem schema that document_problems adds to the components.
_PROBLEM_REF = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Validation error (RFC 9457 problem details with `errors`)",
        "content": _PROBLEM_REF,
    },
    "4XX": {"description": "Client error (RFC 9457 problem details)", "content": _PROBLEM_REF},
    "5XX": {
        "description": "Server or dependency failure (RFC 9457 problem details)",
        "content": _PROBLEM_REF,
    },
}


def document_problems(app: FastAPI) -> None:
    """Add the Problem schema that PROBLEM_RESPONSES refers to (FastAPI's documented way to
    extend its OpenAPI document)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema()
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def problem(
    status: int, title: str, detail: str | None = None, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "retry_after" in body:
        headers["Retry-After"] = str(body["retry_after"])
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def validation_error(err: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of a 422's `errors`: where (`loc`, down to the field), why (`code`, the
    pydantic error type or a shape's own code from schemas.invalid, with its `params`) and
    the English `msg`. An error of the whole shape names the field that answers for it."""
    loc = list(err.get("loc", ()))
    params = {k: v for k, v in (err.get("ctx") or {}).items() if k != "error"}
    field = params.pop("field", None)
    if field is not None:
        loc.append(field)
    return field_error(loc, err.get("msg", ""), err.get("type"), params)


def field_error(
    loc: list[Any], msg: str, code: str | None, params: Mapping[str, Any]
) -> dict[str, Any]:
    """An entry of a problem's `errors`, as a form reads it (`type` kept for older clients)."""
    return {"loc": loc, "msg": msg, "type": code, "code": code, "params": dict(params)}


def problem_of(exc: DomainError) -> JSONResponse:
    """The problem+json answer to a domain error, wherever it is raised (a route, middleware)."""
    return problem(exc.status, exc.title, exc.detail, exc.type, **exc.members())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return problem_of(exc)

    @app.exception_handler(StarletteHTTPException)
    def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem(exc.status_code, titles.get(exc.status_code, "HTTP error"), detail)

    @app.exception_handler(RequestValidationError)
    def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [validation_error(err) for err in exc.errors()]
        return problem(
            422,
            "Invalid input",
            "The request did not validate.",
            "/problems/invalid-input",
            errors=errors,
        )

    @app.exception_handler(PoolTimeoutError)
    @app.exception_handler(OperationalError)
    def _database_down(_request: Request, exc: Exception) -> JSONResponse:
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if sqlstate in ABORTED_BY_CONTENTION:
            # Not an outage: the server ended this transaction to let a concurrent one
            # through. A retry succeeds; a deadlock is also a bug in lock ordering.
            log.error(
                "transaction aborted: %s (SQLSTATE %s)", ABORTED_BY_CONTENTION[sqlstate], sqlstate
            )
            sentry_sdk.capture_exception(exc)
            return problem(
                503,
                "Service temporarily unavailable",
                "A concurrent change got in the way; please try again.",
                "/problems/contention",
                retry_after=1,
            )
        log.warning("database unavailable: %s (SQLSTATE %s)", type(exc).__name__, sqlstate)
        return problem(
            503,
            "Service temporarily unavailable",
            "The database is unreachable.",
            "/problems/unavailable",
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(Exception)
    def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
        sentry_sdk.capture_exception(exc)  # a no-op unless SENTRY_DSN configured the SDK
        return problem(500, "Internal server error", None, "/problems/internal")
