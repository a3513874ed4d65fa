"""The ASGI app: REST API and Gradio UI on one FastAPI application."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from sqlalchemy.exc import InterfaceError, OperationalError  # noqa: E402

from arena import services  # noqa: E402
from arena.api import router  # noqa: E402
from arena.api.export import export_router  # noqa: E402
from arena.api.routes import database_unavailable_handler, service_error_handler  # noqa: E402
from arena.api.validation import install_validation_handler  # noqa: E402
from arena.config import Settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from arena.db import pool_budget_problem  # noqa: E402
from arena.providers.transport import tls_context  # noqa: E402
from arena.services import live  # noqa: E402
from arena.services.audit import AuditScheduler  # noqa: E402
from arena.services.live_config import ConfigWatcher  # noqa: E402
from arena.ui import I18N, build_blocks  # noqa: E402
from arena.ui.admin import build_admin_blocks  # noqa: E402
from arena.web import connection_notice  # noqa: E402
from arena.web.body_limit import BodyLimitMiddleware  # noqa: E402
from arena.web.security_headers import SecurityHeadersMiddleware  # noqa: E402
from arena.web.voter_cookie import VoterCookieMiddleware  # noqa: E402

log = logging.getLogger("arena")


def prepare(settings: Settings) -> Arena:
    """Open the database, migrate it (once, under a lock) and load the demo if empty."""
    arena = Arena.open(settings, migrate=True)
    with arena.session() as session:
        if settings.battle.load_demo:
            services.ensure_demo(session)
        live.sync_models(session, settings)
        if settings.battle.named_mode != "off":
            try:
                services.models_with_answers(session, settings.battle.answer_sets,
                                             named_mode=settings.battle.named_mode)
            except services.ServiceError as exc:  # the owner's to fix; voters see a notice
                log.warning("the side-by-side (named) tab has nothing to show: %s", exc)
    problem = pool_budget_problem(arena.engine, processes=settings.server.processes,
                                  pool_size=settings.database_pool_size,
                                  max_overflow=settings.database_max_overflow)
    if problem:
        log.warning("connection pools: %s", problem)
    return arena


def serving_app(arena: Arena) -> FastAPI:
    """The app as `arena serve` runs it: leaderboard warming, garbage collector tuned."""
    # Load the leaderboard's vote columns now, not on the first visitor's request.
    threading.Thread(target=arena.leaderboard.board, name="leaderboard-warmup",
                     daemon=True).start()
    application = create_app(arena)
    # Live models follow the config file without a restart (and at once on SIGHUP).
    application.state.config_watcher = ConfigWatcher(arena).start()
    # The anomalous-voter audit, every audit.interval_minutes, in one process at a time.
    application.state.audit_scheduler = AuditScheduler(arena).start()
    # Bootstrap intervals of the public board, every battle.bootstrap_minutes, off the
    # request path.
    arena.bootstrap.start()
    tls_context()  # the certificate store, loaded before the first live battle needs it
    # Gradio, plotly and friends leave millions of long-lived objects: without this,
    # each full garbage collection walks them all and stalls every stream ~0.2 s.
    gc.freeze()
    return application


def create_app(arena: Arena) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await arena.aclose_http_client()

    app = FastAPI(title=arena.settings.server.title, docs_url="/api/docs",
                  redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.arena = arena
    app.add_exception_handler(services.ServiceError, service_error_handler)
    for unavailable in (OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, database_unavailable_handler)
    app.include_router(router)
    app.include_router(export_router)
    app.include_router(connection_notice.router)
    # Outermost last: security headers on every answer (a 413 too), then the body limit
    # before anything reads a body, then the voter cookie.
    server = arena.settings.server
    app.add_middleware(VoterCookieMiddleware, secret=lambda: arena.salt)
    app.add_middleware(BodyLimitMiddleware, max_bytes=server.max_body_kb * 1024)
    app.add_middleware(SecurityHeadersMiddleware, https=server.https,
                       trusted_proxies=arena.settings.identity.trusted_proxies)
    _mount_admin(app, arena)
    blocks = build_blocks(arena)
    app = gr.mount_gradio_app(
        app, blocks, path="", i18n=I18N, footer_links=[], ssr_mode=False,
        theme=gr.themes.Soft(), css=CSS, head=connection_notice.HEAD,
    )
    install_validation_handler(app)  # REST, and Gradio's own routes at / and /admin
    return app


def _mount_admin(app: FastAPI, arena: Arena) -> None:
    """The owner's pages at /admin, behind the admin token; absent when none is set."""
    token = arena.settings.admin.token
    if not token:
        return
    gr.mount_gradio_app(
        app, build_admin_blocks(arena), path="/admin", auth=("admin", token),
        footer_links=[], ssr_mode=False, theme=gr.themes.Soft(),
    )


CSS = """
#battle-reveal, #sbs-reveal, #live-reveal { font-size: 1.1em; min-height: 1.5em; }
/* The answers are the battle's record: voters cannot clear a panel. */
.arena-answer button[aria-label="Clear"] { display: none; }
"""
