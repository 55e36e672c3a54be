"""create_app(settings): engines, pools and clients are built in the lifespan, never at import."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from signupflow import __version__
from signupflow.api import ROUTERS
from signupflow.conditional import install as install_conditional_requests
from signupflow.db import migrate
from signupflow.db.engine import make_engine
from signupflow.db.session import make_reading_session_factory, make_session_factory, unit_of_work
from signupflow.demo import load_demo_if_empty
from signupflow.deps import API_PREFIX, in_route_thread, required_role
from signupflow.errors import (
    PROBLEM_JSON,
    PROBLEM_RESPONSES,
    document_problems,
    install_error_handlers,
)
from signupflow.frontend import mount_frontend
from signupflow.ops.error_reporting import init_error_reporting
from signupflow.ops.health import ProbeCache, ProbeEndpoints
from signupflow.ops.logging import configure_logging
from signupflow.ops.metrics import PoolCollector
from signupflow.ops.metrics_route import router as metrics_router
from signupflow.ops.middleware import (
    RequestBodyLimitMiddleware,
    RequestContextMiddleware,
)
from signupflow.people import csv_io
from signupflow.scheduling.runs import SolveSlots
from signupflow.settings import Settings, load_settings
from signupflow.state.store import make_store
from signupflow.worker.runner import Worker, start_thread

log = logging.getLogger(__name__)
# The only routes whose bodies may exceed MAX_REQUEST_BODY_BYTES, each with its own limit.
BODY_LIMIT_BY_PATH = {
    # A whole organisation as CSV; the route still streams it and stops at the same limit.
    f"{API_PREFIX}/people/import": csv_io.MAX_BYTES,
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = make_engine(settings)
    if settings.should_auto_migrate:
        await anyio.to_thread.run_sync(migrate.upgrade, engine)
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.reading_session_factory = make_reading_session_factory(engine)
    app.state.pool_collector = PoolCollector(
        engine, settings.db_pool_size + settings.db_max_overflow
    )
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    app.state.store = make_store(redis_url)
    app.state.probe_cache = ProbeCache()
    if settings.should_load_demo:

        def _load() -> None:
            with unit_of_work(app.state.session_factory) as session:
                load_demo_if_empty(session, settings)

        await anyio.to_thread.run_sync(_load)
    # A request's session keeps its connection across several thread-pool steps (each sync
    # dependency, then the route). Limiting threads alone let 64 clients take every connection
    # while their next step waited for a thread held by requests waiting for a connection: no
    # progress until pool_timeout (tests/test_load.py). Sessions are therefore admitted in the
    # event loop (Settings.request_slots). Few threads serve more: at 64 connections one worker
    # listed events at 176 req/s with 20 threads and 282 with 4 (docs/benchmarks.md).
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = settings.request_threads
    app.state.session_slots = anyio.Semaphore(settings.request_slots)
    # Solves inside requests hold a session slot for seconds: only a few at once, so they
    # never take every slot (staging and production refuse a cap that could).
    app.state.solve_slots = SolveSlots(
        settings.max_concurrent_solves, retry_after_s=settings.solver_time_limit_s
    )
    log.info(
        "started",
        extra={
            "environment": settings.app_env,
            "version": __version__,
            "database": engine.dialect.name,
            "store": app.state.store.backend,
        },
    )
    # Start-up objects (modules, metadata, settings) live as long as the process: moving them
    # out of the collector's view removes most full-collection pauses (measured: sequential p99
    # of a 200-row list fell from 84 ms to 17 ms).
    gc.freeze()
    worker = None
    if settings.should_run_worker_inline:
        # Development: `make run` sends mail (or logs it) without a second process.
        worker = Worker(settings, app.state.session_factory)
        worker_thread = start_thread(worker)
    try:
        yield
    finally:
        if worker is not None:
            worker.stop.set()
            await anyio.to_thread.run_sync(worker_thread.join, settings.shutdown_timeout_s)
        app.state.store.close()
        engine.dispose()
        log.info("stopped")


def add_routes_flat(app: FastAPI, router: APIRouter, *, responses: dict[int | str, Any]) -> None:
    """The router's routes, each added to the app's own route list as `include_router` would
    make it, not behind an included router: FastAPI matches an included router's routes twice
    per request, after walking every router before it. A plain `def` route
    works out its role requirement and finishes its unit of work in its own thread
    (`deps.in_route_thread`)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes are added flat")
        is_async = inspect.iscoroutinefunction(route.endpoint)
        if required_role(route.dependant) is not None and is_async:
            raise TypeError(f"{route.path}: a role requirement needs a plain def route")
        app.router.add_api_route(
            route.path,
            route.endpoint if is_async else in_route_thread(route.endpoint),
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses={**responses, **route.responses},
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            route_class_override=type(route),
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
            form_limits=route.form_limits,
        )


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="SignUpFlow",
        version=__version__,
        description="Volunteer scheduling for organisations. Errors are RFC 9457 "
        f"`{PROBLEM_JSON}`.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    document_problems(app)
    install_conditional_requests(app)  # innermost middleware: ETag headers on tagged reads
    app.include_router(metrics_router)
    for router in ROUTERS:
        add_routes_flat(app, router, responses=PROBLEM_RESPONSES)

    mount_frontend(app, settings.web_dir)

    # Added innermost first: the request context wraps everything, so even a rejected host
    # is logged with its request id.
    app.add_middleware(
        RequestBodyLimitMiddleware,
        limit=settings.max_request_body_bytes,
        limit_by_path=BODY_LIMIT_BY_PATH,
    )
    # Outside the body limit, so a browser can read a cross-origin 413.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag"],
        )
    app.add_middleware(
        RequestContextMiddleware, allowed_hosts=settings.allowed_hosts, hsts=settings.is_strict
    )
    # Outermost: the probes answer before any other layer (see ProbeEndpoints).
    app.add_middleware(ProbeEndpoints, state=app.state)
    return app


def app_from_environment() -> FastAPI:
    """Uvicorn factory: read the environment, refuse to start when it is invalid."""
    settings = load_settings()
    configure_logging(level=settings.effective_log_level, fmt=settings.log_format)
    init_error_reporting(settings)
    return create_app(settings)
