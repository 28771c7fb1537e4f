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
from rapport.collect.consumer import GC_THRESHOLDS, start_consumers
from rapport.collect.cors import TRACKING_PREFIXES, TrackingCors
from rapport.collect.log import LogWriter
from rapport.collect.metrics import metrics_registry
from rapport.collect.model import LARGEST_BATCH_BYTES
from rapport.collect.service import RateLimiter, SourceDirectory
from rapport.db.engine import Database, open_database
from rapport.db.migrate import head_revision, is_up_to_date
from rapport.kernel.edge import BodyLimit
from rapport.kernel.errors import JSONResponse, error_response, install_error_handlers
from rapport.outbound.metrics import OutboxCollector
from rapport.profiles.processor import CONSUMER, applied_offset
from rapport.settings import Settings, load_settings
from rapport.web.docs import mount_docs
from rapport.web.shell import mount_sites

if TYPE_CHECKING:
    from rapport.collect.supervisor import ConsumerChild


def start_processor(settings: Settings) -> ConsumerChild | None:
    """The log's consumers, and the contexts' workers beside them (the outbox's), in their own,
    supervised, process (RAPPORT_PROCESSOR=process): one per `rapport serve`, however many server
    processes it runs."""
    if settings.processor != "process":
        return None
    from rapport.collect.supervisor import ConsumerChild

    return ConsumerChild(settings, contexts.CONSUMERS, workers=contexts.WORKERS).start()


MOST_BODY_BYTES = 1024 * 1024  # staff API bodies and forms; the Tracking API takes up to its largest batch


class SchemaOutOfDate(RuntimeError):
    pass


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The HTTP application. The log's consumers and the contexts' workers run in its threads when
    settings.processor == "thread"."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = db or open_database(settings)
        if not is_up_to_date(database):
            raise SchemaOutOfDate(f"the database schema is not at {head_revision(database)}; run `rapport migrate`")
        app.state.db = database
        app.state.sources = SourceDirectory(database)
        app.state.rate_limiter = RateLimiter()
        app.state.log_writer = LogWriter(database)
        running = contexts.CONSUMERS  # read at start: tests add one of their own beside them
        app.state.metrics, app.state.ingest_counters = metrics_registry(
            database, [kind.name for kind in running], CONSUMER
        )
        app.state.metrics.register(OutboxCollector(database))  # outbound's gauges: collect cannot import it
        app.state.lag_gate = None
        if settings.processor != "off" and settings.ingest_max_lag_s > 0:
            app.state.lag_gate = LagGate(
                lambda: applied_offset(database), settings.ingest_max_lag_s, settings.ingest_hold_s
            )
        stop = threading.Event()
        workers: list[threading.Thread] = []
        if settings.processor == "thread":  # the outbox's worker too: tests set it aside by emptying WORKERS
            workers = start_consumers(database, running, stop, contexts.WORKERS)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            stop.set()
            for worker in workers:
                worker.join(timeout=10)
            app.state.log_writer.close()
            if db is None:
                database.dispose()

    app = FastAPI(
        title="Rapport",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url=None,  # web/docs.py serves /docs from local files; FastAPI's pages load scripts from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready = False
    install_error_handlers(app)
    # Bounded before anything reads it (inside CORS, so a browser can read the 413 too).
    app.add_middleware(BodyLimit, default=MOST_BODY_BYTES, by_prefix={TRACKING_PREFIXES: LARGEST_BATCH_BYTES})
    app.add_middleware(TrackingCors)  # outside TextGuard, so that its answers are readable too
    for context in contexts.CONTEXTS:
        for router in context.api:
            app.include_router(router)
    mount_sites(app, (page for context in contexts.CONTEXTS for page in context.pages), contexts.sites())
    mount_docs(app)

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
