"""Engine, sessions and migrations (Alembic, run programmatically at start-up)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_HERE = Path(__file__).resolve().parent


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """Create an engine for the service's threads.

    SQLite files get WAL mode, foreign keys and a busy timeout. Other servers (PostgreSQL)
    get a connection pool sized for the request threads plus the solve workers, pings
    before reuse, recycling, and sessions in UTC.
    """
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2 * pool_size,
                               pool_timeout=30, pool_recycle=1800)

        @event.listens_for(engine, "connect")
        def _utc(dbapi_conn: Any, _record: Any) -> None:  # DB-API connection: driver-specific type
            # timestamptz values come back in the session's zone; the API speaks UTC.
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            cur = dbapi_conn.cursor()
            cur.execute("SET TIME ZONE 'UTC'")
            cur.close()
            dbapi_conn.autocommit = autocommit

        return engine
    if u.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2 * pool_size)
    if u.database and u.database != ":memory:":
        owner_only(Path(u.database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # DB-API connection: driver-specific type
        cur = dbapi_conn.cursor()
        # WAL lets readers proceed while a solve writes its result.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def owner_only(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by the service's user only.

    The database holds deputy ids (assignments) and the audit log. SQLite gives its ``-wal``
    and ``-shm`` files the database file's permissions, so they are owner-only too; files
    left by an older version are tightened here as well.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if f.exists():
            os.chmod(f, 0o600)


def alembic_config(url: str) -> Config:
    """The Alembic config of ``api/alembic.ini`` pointed at ``url``."""
    cfg = Config(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database schema to the latest revision."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory on ``engine``; objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(engine, expire_on_commit=False)
