"""Re-indexing inside the service (the embedded local store allows one process) and metrics."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from api.deps import EditorKey, EngineDep, QaKey, SettingsDep
from api.schemas import IndexIn
from indexer.cli import run_index

router = APIRouter(tags=["admin"])
_index_lock = threading.Lock()


@router.post("/v1/index")
def reindex(body: IndexIn, engine: EngineDep, settings: SettingsDep, key: EditorKey) -> dict[str, Any]:
    """Index the service's articles folder now. Suggestions keep answering from the old build until the
    incremental update or the atomic alias swap lands."""
    with _index_lock:  # one re-index at a time; a second request waits for the first
        report = run_index(engine, settings.articles_dir, full=body.full)
    return report.as_dict()


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, engine: EngineDep, key: QaKey) -> str:
    """Prometheus text format: requests and latency per route, suggestions by tier, no-match, index age."""
    return str(request.app.state.metrics.render(engine))
