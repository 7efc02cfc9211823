"""Any inbox, the same way: a proven delivery is recorded once and answered at once; workers in the background turn
a customer's message into a private note of drafts and an agent's reply into feedback.

- **One seam into the suggestion path**: a note's drafts come from `api.service.suggest`, the function behind
  `POST /v1/suggest` and the agent page, so the request is recorded, masked, counted and kept like any other.
- **Fast answers**: the webhook only checks and records (api/inbox/store.py); suggesting and posting happen here,
  in `KB_CHATWOOT_WORKERS` threads per process that never take the request slots of api/limits.py. Deliveries
  that arrive together are recorded in one transaction (`Recorder`, a group commit): a burst of 200 costs a few
  commits, not 200 waits for the disk.
- **Once**: deliveries and messages are keyed in the shared database, a row is worked by the one worker that
  claimed it, and a note whose posting may have arrived (a timeout) is looked for before it is posted again.
- **Bounded retries**: a note the inbox does not take is tried again after 1, 2, 4 … 60 s, for at most
  `KB_CHATWOOT_RETRY_SECONDS` from its delivery, then logged and counted as failed; everyone else's
  suggestions go on meanwhile.
- **No loops**: only a customer's public message gets a note; notes (ours too) and replies never do.
- **Learning from what was sent**: an agent's reply that uses or edits a draft is that agent's feedback for its
  article, and `learning` (api/learned/) counts it like a click on the agent page, under the inbox agent's own id.

    connector = Connector(db=db, engine=engine, settings=settings, metrics=metrics, connections=file,
                          inbox_for=chatwoot_inbox, learning=learning)
    connector.start()
    connector.accept(connection, delivery)   # from the webhook route: 'accepted', 'duplicate', ...
    connector.stop()
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from api import service
from api.db import Database
from api.inbox import store
from api.inbox.compare import compare
from api.inbox.connections import Connection, ConnectionFile
from api.inbox.events import Delivery, Draft, Inbox, KindAdvice, MessageEvent, NoteFailed
from api.learned.service import Learning
from api.metrics import Metrics
from api.schemas import SuggestIn
from kb.channels import Channel
from kb.config import Settings
from kb.engine import Engine
from kb.errors import InvalidInput, KbError

log = logging.getLogger("kb.inbox")

LEASE = 120.0  # seconds a claimed row is a worker's; a worker that died gives it up when this runs out
POLL = 2.0  # seconds between looks at the database for due rows (retries, rows of a process that died)
MAX_BACKOFF = 60.0
REPLY_WAIT = 5.0  # seconds an agent's reply waits for its customer's message to get its drafts
PURGE_EVERY = 3600.0


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`.

        >>> [backoff(n) for n in (1, 2, 3, 7, 8)]
        [1.0, 2.0, 4.0, 60.0, 60.0]
    """
    return min(MAX_BACKOFF, 2.0 ** (attempt - 1))


def _age(row: dict[str, Any]) -> float:
    return (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(row["created"])).total_seconds()


class Recorder:
    """Group commit: a thread that records the deliveries waiting for it in one transaction, at most `batch` at a
    time, and resolves each one's future with its outcome (or the database's error).

    Several services on one PostgreSQL may record the same delivery at once (a load balancer retrying): each batch
    takes its rows in one order (connection, delivery id), and a batch that fails all the same (a deadlock, a bad
    row) is recorded again one delivery per transaction, so one delivery's trouble is never its neighbours'."""

    def __init__(self, db: Database, *, batch: int = 200) -> None:
        self.db, self.batch = db, batch
        self._queue: queue.Queue[tuple[str, Delivery, Future[store.Outcome]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, connection: str, delivery: Delivery) -> Future[store.Outcome]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="kb-inbox-recorder", daemon=True)
                self._thread.start()
        done: Future[store.Outcome] = Future()
        self._queue.put((connection, delivery, done))
        return done

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            while len(waiting) < self.batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                waiting.append(more)
            waiting.sort(key=lambda w: (w[0], w[1].delivery_id))
            try:
                outcomes = store.accept_many(self.db, [(c, d) for c, d, _ in waiting])
            except Exception:
                self._one_by_one(waiting)
                continue
            for (_, _, done), outcome in zip(waiting, outcomes, strict=True):
                done.set_result(outcome)

    def _one_by_one(self, waiting: list[tuple[str, Delivery, Future[store.Outcome]]]) -> None:
        for connection, delivery, done in waiting:
            try:
                done.set_result(store.accept(self.db, connection, delivery))
            except Exception as e:  # the database away: this delivery is answered with the error (503)
                done.set_exception(e)


def marker(row: dict[str, Any]) -> str:
    """The reference a note carries, so that a note whose posting timed out is found instead of posted twice."""
    return f"kb:{row['message_id']}"


class Connector:
    """Accepts deliveries for every connection and works them off in background threads."""

    def __init__(self, *, db: Database, engine: Engine, settings: Settings, metrics: Metrics,
                 connections: ConnectionFile, inbox_for: Callable[[Connection], Inbox],
                 workers: int | None = None, poll: float = POLL, lease: float = LEASE,
                 learning: Learning | None = None) -> None:
        self.db, self.engine, self.settings, self.metrics = db, engine, settings, metrics
        self.learning = learning  # an agent's reply that confirms a draft teaches it, as a click on the page does
        self.connections, self._inbox_for = connections, inbox_for
        self.workers = workers or settings.chatwoot_workers
        self.poll, self.lease = poll, lease
        self._queue: queue.Queue[store.Key] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inboxes: dict[str, tuple[Connection, Inbox]] = {}
        self._lock = threading.Lock()
        self._started = False
        self.recorder = Recorder(db)
        self._purged = time.monotonic()

    # --- the webhook side ----------------------------------------------------------------------------------------

    def accept(self, connection: Connection, delivery: Delivery) -> Future[store.Outcome]:
        """Record a proven delivery (once, with the others arriving now) and wake a worker for it; the future is
        done once it is committed."""
        recorded = self.recorder.submit(connection.key, delivery)
        if isinstance(delivery.event, MessageEvent):
            event = delivery.event

            def wake(done: Future[store.Outcome]) -> None:
                if not done.exception() and done.result() == "accepted":
                    self._run()
                    self._queue.put((connection.key, event.message_id))

            recorded.add_done_callback(wake)
        return recorded

    def refused(self, connection: Connection, reason: str) -> None:
        store.refused(self.db, connection.key, reason)

    def inbox(self, connection: Connection) -> Inbox:
        """The inbox client for a connection, made once (and again when the connection's settings change)."""
        with self._lock:
            known = self._inboxes.get(connection.key)
            if known is not None and known[0] == connection:
                return known[1]
            if known is not None:
                known[1].close()
            made = self._inbox_for(connection)
            self._inboxes[connection.key] = (connection, made)
            return made

    # --- the workers ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers when an inbox is connected (else at the first delivery): a service without one runs
        no thread and no poll."""
        self._started = True
        if self.connections.all():
            self._run()

    def _run(self) -> None:
        with self._lock:
            if self._threads or not self._started or self._stop.is_set():
                return
            for n in range(self.workers):
                thread = threading.Thread(target=self._loop, name=f"kb-inbox-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.recorder.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            for _, inbox in self._inboxes.values():
                inbox.close()
            self._inboxes.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                key = self._queue.get(timeout=self.poll)
            except queue.Empty:
                self._look_for_work()
                continue
            try:
                self.work(key)
            except Exception:  # a database away, a bug: logged; the row's lease runs out and it is taken again
                log.exception("inbox: message %s of %s failed", key[1], key[0])

    def _look_for_work(self) -> None:
        try:
            for key in store.due(self.db):
                self._queue.put(key)
            if time.monotonic() - self._purged > PURGE_EVERY:
                self._purged = time.monotonic()
                store.purge_deliveries(self.db)
        except Exception:
            log.exception("inbox: looking for due messages failed")

    def work(self, key: store.Key) -> str | None:
        """Claim one row and do what it needs; the status it was left in (None: another worker has it)."""
        row = store.claim(self.db, key, lease=self.lease)
        if row is None:
            return None
        connection = next((c for c in self.connections.all() if c.key == key[0]), None)
        if connection is None:
            store.finish(self.db, key, "skipped", error="the connection is no longer in the connections file")
            return "skipped"
        if row["kind"] == "incoming":
            return self._incoming(connection, row)
        return self._outgoing(connection, row)

    # --- a customer's message: a note ----------------------------------------------------------------------------

    def _event(self, row: dict[str, Any]) -> MessageEvent:
        details = json.loads(row["details"] or "{}")
        return MessageEvent(row["message_id"], row["conversation_id"], row["inbox_id"], row["kind"],
                            row["content"] or "", row["sent_at"], channel=Channel(details.get("channel", "facebook")),
                            customer_name=details.get("customer_name"), agent_name=details.get("agent_name"),
                            agent_id=details.get("agent_id"))

    def _suggest(self, connection: Connection, row: dict[str, Any],
                 event: MessageEvent) -> tuple[list[Draft], KindAdvice | None]:
        """The drafts for a customer's message and its kind, through the service (recorded like any request), kept
        in the row."""
        text = event.text[:self.settings.max_message_chars]  # a long e-mail: its start, not a refusal
        out = service.suggest(SuggestIn(message=text, channel=event.channel, language=None, limit=None,
                                        customer_name=event.customer_name, agent_signature=event.agent_name),
                              settings=self.settings, engine=self.engine, db=self.db, metrics=self.metrics,
                              key_id=connection.key)
        tiers = self.settings.chatwoot_tier_set
        drafts = [Draft(s.article_id, s.title, str(s.confidence), s.score, s.draft,
                        tuple((src.title, src.url) for src in s.sources), tuple(s.warnings),
                        str(s.tier_capped_by) if s.tier_capped_by else None)
                  for s in out.suggestions if str(s.confidence) in tiers][:self.settings.chatwoot_drafts]
        kind = KindAdvice(out.kind, out.kind_probability, out.kind_guideline,
                          out.kind_reply.draft if out.kind_reply else None,
                          out.moderation.action if out.moderation else None) if out.kind else None
        store.save_drafts(self.db, (row["connection"], row["message_id"]), out.request_id, drafts, kind)
        row["request_id"] = out.request_id
        return drafts, kind

    def _incoming(self, connection: Connection, row: dict[str, Any]) -> str:
        key = (row["connection"], row["message_id"])
        event = self._event(row)
        if not event.text:
            store.finish(self.db, key, "skipped", error="the message text was removed (KB_RETENTION_DAYS)")
            return "skipped"
        try:
            drafts, kind = store.drafts_of(row), store.kind_of(row)
            if drafts is None:
                drafts, kind = self._suggest(connection, row, event)
        except InvalidInput as e:  # asking again will not help
            store.finish(self.db, key, "skipped", error=e.message)
            return "skipped"
        except KbError as e:  # the index or the database away: try again, within the same bounds as a note
            return self._retry_or_fail(row, f"suggesting failed: {e.message}", retry=True)
        inbox = self.inbox(connection)
        noted = bool(drafts) or (kind is not None and kind.worth_a_note)
        if noted:
            text = inbox.note(drafts, event, marker=marker(row), kind=kind)
        elif self.settings.chatwoot_no_match_note:
            text = inbox.no_match_note(event, marker=marker(row), kind=kind)
        else:
            store.finish(self.db, key, "no_match", counters={"no_match": 1})
            self._match_replies(connection, row)
            return "no_match"
        try:
            note_id = inbox.find_note(event.conversation_id, event.message_id, marker(row)) \
                if row["attempts"] > 1 else None  # an earlier attempt may have posted it before it failed
            note_id = note_id or inbox.post_note(event.conversation_id, text)
        except NoteFailed as e:
            return self._retry_or_fail(row, str(e), retry=e.retry)
        status = "posted" if noted else "no_match"
        store.finish(self.db, key, status, note_id=note_id,
                     counters={"notes_posted": 1, **({"no_match": 1} if not noted else {})})
        self._match_replies(connection, row)
        return status

    def _retry_or_fail(self, row: dict[str, Any], reason: str, *, retry: bool) -> str:
        key = (row["connection"], row["message_id"])
        wait = backoff(row["attempts"])
        if retry and _age(row) + wait <= self.settings.chatwoot_retry_seconds:
            # The first failure is a warning (the inbox is in trouble); the retries after it are not repeated there.
            log.log(logging.WARNING if row["attempts"] == 1 else logging.INFO,
                    "inbox: note for message %s of %s not posted (attempt %d), trying again in %.0f s, for at most "
                    "%.0f s: %s", key[1], key[0], row["attempts"], wait, self.settings.chatwoot_retry_seconds, reason)
            store.later(self.db, key, wait, reason)
            return "pending"
        log.warning("inbox: note for message %s of %s failed for good after %d attempts: %s", key[1], key[0],
                    row["attempts"], reason)
        store.finish(self.db, key, "failed", error=reason, counters={"notes_failed": 1})
        return "failed"

    # --- an agent's reply: feedback ------------------------------------------------------------------------------

    def _outgoing(self, connection: Connection, row: dict[str, Any]) -> str:
        """Compare the reply with the drafts of the customer's message before it (in the conversation's own order,
        whatever order the deliveries came in); wait briefly while that message is still being worked."""
        key = (row["connection"], row["message_id"])
        rows = store.conversation_rows(self.db, row["connection"], row["conversation_id"])
        before = [r for r in rows if r["kind"] == "incoming" and r["sent_at"] <= row["sent_at"]]
        if not before:
            store.finish(self.db, key, "observed")
            return "observed"
        customer = before[-1]
        if customer["status"] in ("pending", "working") and _age(row) < self.settings.chatwoot_retry_seconds:
            store.later(self.db, key, REPLY_WAIT, "waiting for the customer's message to get its drafts",
                        failure=False)
            return "pending"
        answered = any(r["kind"] == "outgoing" and r["reply_to"] == customer["message_id"] for r in rows)
        if answered:  # only the agent's first reply after the message counts
            store.finish(self.db, key, "observed")
            return "observed"
        return self._feedback(connection, customer, row)

    def _match_replies(self, connection: Connection, customer: dict[str, Any]) -> None:
        """A reply that arrived before its customer's message was worked is compared now."""
        rows = store.conversation_rows(self.db, customer["connection"], customer["conversation_id"])
        later_incoming = [r["sent_at"] for r in rows if r["kind"] == "incoming" and r["sent_at"] > customer["sent_at"]]
        horizon = min(later_incoming, default=None)
        for reply in rows:
            if reply["kind"] == "outgoing" and reply["status"] == "observed" and reply["reply_to"] is None and \
                    reply["sent_at"] >= customer["sent_at"] and (horizon is None or reply["sent_at"] < horizon):
                if store.claim_observed(self.db, (reply["connection"], reply["message_id"]), lease=self.lease):
                    fresh = store.message_row(self.db, customer["connection"], customer["message_id"]) or customer
                    self._feedback(connection, fresh, reply)
                return

    def _feedback(self, connection: Connection, customer: dict[str, Any], reply: dict[str, Any]) -> str:
        key = (reply["connection"], reply["message_id"])
        drafts, kind = store.drafts_of(customer) or [], store.kind_of(customer)
        if kind is not None and kind.reply:  # the kind's own reply was offered too (about the request as a whole)
            drafts = [*drafts, Draft("", kind.kind, "kind", kind.probability or 0.0, kind.reply)]
        if not drafts or customer["request_id"] is None or not reply["content"]:
            store.finish(self.db, key, "observed", reply_to=customer["message_id"])
            return "observed"
        details = json.loads(customer["details"] or "{}")
        sender = json.loads(reply["details"] or "{}")
        result = compare(reply["content"], drafts, customer_name=details.get("customer_name"),
                         agent_name=details.get("agent_name"), sender_name=sender.get("agent_name"))
        agent = sender.get("agent_id")
        who = f"{connection.kind}:{connection.account_id}:{agent}" if agent else connection.key  # the agent who sent it
        # One row per (request, article), the last choice winning: a click in the sidebar later replaces this.
        self.db.record_feedback(customer["request_id"], result.article_id or None, result.action, reply["content"], who,
                                source=connection.kind, edit_distance=result.edit_distance)
        if self.learning is not None and result.article_id:  # the kind's own reply ("") names no article
            service.learn(self.learning, customer["request_id"], result.article_id)
        store.finish(self.db, key, "matched", reply_to=customer["message_id"], counters={"feedback": 1})
        return "matched"
