"""Re-indexing inside the service (the embedded local store allows one process) and metrics.

One re-index runs at a time. A request that comes while one runs is answered at once with 409
`reindex_running` (the running one will pick up the same folder), instead of waiting in the thread pool: 45
queued requests used to hold threads for 15 s and slow suggestions down fifteenfold."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from api.deps import EditorKey, EngineDep, QaKey, SettingsDep
from api.schemas import IndexIn
from indexer.cli import run_index
from kb.config import Settings
from kb.engine import Engine
from kb.errors import ReindexRunning, StoreReadOnly
from kb.store import open_store

router = APIRouter(tags=["admin"])
_index_lock = threading.Lock()


@router.post("/v1/index")
def reindex(body: IndexIn, engine: EngineDep, settings: SettingsDep, key: EditorKey) -> dict[str, Any]:
    """Index the service's articles folder now. Suggestions keep answering from the old build until the
    incremental update or the atomic alias swap lands."""
    if not _index_lock.acquire(blocking=False):
        raise ReindexRunning("a re-index is already running; it indexes the same articles folder, so wait for it "
                             "to finish (kb status shows the served commit) and ask again only if files changed since")
    try:
        return _reindex(body, engine, settings)
    finally:
        _index_lock.release()


def _reindex(body: IndexIn, engine: Engine, settings: Settings) -> dict[str, Any]:
    if not engine.store.read_only:
        return run_index(engine, settings.articles_dir, full=body.full).as_dict()
    # The service reads Qdrant with the read-only key: write with the read-write key if it was given one.
    if settings.qdrant_api_key is None:
        raise StoreReadOnly("this service reads Qdrant with the read-only key (KB_QDRANT_READ_API_KEY) and has "
                            "no read-write key: run `kb index` against the server (with KB_QDRANT_URL and "
                            "KB_QDRANT_API_KEY set), or give the service KB_QDRANT_API_KEY too")
    writer = open_store(settings)
    try:
        return run_index(dataclasses.replace(engine, store=writer), settings.articles_dir, full=body.full).as_dict()
    finally:
        writer.close()


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, engine: EngineDep, key: QaKey) -> str:
    """Prometheus text format: requests and latency per route, suggestions by tier, no-match, index age."""
    return str(request.app.state.metrics.render(engine))
