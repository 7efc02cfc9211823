"""Liveness and readiness: no key needed, so orchestrators and load balancers can poll them."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DbDep, EngineDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep, db: DbDep) -> dict[str, str | int | None]:
    """The model is loaded, the served index exists and matches it, and the database answers; otherwise 503
    with the reason (a service that cannot record feedback should not get traffic)."""
    info = engine.ready()
    db.ping()
    return {"status": "ready", "collection": info.collection, "commit": info.commit, "articles": info.articles}
