"""Alembic environment of the access log (run by serving.api.access_log.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from serving.api.access_log import Base

config = context.config
with engine_from_config(config.get_section(config.config_ini_section) or {}, poolclass=pool.NullPool).connect() as c:
    context.configure(connection=c, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
