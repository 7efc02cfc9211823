"""Liveness and readiness: no key needed, so orchestrators and load balancers can poll them.

Anyone may ask `/readyz`, so its reason never says where the server keeps its files (a data dir with a space in
its name, a relative `.kb/qdrant`, any absolute path): those are replaced by `<server path>` and the full reason
goes to the log (logger `kb.api`), where the operator looks.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from api.deps import DbDep, EngineDep
from api.errors import server_folders, without_server_paths
from kb.errors import KbError

log = logging.getLogger("kb.api")

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, engine: EngineDep, db: DbDep) -> dict[str, str | int | None]:
    """The model is loaded, the served index exists and matches it, and the database answers; otherwise 503
    with the reason (a service that cannot record feedback should not get traffic)."""
    try:
        info = engine.ready()
        db.ping()
    except KbError as e:  # anyone may ask: the reason, without where the server keeps its files
        log.warning("not ready: %s", e.message)
        cls = type(e) if type(e).__init__ is KbError.__init__ else KbError
        public = cls(without_server_paths(e.message, server_folders(request)))
        public.code = e.code
        raise public from None
    return {"status": "ready", "collection": info.collection, "commit": info.commit, "articles": info.articles}
