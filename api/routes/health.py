"""Liveness and readiness: no key needed, so orchestrators and load balancers can poll them."""

from __future__ import annotations

import re

from fastapi import APIRouter

from api.deps import DbDep, EngineDep
from kb.errors import KbError

#: An absolute path in a message (not the `//host` of a URL, not a URL's own path after `host:port`).
_SERVER_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;:()]+")

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep, db: DbDep) -> dict[str, str | int | None]:
    """The model is loaded, the served index exists and matches it, and the database answers; otherwise 503
    with the reason (a service that cannot record feedback should not get traffic)."""
    try:
        info = engine.ready()
        db.ping()
    except KbError as e:  # anyone may ask: the reason, without where the server keeps its files
        cls = type(e) if type(e).__init__ is KbError.__init__ else KbError
        public = cls(public_reason(e.message))
        public.code = e.code
        raise public from None
    return {"status": "ready", "collection": info.collection, "commit": info.commit, "articles": info.articles}


def public_reason(message: str) -> str:
    """A readiness reason fit for anonymous callers: server paths replaced.

        >>> public_reason("no index 'kb_articles' in /srv/kb/.kb/qdrant: run `kb index` first")
        "no index 'kb_articles' in <server path>: run `kb index` first"
    """
    return _SERVER_PATH.sub("<server path>", message)
