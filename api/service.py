"""What the API and the pages do, once: suggest (and record and count), take feedback, re-index.

A route (api/routes/) or a page (api/pages/) parses its input into the API's request model and calls these
functions; neither records, counts or locks anything itself, and pages never call route functions. Following one
message:

    api/routes/suggest.py   HTTP in, SuggestIn -> service.suggest -> SuggestOut out
    api/service.py          read the message once (bounded by KB_MAX_MESSAGE_CHARS), suggest, record, count
    kb/suggest.py           detect the language, rank, apply the tiers, draft
    kb/retrieval.py         dense + lexical search and their fusion
    kb/drafting.py          the channel-fitted draft from the article's template

    >>> out = suggest(SuggestIn(message="Klopt het dat suiker kanker voedt?"), settings=settings, engine=engine,
    ...               db=db, metrics=metrics, key_id=key.id)  # doctest: +SKIP
    >>> out.suggestions[0].article_id  # doctest: +SKIP
    'suiker-voedt-kanker'
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

from api.db import Database
from api.metrics import Metrics
from api.schemas import FeedbackIn, FeedbackOut, IndexIn, SuggestIn, SuggestOut
from indexer.run import run_index
from kb.config import Settings
from kb.engine import Engine
from kb.errors import InvalidInput, NotFound, ReindexRunning, StoreReadOnly
from kb.normalize import Message
from kb.store import open_store
from kb.suggest import SuggestQuery

#: One re-index at a time in this process (the embedded local store allows one process; see `reindex`).
_index_lock = threading.Lock()


def suggest(body: SuggestIn, *, settings: Settings, engine: Engine, db: Database, metrics: Metrics,
            key_id: str) -> SuggestOut:
    """Ranked, sourced drafts for `body`, recorded under a new request id (which feedback refers to) and counted
    in `metrics`. A message over KB_MAX_MESSAGE_CHARS is refused (InvalidInput) before the index is asked."""
    message = Message.bounded(body.message, settings.max_message_chars)
    engine.ready()
    result = engine.suggester.suggest(SuggestQuery(
        message=message, channel=body.channel, language=body.language, customer_name=body.customer_name,
        agent_signature=body.agent_signature, limit=body.limit))
    request_id = uuid.uuid4().hex
    tier = str(result.suggestions[0].confidence) if result.suggestions else None  # the insights count tiers
    db.record_request(request_id, key_id, body.message, str(body.channel), [s.article_id for s in result.suggestions],
                      language=str(result.language), tier=tier, kind=str(result.kind.kind) if result.kind else None)
    metrics.observe_suggestion(result)
    return SuggestOut.of(result, request_id)


def feedback(body: FeedbackIn, *, db: Database, key_id: str, source: str,
             edit_distance: int | None = None) -> FeedbackOut:
    """Store what the agent did with a suggestion (only for an article that request offered), replacing what
    they chose before for the same suggestion: the last choice wins, one row each. Returns once it is on disk.
    `source` says where it came from (`page`, `api`, `chatwoot`; api.db.FEEDBACK_SOURCES)."""
    _check_offered(db, body.request_id, body.article_id)
    feedback_id = db.record_feedback(body.request_id, body.article_id, str(body.action), body.final_text, key_id,
                                     source=source, edit_distance=edit_distance)
    return FeedbackOut(feedback_id=feedback_id, request_id=body.request_id, article_id=body.article_id,
                       action=body.action)


def withdraw_feedback(request_id: str, article_id: str | None, *, db: Database) -> bool:
    """Take back the agent's choice for one suggestion (they clicked the active choice again); False when there
    was none to take back."""
    _check_offered(db, request_id, article_id)
    return db.withdraw_feedback(request_id, article_id)


def _check_offered(db: Database, request_id: str, article_id: str | None) -> None:
    offered = db.request_articles(request_id)
    if offered is None:
        raise NotFound(f"request_id: no suggestion request '{request_id}'", field="request_id")
    if article_id is not None and article_id not in offered:
        raise InvalidInput(f"article_id: '{article_id}' was not suggested for request '{request_id}'; "
                           f"suggested: {', '.join(offered) or 'none'}", field="article_id")


def reindex(body: IndexIn, *, engine: Engine, settings: Settings) -> dict[str, Any]:
    """Index the service's articles folder now; suggestions keep answering from the old build until the
    incremental update or the atomic alias swap lands.

    One re-index runs at a time. One asked for while another runs is refused at once (ReindexRunning, 409)
    instead of waiting in the thread pool: 45 queued requests used to hold threads for 15 s and slow suggestions
    down fifteenfold, and the running one indexes the same folder anyway."""
    if not _index_lock.acquire(blocking=False):
        raise ReindexRunning("a re-index is already running; it indexes the same articles folder, so wait for it "
                             "to finish (kb status shows the served commit) and ask again only if files changed since")
    try:
        if not engine.store.read_only:
            return run_index(engine, settings.articles_dir, full=body.full).as_dict()
        # The service reads Qdrant with the read-only key: write with the read-write key if it was given one.
        if settings.qdrant_api_key is None:
            raise StoreReadOnly("this service reads Qdrant with the read-only key (KB_QDRANT_READ_API_KEY) and has "
                                "no read-write key: run `kb index` against the server (with KB_QDRANT_URL and "
                                "KB_QDRANT_API_KEY set), or give the service KB_QDRANT_API_KEY too")
        writer = open_store(settings)
        try:
            return run_index(dataclasses.replace(engine, store=writer), settings.articles_dir,
                             full=body.full).as_dict()
        finally:
            writer.close()
    finally:
        _index_lock.release()
