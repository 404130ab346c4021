"""The FastAPI application: wiring of settings, database, storage, identity and routes."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from lamefair_catalog import __version__
from lamefair_catalog.database.engine import (
    database_breaker,
    make_engine,
    make_session_factory,
    make_side_session_factory,
)
from lamefair_catalog.database.identity import CatalogIdentityReader
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.verdicts import ServerVerdicts
from lamefair_catalog.metrics import DATABASE_FACTS
from lamefair_catalog.settings import Settings
from lamefair_catalog.shared import known_instrument_pairs
from lamefair_catalog.storage.gateway import Storage
from lamefair_catalog.web.api import router
from lamefair_catalog.web.auth import Authenticator
from lamefair_catalog.web.errors import install_error_handlers
from lamefair_catalog.web.health import auth_config, health_check
from lamefair_catalog.web.observe import install_observability
from lamefair_catalog.web.routes.shares import public as share_links


def create_app(settings: Settings, *, start_verdicts: bool = True) -> FastAPI:
    """The app and, in its `state`, what the routes use: `catalog` (the domain commands' backends),
    `authenticator`, `verdicts`, `health`, `auth_config`, `settings` and `engine`."""
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        pool_timeout=settings.db_pool_timeout,
    )
    sessions = make_session_factory(engine)
    database = database_breaker(engine, settings.outage_cool_down)
    storage = Storage(settings)
    catalog = Catalog(
        settings,
        sessions,
        storage,
        database,
        known_pairs=known_instrument_pairs(),
        side_sessions=make_side_session_factory(settings.database_url, settings.db_connect_timeout),
    )
    verdicts = ServerVerdicts(catalog)
    catalog.on_derived_stored = verdicts.submit
    if start_verdicts:  # the embedded server starts it once its own storage answers
        verdicts.start()

    app = FastAPI(
        title="lamefair catalog",
        version=__version__,
        description=(
            "Project hierarchy, presigned S3 transfers, README files next to the data and "
            "access control for lamefair. All sha256 values are lowercase hex."
        ),
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.catalog = catalog
    app.state.verdicts = verdicts
    app.state.authenticator = Authenticator(settings)
    app.state.auth_config = partial(auth_config, settings)
    identity = CatalogIdentityReader(sessions)
    app.state.health = health_check(settings, engine, identity, database, storage)
    app.include_router(router)
    app.include_router(share_links)
    install_error_handlers(app)
    install_observability(app)
    DATABASE_FACTS.use(sessions)
    return app
