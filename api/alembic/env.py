"""Alembic environment: uses the connection handed over by ``api.db.migrate`` when there is one."""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from api.models import Base

config = context.config
target_metadata = Base.metadata
if config.attributes.get("connection") is None and os.environ.get("DATABASE_URL"):
    # run by hand (`alembic -c api/alembic.ini upgrade head`): follow the service's DATABASE_URL
    config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"].replace("%", "%%"))


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection ``api.db.migrate`` handed over, else on a new engine.

    The engine is built from ``sqlalchemy.url`` (set from ``DATABASE_URL`` when run by hand).
    """
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
