"""How the service reaches its database: SQLAlchemy engines for SQLite (embedded) and PostgreSQL (shared).

- SQLite, `KB_DATA_DIR/kennisbank.sqlite`: the file is created readable and writable by its owner only (0600; the
  WAL and shared-memory files SQLite makes next to it take the same mode); every connection runs in WAL mode with
  `synchronous=FULL`, so a committed write survives a crash of the process or the machine. A write transaction
  takes the write lock when it begins (`BEGIN IMMEDIATE`, asked for with `WRITE`): writers queue on
  SQLite's busy timeout instead of failing half-way.
- PostgreSQL, `KB_DATABASE_URL`: psycopg 3 under SQLAlchemy's own pool, at most `KB_DATABASE_POOL_SIZE`
  connections, each pinged before it is handed out (one the server closed since is replaced, not used). The URL
  goes to libpq as given.

Why SQLAlchemy's pool and not psycopg_pool (the issue's suggestion): psycopg_pool under SQLAlchemy means
`NullPool` + `creator=pool.getconn` + `close_returns=True`, and measured on psycopg_pool 3.3.3 and SQLAlchemy
2.1.9 that combination (1) runs the dialect's per-connection set-up on every checkout, so the psycopg
connections piled up notice handlers (606 on one connection after 1,200 queries), and (2) when PostgreSQL is
down, makes every request wait the pool timeout (5 s) and then say only "couldn't get a connection", where
SQLAlchemy's pool fails in about a millisecond with libpq's reason and reconnects on the first request after the
server is back. Per query both cost the same (a key lookup on loopback: 0.85 ms with psycopg_pool's check, 0.88 ms
with SQLAlchemy's pre-ping). Two pools
stacked is the thing to avoid; the one built for the engine is the one to keep.

Errors: a database that cannot be reached, or refuses for the moment (PostgreSQL down, SQLite locked past the
busy timeout), raises `DatabaseUnavailable`, which the API answers with 503 and Retry-After; messages name the
host, port and database, never the password.

    >>> engine = pooled_engine(Settings(data_dir=Path("/tmp/kb-demo")))
    >>> engine.dialect.name
    'sqlite'
    >>> engine.dispose()
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import NullPool

from kb.config import Settings
from kb.errors import StoreUnavailable

SQLITE_FILE = "kennisbank.sqlite"
#: Seconds a SQLite writer waits for another connection's write lock (the driver's default, as before).
SQLITE_BUSY_TIMEOUT = 5.0
#: Seconds to open a PostgreSQL connection.
PG_CONNECT_TIMEOUT = 5
#: Seconds a request waits for a free pooled connection (all of them busy) before it is answered 503.
POOL_TIMEOUT = 5.0
#: Execution option for a transaction that writes: on SQLite it takes the write lock when it begins.
WRITE = {"kb_write": True}


class DatabaseUnavailable(StoreUnavailable):
    """The shared database cannot be reached or refused a statement (answered 503 with Retry-After)."""

    code = "database_unavailable"


def describe(settings: Settings) -> str:
    """Where the database is, for messages: the SQLite path, or host:port/dbname without user or password."""
    if settings.database_url is None:
        return str(settings.data_dir / SQLITE_FILE)
    try:
        info = psycopg.conninfo.conninfo_to_dict(settings.database_url.get_secret_value())
    except psycopg.ProgrammingError:
        return "the configured KB_DATABASE_URL"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


@contextmanager
def unavailable(where: str) -> Iterator[None]:
    """Turn "cannot reach the database now" into DatabaseUnavailable; the driver's reason, never the SQL or its
    parameters (SQLAlchemy's message carries both)."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
        raise DatabaseUnavailable(f"database: {where} unavailable: {e.orig}".strip()) from e
    except sa_exc.TimeoutError as e:  # every pooled connection busy for POOL_TIMEOUT seconds
        raise DatabaseUnavailable(f"database: no free connection to {where} within {POOL_TIMEOUT:g} s; "
                                  "try again shortly") from e


def direct_engine(settings: Settings) -> Engine:
    """An engine that opens a connection per use and keeps none: for migrations and the alembic command line
    (an unreachable PostgreSQL is reported at once, with libpq's reason)."""
    if settings.database_url is None:
        return _sqlite(settings.data_dir / SQLITE_FILE, poolclass=NullPool)
    url = settings.database_url.get_secret_value()
    return _postgresql(functools.partial(psycopg.connect, url, connect_timeout=PG_CONNECT_TIMEOUT), poolclass=NullPool)


def pooled_engine(settings: Settings) -> Engine:
    """The service's engine; `engine.dispose()` closes its connections."""
    if settings.database_url is None:
        return _sqlite(settings.data_dir / SQLITE_FILE, pool_timeout=POOL_TIMEOUT)
    url = settings.database_url.get_secret_value()
    # pool_pre_ping: a connection the server closed since (a restart, an idle timeout) is replaced, not used.
    return _postgresql(functools.partial(psycopg.connect, url, connect_timeout=PG_CONNECT_TIMEOUT),
                       pool_size=settings.database_pool_size, max_overflow=0, pool_timeout=POOL_TIMEOUT,
                       pool_pre_ping=True)


def _postgresql(creator: Any, **options: Any) -> Engine:
    # The URL goes to libpq as given (`creator`); SQLAlchemy's URL parser would read some libpq URLs differently.
    # hide_parameters: a failed statement's message must not carry message texts or key hashes into logs.
    return create_engine("postgresql+psycopg://", creator=creator, hide_parameters=True, **options)


def _sqlite(path: Path, **options: Any) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):  # created owner-only before SQLite opens it (with the umask's mode)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    engine = create_engine(URL.create("sqlite", database=str(path)), hide_parameters=True,
                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT}, **options)
    event.listen(engine, "connect", _sqlite_connected)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connected(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling off (it would BEGIN late and commit around DDL): SQLAlchemy's "begin"
    # event below says when a transaction starts, so migrations and writes are one transaction each.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # per connection: every commit is on disk before it returns
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the lock up front: a deferred transaction that reads first and writes later can fail at once
    # with SQLITE_BUSY when another connection wrote in between, where IMMEDIATE waits on the busy timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("kb_write") else "BEGIN")
