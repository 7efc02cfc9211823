"""Re-indexing inside the service (one at a time, see `api.service.reindex`) and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api import service
from api.deps import EditorKey, EngineDep, LearningDep, MetricsDep, QaKey, SettingsDep
from api.schemas import IndexIn

router = APIRouter(tags=["admin"])


@router.post("/v1/index")
def reindex(body: IndexIn, engine: EngineDep, settings: SettingsDep, learning: LearningDep,
            key: EditorKey) -> dict[str, Any]:
    """Index the service's articles folder now. Suggestions keep answering from the old build until the
    incremental update or the atomic alias swap lands."""
    return service.reindex(body, engine=engine, settings=settings, learning=learning)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(metrics: MetricsDep, engine: EngineDep, key: QaKey) -> str:
    """Prometheus text format: requests and latency per route, suggestions by tier, no-match, index age."""
    return metrics.render(engine)
