"""The service's learned phrasings: one in-memory book per process (kb.learning), kept in step with the database
and the served articles, and the evidence it puts in force in the engine (kb.learned).

- `follow`: the agent's choice that stands for a suggestion (its one feedback row: used, edited, chosen
  confirming; rejected against; none once withdrawn), counted in place of what was counted for it before; the
  request's masked message is what is learned. Runs in the one learning transaction (api.learned.store).
- `decide`: an editor approves, rejects or removes a phrasing.
- `refresh`: what other processes changed, and after a re-index the served articles: a phrasing of an article
  no longer served is dropped, one of a changed article is flagged for review, an exported one found in its
  article's front matter is marked merged (the Markdown is then the source of truth and its copy there is the
  evidence). The housekeeping thread calls it every minute, the re-index after each run.

The evidence in force is the book's (active and approved phrasings not held back) plus every served article's
`learned_phrasings` (front matter; approved by the editors who merged them).

    >>> learning = Learning(db, engine, settings); learning.refresh(articles_changed=True)  # doctest: +SKIP
    >>> learning.follow(request_id="…", article_id="suiker-voedt-kanker")  # after service.feedback stored it
    ... # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from sqlalchemy import bindparam, select

from api.db import Database
from api.learned.store import Loaded, PhrasingStore, now
from api.sql.schema import requests
from kb.article import Article
from kb.config import Settings
from kb.engine import Engine
from kb.errors import KbError
from kb.front_matter import flat
from kb.learned import EvidencePhrasing
from kb.learning import (
    GONE,
    Book,
    Observation,
    Phrasing,
    Rules,
    Status,
    decide,
    observe,
    phrasing_id,
    reconcile,
    withdraw,
)
from kb.normalize import Message

log = logging.getLogger("kb.learned")

_REQUEST = select(requests.c.message, requests.c.language).where(requests.c.request_id == bindparam("request_id"))


def _in_force(p: Phrasing) -> tuple[object, ...]:
    """What of a phrasing the evidence in force depends on."""
    return p.is_evidence, p.text, p.net_agents, p.status


class Learning:
    """Learned phrasings for one running service (see the module docstring)."""

    def __init__(self, db: Database, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.rules = Rules(min_agents=settings.learned_min_agents, short_words=settings.short_message_words)
        self.book = Book(engine.learned.measure)
        self.store = PhrasingStore(db, engine.embedder.model_id, engine.embedder.dim)
        self._lock = threading.RLock()
        self._watermark = ""
        self._served: dict[str, Article] | None = None
        self._markdown: list[EvidencePhrasing] = []

    # --- reading what changed ----------------------------------------------------------------------------------

    def _apply(self, loaded: Loaded) -> bool:
        """Put what was read into the book; whether anything the evidence reads changed."""
        phrasings = loaded.phrasings
        before = {p.id: _in_force(self.book.phrasings[p.id]) for p in phrasings if p.id in self.book.phrasings}
        if loaded.other_model:  # vectors of another model (KB_MODEL changed): embed their texts again
            again = {p.id: p for p in phrasings if p.id in set(loaded.other_model)}
            vectors = self.engine.embedder.embed([Message.of(p.text).text for p in again.values()], kind="query")
            for p, v in zip(again.values(), vectors, strict=True):
                p.vector = np.asarray(v, np.float32)
        self.book.put(phrasings)
        self._watermark = max(self._watermark, loaded.watermark)
        return any(before.get(p.id) != _in_force(p) for p in phrasings)

    def refresh(self, *, articles_changed: bool = False) -> None:
        """Read what other processes changed; with `articles_changed` (start-up, after a re-index) follow the
        served articles too. The evidence in force is rebuilt when anything it reads changed."""
        with self._lock:
            changed_elsewhere = self._apply(self.store.since(self._watermark))
            if articles_changed or self._served is None:
                self._follow_articles()
            elif changed_elsewhere:  # rebuilding the evidence costs milliseconds per thousand phrasings
                self._publish()

    def _follow_articles(self) -> None:
        try:
            served = {a.id: a for a in self.engine.served.all_articles()}
        except KbError as e:  # no index yet: nothing is suggested, and nothing is dropped for it
            log.warning("learned phrasings: the served articles cannot be read (%s)", e.message)
            served = {}
        if served:
            self._served = served
            self._markdown = self._markdown_evidence(served)
            changed = reconcile(self.book, self.rules, {i: a.content_hash for i, a in served.items()})
            changed += self._merged(served)
            if changed:
                with self.store.learning() as conn:
                    self.store.save(conn, changed)
        self._publish()

    def _merged(self, served: dict[str, Article]) -> list[Phrasing]:
        """Exported phrasings now in their article's front matter: marked merged."""
        out = []
        for p in self.book.phrasings.values():
            article = served.get(p.article_id)
            if p.exported and p.status is Status.APPROVED and article is not None and \
                    flat(p.text) in {flat(t) for t in article.meta.learned_phrasings}:
                p.status = Status.MERGED
                out.append(p)
        return out

    def _markdown_evidence(self, served: dict[str, Article]) -> list[EvidencePhrasing]:
        """Every served article's `learned_phrasings`, embedded through the embedding cache."""
        found = [(a, text) for a in served.values() for text in a.meta.learned_phrasings]
        if not found:
            return []
        embedder = self.engine.cached_embedder()
        try:
            vectors = embedder.embed([Message.of(text).text for _, text in found], kind="query")
        finally:
            embedder.cache.close()
        return [EvidencePhrasing(f"md:{phrasing_id(a.id, text)}", a.id, str(a.meta.language), text, a.meta.title,
                                 np.asarray(v, np.float32), agents=0, approved=True)
                for (a, text), v in zip(found, vectors, strict=True)]

    def _publish(self) -> None:
        served = self._served or {}
        titles = {i: (str(a.meta.language), a.meta.title) for i, a in served.items()}
        self.engine.learned.replace([*self.book.evidence(titles), *self._markdown])

    def _hashes(self, changed: list[Phrasing]) -> None:
        """A phrasing that just became evidence remembers its article's version (to flag it when that changes)."""
        served = self._served or {}
        for p in changed:
            if p.is_evidence and p.article_hash is None and p.article_id in served:
                p.article_hash = served[p.article_id].content_hash

    # --- writing -----------------------------------------------------------------------------------------------

    def follow(self, request_id: str, article_id: str | None) -> list[Phrasing]:
        """Count the agent's choice that now stands for one suggestion (its feedback row: used, edited, chosen
        confirm; rejected counts against) in place of the one counted for it before; with no row (withdrawn), or
        nothing to learn from (no_good_answer, a message whose text is gone, a short one), just take the old one
        back. The phrasings that changed."""
        if article_id is None:
            return []
        with self._lock:
            rows = self.store.db.read(_REQUEST, request_id=request_id)
            message = rows[0]["message"] if rows else None
            read = Message.of(message) if message else None
            vector = None
            if read is not None and read.words > self.rules.short_words:
                vector = np.asarray(self.engine.embedder.embed([read.text], kind="query"))[0]
            with self.store.learning() as conn:
                stamp = now()  # inside the lock: learning writes are stamped in the order they commit
                self._apply(self.store.since(self._watermark, conn))
                key = (request_id, article_id)
                self.book.standing.pop(key, None)
                before = self.store.standing(conn, request_id, article_id)
                if before is not None:
                    self.book.standing[key] = before
                choice = self.store.feedback(conn, request_id, article_id)
                if choice is None or choice[1] is None or message is None or vector is None:
                    changed = withdraw(self.book, self.rules, request_id, article_id)
                else:
                    changed = observe(self.book, self.rules, Observation(
                        article_id, message, vector, choice[1], choice[0], stamp, rows[0]["language"] or "",
                        request_id=request_id))
                self._hashes(changed)
                self.store.save(conn, changed, stamp=stamp)
                now_standing = self.book.standing.pop(key, None)
                if now_standing != before:
                    self.store.put_standing(conn, request_id, article_id, now_standing)
            if changed:
                self._publish()
            return changed

    def decide(self, phrasing: str, decision: str, editor: str) -> list[Phrasing]:
        """An editor's `approve`, `reject` or `remove` (kb.learning.decide); the phrasings that changed."""
        with self._lock, self.store.learning() as conn:
            self._apply(self.store.since(self._watermark, conn))
            target = self.book.phrasings.get(phrasing)
            article = (self._served or {}).get(target.article_id) if target else None
            changed = decide(self.book, self.rules, phrasing, decision, editor,
                             article_hash=article.content_hash if article else None)
            self._hashes(changed)
            self.store.save(conn, changed)
        self._publish()
        return changed

    # --- reading for people ------------------------------------------------------------------------------------

    def listing(self) -> list[Phrasing]:
        """Every phrasing that still has a text and someone behind it (a standing confirmation, or an editor's
        decision), by article, evidence first, then most agents."""
        with self._lock:
            self._apply(self.store.since(self._watermark))
            alive = [p for p in self.book.phrasings.values() if p.status not in GONE and
                     (p.confirmers or p.status is not Status.CANDIDATE)]
        return sorted(alive, key=lambda p: (p.article_id, not p.is_evidence, -len(p.confirmers), p.id))

    @property
    def in_force(self) -> int:
        return len(self.engine.learned)
