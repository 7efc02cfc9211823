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
import logging
import threading
import uuid
from typing import Any

from api.db import Database
from api.learned.privacy import mask_personal
from api.learned.service import Learning
from api.metrics import Metrics
from api.schemas import FeedbackAction, FeedbackIn, FeedbackOut, IndexIn, SuggestIn, SuggestOut
from indexer.run import run_index
from kb.article import Article
from kb.config import Settings
from kb.engine import Engine
from kb.errors import InvalidInput, NotFound, ReindexRunning, StoreReadOnly
from kb.normalize import Message
from kb.store import open_store
from kb.suggest import SuggestQuery

log = logging.getLogger("kb.service")

#: One re-index at a time in this process (the embedded local store allows one process; see `reindex`).
_index_lock = threading.Lock()


def suggest(body: SuggestIn, *, settings: Settings, engine: Engine, db: Database, metrics: Metrics,
            key_id: str, again: str | None = None) -> SuggestOut:
    """Ranked, sourced drafts for `body`, recorded under a new request id (which feedback refers to) and counted
    in `metrics`. A message over KB_MAX_MESSAGE_CHARS is refused (InvalidInput) before the index is asked.

    `again`: the request this message was answered under before (an inbox's note, shown again in its sidebar).
    When the same articles come out, the answer carries that id and nothing is recorded or counted twice, so
    feedback on it lands on the one request per message; otherwise it is a new request like any other."""
    message = Message.bounded(body.message, settings.max_message_chars)
    engine.ready()
    result = engine.suggester.suggest(SuggestQuery(
        message=message, channel=body.channel, language=body.language, customer_name=body.customer_name,
        agent_signature=body.agent_signature, limit=body.limit))
    if again is not None and db.request_articles(again) == [s.article_id for s in result.suggestions]:
        return SuggestOut.of(result, again)
    request_id = uuid.uuid4().hex
    tier = str(result.suggestions[0].confidence) if result.suggestions else None  # the insights count tiers
    # Stored masked, the customer's name too: what agents confirm of it may become a learned phrasing.
    db.record_request(request_id, key_id, mask_personal(body.message, [body.customer_name]), str(body.channel),
                      [s.article_id for s in result.suggestions], language=str(result.language), tier=tier,
                      kind=str(result.kind.kind) if result.kind else None)
    metrics.observe_suggestion(result)
    return SuggestOut.of(result, request_id)


def feedback(body: FeedbackIn, *, db: Database, key_id: str, source: str, edit_distance: int | None = None,
             learning: Learning | None = None, engine: Engine | None = None) -> FeedbackOut:
    """Store what the agent did with a suggestion (for an article that request offered; `chosen`: any article
    `engine` serves, the one the agent searched for and picked), replacing what they chose before for the same
    suggestion: the last choice wins, one row each. Returns once it is on disk. `source` says where it came from
    (`page`, `api`, `chatwoot`; api.db.FEEDBACK_SOURCES). Then `learning` counts it (api/learned/): a failure
    there is logged, the feedback stays stored."""
    _check_choice(db, body.request_id, body.article_id, body.action, engine)
    feedback_id = db.record_feedback(body.request_id, body.article_id, str(body.action), body.final_text, key_id,
                                     source=source, edit_distance=edit_distance)
    if learning is not None:
        learn(learning, body.request_id, body.article_id)
    return FeedbackOut(feedback_id=feedback_id, request_id=body.request_id, article_id=body.article_id,
                       action=body.action)


def withdraw_feedback(request_id: str, article_id: str | None, *, db: Database,
                      action: FeedbackAction | None = None, engine: Engine | None = None,
                      learning: Learning | None = None) -> bool:
    """Take back the agent's choice for one suggestion (they clicked the active choice again; `action`, that
    choice, is needed only to take back a `chosen` article the request did not offer); False when there was none
    to take back. `learning` then takes back what it counted for it."""
    _check_choice(db, request_id, article_id, action, engine)
    withdrawn = db.withdraw_feedback(request_id, article_id)
    if withdrawn and learning is not None:
        learn(learning, request_id, article_id)
    return withdrawn


def _check_choice(db: Database, request_id: str, article_id: str | None, action: FeedbackAction | None,
                  engine: Engine | None) -> None:
    """The one check of what feedback may name: a recorded request, and an article it offered, or for `chosen`
    any article `engine` serves (the agent searched for it because the suggestions missed)."""
    offered = db.request_articles(request_id)
    if offered is None:
        raise NotFound(f"request_id: no suggestion request '{request_id}'", field="request_id")
    if action is FeedbackAction.CHOSEN:
        _check_served(article_id or "", engine)
    elif article_id is not None and article_id not in offered:
        raise InvalidInput(f"article_id: '{article_id}' was not suggested for request '{request_id}'; "
                           f"suggested: {', '.join(offered) or 'none'}", field="article_id")


def _check_served(article_id: str, engine: Engine | None) -> None:
    if not article_id:
        raise InvalidInput("article_id: required with action chosen (the article the agent picked)",
                           field="article_id")
    if engine is None:
        raise InvalidInput("action: chosen needs the served articles to check the article against", field="action")
    found = engine.served.get_articles([article_id]).get(article_id)
    if found is None or not found.is_served:
        raise InvalidInput(f"article_id: no served article '{article_id}' to choose", field="article_id")


#: Longest search an agent types to find an article (the agent page and the Chatwoot sidebar both bound it).
MAX_SEARCH = 200


def search_articles(q: str, engine: Engine, *, limit: int = 8) -> list[Article]:
    """Served articles for an agent's search when the suggestions missed: those whose title, id or a claim holds
    `q` first, then the rest by meaning (the retriever, without thresholds or learned evidence)."""
    needle = q.strip().lower()
    if not needle:
        return []
    served = {a.id: a for a in engine.served.all_articles() if a.is_served}
    literal = [a for a in sorted(served.values(), key=lambda a: a.id) if needle in a.meta.title.lower()
               or needle in a.id or any(needle in c.lower() for c in a.meta.claims)]
    ranked = [m.article_id for m in engine.retriever.search(Message.bounded(q, 500), None, limit=limit * 2)]
    ids = list(dict.fromkeys([a.id for a in literal] + [i for i in ranked if i in served]))
    return [served[i] for i in ids[:limit]]


def learn(learning: Learning, request_id: str, article_id: str | None) -> None:
    """Let learned phrasings count the choice that now stands for a suggestion (just stored or withdrawn); never
    fails the feedback it comes from."""
    try:
        learning.follow(request_id, article_id)
    except Exception:  # the database away, a bug: the agent's feedback is stored; this one is not learned from
        log.exception("learned phrasings: could not count feedback on request %s", request_id)


def reindex(body: IndexIn, *, engine: Engine, settings: Settings, learning: Learning | None = None) -> dict[str, Any]:
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
            report = run_index(engine, settings.articles_dir, full=body.full).as_dict()
            _follow_articles(learning)
            return report
        # The service reads Qdrant with the read-only key: write with the read-write key if it was given one.
        if settings.qdrant_api_key is None:
            raise StoreReadOnly("this service reads Qdrant with the read-only key (KB_QDRANT_READ_API_KEY) and has "
                                "no read-write key: run `kb index` against the server (with KB_QDRANT_URL and "
                                "KB_QDRANT_API_KEY set), or give the service KB_QDRANT_API_KEY too")
        writer = open_store(settings)
        try:
            report = run_index(dataclasses.replace(engine, store=writer), settings.articles_dir,
                               full=body.full).as_dict()
        finally:
            writer.close()
        # The reader caches the alias; the writer just swapped it and dropped the build it pointed to.
        engine.store.resolve_alias(settings.collection, fresh=True)
        _follow_articles(learning)
        return report
    finally:
        _index_lock.release()


def _follow_articles(learning: Learning | None) -> None:
    """After a re-index the learned phrasings follow the served articles (kept; dropped with a removed article;
    flagged for review when theirs changed)."""
    if learning is not None:
        try:
            learning.refresh(articles_changed=True)
        except Exception:
            log.exception("learned phrasings: could not follow the re-indexed articles; the next refresh will")
