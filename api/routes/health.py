"""Liveness and readiness: no key needed, so orchestrators and load balancers can poll them."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep) -> dict[str, str | int | None]:
    """The model is loaded and the served index exists and matches it; otherwise 503 with the reason."""
    info = engine.ready()
    return {"status": "ready", "collection": info.collection, "commit": info.commit, "articles": info.articles}
