"""`kb serve` and `kb keys`: registered on the `kb` command through the `kb.commands` entry points.

    $ kb keys add --role editor --name "Anna de Vries"   # prints the key once
    $ kb serve --port 8000
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import click

from api.db import ROLES, Database, open_database
from api.sql.engine import SQLITE_FILE, DatabaseUnavailable
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from
from kb.drafting import Drafter
from kb.errors import ConfigError
from kb.outside import outside_problems

DEMO_FILE = "demo-key.txt"


def _db() -> Database:
    return open_database(settings_from())


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """A database that cannot be opened or written (read-only data dir, full disk) is one line, not a traceback."""
    try:
        yield
    except (sqlite3.Error, OSError, DatabaseUnavailable) as e:
        settings = settings_from()
        where = "the database (KB_DATABASE_URL)" if settings.database_url else \
            f"the key database {settings.data_dir / SQLITE_FILE}"
        raise ConfigError(f"cannot use {where}: {e}; check that the data directory exists and is writable "
                          "by this user") from None


@click.command("serve")
@click.option("--host", help="Address to bind (default KB_HOST, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default KB_PORT, 8000).")
def serve(host: str | None, port: int | None) -> int:
    """Serve the API and pages under uvicorn (one worker; the embedded store is single-process).

        kb serve
        kb serve --host 0.0.0.0 --port 8080
    """
    import uvicorn

    from api.app import create_app

    settings = settings_from(host=host, port=port)
    # Every template problem, listed at once as one error line, before uvicorn (which would print a traceback);
    # the outside list (kb.outside) the same way.
    Drafter(settings.templates_dir, workers=1).close()
    if errors := [str(p) for p in outside_problems(settings.articles_dir) if p.is_error]:
        raise ConfigError("outside our remit: " + "; ".join(errors))
    click.echo(f"Kennisbank on http://{settings.host}:{settings.port}  (API docs at /docs)", err=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                timeout_graceful_shutdown=5)
    return EXIT_OK


@click.group("keys")
def keys() -> None:
    """Manage API keys (stored hashed; a key is shown once, when it is made)."""


@keys.command("add")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="", help="Who or what uses the key.")
def add(role: str, name: str) -> int:
    """Create a key and print it (the only time it is shown).

        kb keys add --role agent --name "partner team"
    """
    with _one_line_errors():
        db = _db()
        try:
            key, record = db.add_key(role, name=name)
        finally:
            db.close()
        click.echo(key)
        click.echo(f"key id {record.id}, role {record.role}: store it now, it cannot be shown again", err=True)
        return EXIT_OK


@keys.command("list")
def list_keys() -> int:
    """List keys (id, role, name, created, revoked); never the keys themselves."""
    with _one_line_errors():
        db = _db()
        try:
            for k in db.list_keys():
                revoked = f"revoked {k.revoked}" if k.revoked else ""
                click.echo(f"{k.id}  {k.role:7} {k.name:30} {k.created}  {revoked}")
        finally:
            db.close()
        return EXIT_OK


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> int:
    """Revoke a key by its id (from `kb keys list`)."""
    with _one_line_errors():
        db = _db()
        try:
            done = db.revoke_key(key_id)
        finally:
            db.close()
        click.echo(f"revoked {key_id}" if done else f"no active key {key_id}", err=True)
        return EXIT_OK if done else EXIT_ERRORS


@keys.command("ensure-demo")
def ensure_demo() -> int:
    """Development only: create (once) an admin demo key for this machine and print it."""
    with _one_line_errors():
        settings = settings_from()
        if settings.env == "production":
            raise ConfigError("demo keys are refused in production; use `kb keys add`")
        path = settings.data_dir / DEMO_FILE
        if not path.exists():
            db = _db()
            try:
                key, _ = db.add_key("admin", name="demo")
            finally:
                db.close()
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                out.write(key + "\n")
        click.echo(path.read_text().strip())
        return EXIT_OK
