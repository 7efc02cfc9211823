"""Re-indexing inside the service (the embedded local store allows one process) and metrics."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from api.deps import EditorKey, EngineDep, QaKey, SettingsDep
from api.schemas import IndexIn
from indexer.cli import run_index
from kb.errors import StoreReadOnly
from kb.store import QdrantStore

router = APIRouter(tags=["admin"])
_index_lock = threading.Lock()


@router.post("/v1/index")
def reindex(body: IndexIn, engine: EngineDep, settings: SettingsDep, key: EditorKey) -> dict[str, Any]:
    """Index the service's articles folder now. Suggestions keep answering from the old build until the
    incremental update or the atomic alias swap lands."""
    with _index_lock:  # one re-index at a time; a second request waits for the first
        if not engine.store.read_only:
            return run_index(engine, settings.articles_dir, full=body.full).as_dict()
        # The service reads Qdrant with the read-only key: write with the read-write key if it was given one.
        if settings.qdrant_api_key is None:
            raise StoreReadOnly("this service reads Qdrant with the read-only key (KB_QDRANT_READ_API_KEY) and has "
                                "no read-write key: run `kb index` against the server (with KB_QDRANT_URL and "
                                "KB_QDRANT_API_KEY set), or give the service KB_QDRANT_API_KEY too")
        writer = QdrantStore(settings)
        try:
            return run_index(dataclasses.replace(engine, store=writer), settings.articles_dir,
                             full=body.full).as_dict()
        finally:
            writer.close()


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, engine: EngineDep, key: QaKey) -> str:
    """Prometheus text format: requests and latency per route, suggestions by tier, no-match, index age."""
    return str(request.app.state.metrics.render(engine))
