"""What an inbox tells Kennisbank, in Kennisbank's words: the same types for every inbox, so the connector never
reads a Chatwoot (or Zendesk) payload itself.

    >>> MessageEvent("4711", "17", "3", "incoming", "klopt het dat suiker kanker voedt?", "2026-06-20T09:14:03Z",
    ...              channel=Channel.FACEBOOK, customer_name="Ria").is_customer_message
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from kb.channels import Channel
from kb.errors import KbError

Kind = Literal["incoming", "outgoing"]


@dataclass(frozen=True)
class MessageEvent:
    """One message the inbox saw that Kennisbank acts on: a customer's public message (a note with drafts), or an
    agent's public reply (compared with those drafts)."""

    message_id: str
    conversation_id: str  # the id the inbox's API takes for the conversation (Chatwoot: its display id)
    inbox_id: str | None
    kind: Kind
    text: str
    sent_at: str  # ISO time the inbox gives it: orders the messages of a conversation
    channel: Channel = Channel.FACEBOOK
    customer_name: str | None = None
    agent_name: str | None = None  # incoming: the assigned agent (signs the drafts); outgoing: who sent it
    agent_id: str | None = None  # outgoing: the agent's id in the inbox

    @property
    def is_customer_message(self) -> bool:
        return self.kind == "incoming"


@dataclass(frozen=True)
class Ignored:
    """A delivery accepted but not acted on, and why (a private note, an event we do not use, another inbox)."""

    reason: str


@dataclass(frozen=True)
class Delivery:
    """One webhook call as it arrived, once its sender is proven: which delivery, and the event in it."""

    delivery_id: str  # the inbox's delivery id, or a digest of the body when it sends none
    signature: str | None  # a digest of the signature header (a replay repeats it); None when unsigned
    event: MessageEvent | Ignored


@dataclass(frozen=True)
class Draft:
    """A draft offered for a customer's message, as kept to compare the agent's reply with it."""

    article_id: str
    title: str
    confidence: str
    score: float
    text: str
    sources: tuple[tuple[str, str], ...] = ()  # (title, url)
    warnings: tuple[str, ...] = ()
    capped_by: str | None = None  # why the tier is lower than the score would make it (kb.suggest's tier cap)


@dataclass(frozen=True)
class KindAdvice:
    """What the customer's message is (kb.kinds, through the suggestion path) and what that asks of the agent: the
    kind's own reply to offer first (thanks, a complaint's acknowledgement), the guideline, and for abuse and spam
    the moderation instead of a draft. Kept with the drafts, so a retried note says the same."""

    kind: str
    probability: float | None = None
    guideline: str | None = None
    reply: str | None = None  # the kind's reply draft
    moderation: str | None = None  # what to do instead of answering: `hide`

    @property
    def worth_a_note(self) -> bool:
        """A note is worth posting for it even without an article's draft: moderation, or the kind's reply (thanks,
        a story). Off-topic without an article is a no-match, as the insights count it: KB_CHATWOOT_NO_MATCH_NOTE
        decides, as for a question nothing answers."""
        return bool(self.moderation) or (bool(self.reply) and self.kind != "offtopic")


class NoteFailed(KbError):
    """The inbox did not take a note (or a lookup). `retry`: worth asking again later (down, 5xx, 429, a timeout)
    as opposed to a request the inbox will never accept; `maybe_sent`: the note may exist all the same (a
    timeout after sending), so look before posting again. Met only by the note workers, never by a request."""

    code = "note_failed"

    def __init__(self, reason: str, *, retry: bool, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.retry, self.maybe_sent = retry, maybe_sent


class Inbox(Protocol):
    """What the connector needs of one inbox account (api/inbox/chatwoot.py is the first)."""

    def note(self, drafts: list[Draft], event: MessageEvent, *, marker: str, kind: KindAdvice | None = None) -> str:
        """The private note's text for these drafts and the message's kind (at least one draft, or a kind worth a
        note), ending with `marker`."""
        ...

    def no_match_note(self, event: MessageEvent, *, marker: str, kind: KindAdvice | None = None) -> str: ...

    def post_note(self, conversation_id: str, text: str) -> str:
        """Post a private note (agents see it, the customer never does); its id. Raises NoteFailed."""
        ...

    def find_note(self, conversation_id: str, after_message_id: str, marker: str) -> str | None:
        """The id of a private note after that message whose text contains `marker`, if there is one (a note
        whose first posting timed out may exist). Raises NoteFailed."""
        ...

    def context_channel(self, conversation: Mapping[str, Any]) -> Channel:
        """The reply channel of a conversation as the inbox's sidebar context describes it."""
        ...

    def message_text(self, conversation_id: str, message_id: str) -> str | None:
        """A customer's message as the inbox itself has it (None: not a public incoming message of that
        conversation). Raises InboxUnavailable."""
        ...

    def close(self) -> None: ...
