"""create_app(settings): the composition root for HTTP."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rapport import contexts
from rapport.access.api import MetricsReader
from rapport.collect.backpressure import LagGate
from rapport.collect.log import LogWriter
from rapport.collect.metrics import metrics_registry
from rapport.collect.service import RateLimiter, SourceDirectory
from rapport.db.engine import Database, open_database
from rapport.db.migrate import head_revision, is_up_to_date
from rapport.kernel.errors import JSONResponse, error_response, install_error_handlers
from rapport.profiles.processor import CONSUMER, GC_THRESHOLDS, applied_offset, run_processor
from rapport.settings import Settings, load_settings

if TYPE_CHECKING:
    from rapport.profiles.supervisor import ProcessorChild
from rapport.web.shell import mount_sites


def start_processor(settings: Settings) -> ProcessorChild | None:
    """The event processor in its own, supervised, process (RAPPORT_PROCESSOR=process)."""
    if settings.processor != "process":
        return None
    from rapport.profiles.supervisor import ProcessorChild

    return ProcessorChild(settings).start()


class SchemaOutOfDate(RuntimeError):
    pass


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The HTTP application. The processor runs in a thread when settings.processor == "thread"."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = db or open_database(settings)
        if not is_up_to_date(database):
            raise SchemaOutOfDate(f"the database schema is not at {head_revision(database)}; run `rapport migrate`")
        app.state.db = database
        app.state.sources = SourceDirectory(database)
        app.state.rate_limiter = RateLimiter()
        app.state.log_writer = LogWriter(database)
        app.state.metrics, app.state.ingest_counters = metrics_registry(database, CONSUMER)
        app.state.lag_gate = None
        if settings.processor != "off" and settings.ingest_max_lag_s > 0:
            app.state.lag_gate = LagGate(
                lambda: applied_offset(database), settings.ingest_max_lag_s, settings.ingest_hold_s
            )
        stop = threading.Event()
        worker = None
        if settings.processor == "thread":
            worker = threading.Thread(
                target=run_processor, args=(database, stop), name="rapport-processor", daemon=True
            )
            worker.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            stop.set()
            if worker:
                worker.join(timeout=10)
            app.state.log_writer.close()
            if db is None:
                database.dispose()

    app = FastAPI(title="Rapport", version="0.1.0", lifespan=lifespan, default_response_class=JSONResponse)
    app.state.settings = settings
    app.state.ready = False
    install_error_handlers(app)
    for context in contexts.CONTEXTS:
        for router in context.api:
            app.include_router(router)
    mount_sites(app, (page for context in contexts.CONTEXTS for page in context.pages), contexts.sites())

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        if not app.state.ready:
            return error_response(503, "starting", "not ready yet")
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["ops"])
    def metrics(_staff: MetricsReader) -> Response:
        """Prometheus text format, for a staff token with metrics:read (scrape with `authorization`)."""
        return Response(generate_latest(app.state.metrics), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_environment() -> FastAPI:
    """The app as each process of `rapport serve --workers N` builds it (uvicorn's factory).

    Workers are spawned, so they read RAPPORT_* from the environment as the parent did. None runs
    the processor: with `process` the parent runs it (create_app starts one only for `thread`, which
    `serve` refuses with workers), and keeping `process` keeps each worker's lag gate."""
    gc.set_threshold(*GC_THRESHOLDS)  # as `serve` does: ingest allocates much and keeps little
    return create_app(load_settings())
