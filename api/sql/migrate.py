"""Bring a database to the newest migration, once, however many processes start at the same time.

Alembic (the usual companion of SQLAlchemy) numbers the migrations `0001`, `0002`, ... in
api/sql/migrations/versions and records the applied one in the table `alembic_version`. All pending migrations run
in one transaction that first takes a lock: `pg_advisory_xact_lock` on PostgreSQL, SQLite's write lock
(`BEGIN IMMEDIATE`) on SQLite. A second process starting at the same moment waits, then finds nothing to do; a
migration that fails leaves the database as it was (both backends have transactional DDL).

    >>> from api.sql.engine import direct_engine
    >>> from kb.config import Settings
    >>> engine = direct_engine(Settings(data_dir=Path("/tmp/kb-demo")))
    >>> upgrade(engine, "/tmp/kb-demo/kennisbank.sqlite")
    >>> current(engine) == head()
    True
    >>> engine.dispose()
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text

from api.sql.engine import WRITE
from kb.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK = 0x6B62_0001  # any constant that no other application takes as an advisory lock on the same database
#: Alembic's `context` and `op` are module-level proxies: one migration run at a time in this process.
_ALEMBIC = threading.Lock()


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration without an ini file: the migrations shipped in this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest migration this code knows."""
    found = ScriptDirectory.from_config(config()).get_current_head()
    assert found is not None, f"no migrations in {MIGRATIONS}"
    return found


def current(engine: Engine) -> str | None:
    """The migration the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock; committed when the block ends without error."""
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        yield conn


def upgrade(engine: Engine, where: str) -> None:
    """Apply every pending migration in one locked transaction; ConfigError when the database is newer than
    this code (it was migrated by a later version of Kennisbank)."""
    with _ALEMBIC, locked(engine) as conn:
        try:
            command.upgrade(config(conn), "head")
        except CommandError as e:
            newest = head()
            raise ConfigError(f"database {where}: {e}; this Kennisbank's newest migration is {newest}: run the "
                              "version that migrated it, or restore a backup made before") from e
