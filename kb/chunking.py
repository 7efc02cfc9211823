"""Article -> chunks: the units that are embedded and searched.

Each claim is its own chunk, because an incoming message usually states one claim and a short claim vector
matches it far more sharply than a long answer does. The title, the approved answer and the background are
chunks too, and a long answer also as windows of a few sentences; each keeps the article title and its heading
path. Chunk ids are UUIDs derived from article id, heading path and text, so indexing the same content twice gives
the same point set.

    >>> from pathlib import Path
    >>> from kb.parsing import parse_article
    >>> article = parse_article(Path("articles/nl/suiker-voedt-kanker.md")).article
    >>> [str(c.kind) for c in chunk_article(article)][:3]
    ['title', 'claim', 'claim']
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kb.article import Article, Language
from kb.embedding import text_hash
from kb.models import TextKind

#: Bump when chunking changes: the indexer then rebuilds, because old chunk ids no longer match
#: (chunks-2: titles and claims are embedded as queries; chunks-3: long answers also as windows).
CHUNKER_VERSION = "chunks-3"
#: An answer longer than this (characters) is also indexed as windows of whole sentences of about this length.
#: One vector of a long answer is the mean of all it says, so a question about one detail of a long FAQ answer
#: matches it weakly; a window holds that detail with less else. Chosen on dev (issue 24): policyqa-nl dev
#: MRR@10 0.952 -> 0.960 over its 500 answers (1,500 characters on average); 600 and shorter cost the second
#: sample KB's dev answers, whose articles are short. No answer of the sample KBs or CheckThat is this long.
ANSWER_WINDOW = 700
#: At most this many windows per answer (about 17,000 characters; policyqa-nl's answers need at most 5):
#: an answer of the 1 MiB an article may be would otherwise be 1,500 points of one article. The whole answer stays
#: a chunk, so nothing beyond them is unsearchable, only not as sharp.
MAX_WINDOWS = 24
_NAMESPACE = uuid.UUID("5b1e4a1c-7f0a-4d55-9c3e-0b7a3f1d2c10")


class ChunkKind(StrEnum):
    TITLE = "title"
    CLAIM = "claim"
    ANSWER = "answer"
    BACKGROUND = "background"

    @property
    def embed_as(self) -> TextKind:
        """How an asymmetric model (e5) embeds this kind of chunk. A title or claim is a message in people's own
        words, so it is embedded as a query and compared query to query; the answer and background are passages.
        On the dev messages this took dense hit@1 from 0.68 to 0.73 (blind) and 0.85 to 0.92 (core)."""
        return "query" if self in (ChunkKind.TITLE, ChunkKind.CLAIM) else "passage"


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of an article."""

    id: str
    article_id: str
    kind: ChunkKind
    heading_path: tuple[str, ...]
    text: str
    language: str = ""  # the text's language when it is not the article's (a claim in the other language)

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)

    @property
    def is_window(self) -> bool:
        """A window of a long answer (`answer_windows`), beside the answer chunk itself."""
        return self.kind == ChunkKind.ANSWER and self.heading_path[-1].startswith(WINDOW_PREFIX)

    def words_language(self, article: Article) -> Language:
        """The language its words are in: its own (an editor's claim in the other language) or its article's."""
        return Language(self.language) if self.language else article.meta.language

    def payload(self, article: Article) -> dict[str, Any]:
        """What the store keeps with this chunk: its own fields and its article's (`article_fields`)."""
        return {"article_id": article.id, "kind": str(self.kind), "section": " > ".join(self.heading_path),
                "text": self.text, **article_fields(article), "text_hash": self.text_hash,
                "text_language": str(self.words_language(article))}


def text_language(payload: Mapping[str, Any]) -> str:
    """The language a chunk's words are in: its own when an editor wrote it in the other language
    (`claims_other_language`), else its article's (also for payloads written before `text_language` existed).

        >>> text_language({"language": "en", "text_language": "nl"}), text_language({"language": "en"})
        ('nl', 'en')
    """
    return str(payload.get("text_language") or payload.get("language", ""))


def article_fields(article: Article) -> dict[str, Any]:
    """The article-level fields every chunk payload repeats: the one projection of an article into the store. An
    incremental index rewrites exactly these on the chunks of an edited article whose text did not change, so an
    article-level field kept anywhere else would go stale when only the front matter changes."""
    meta = article.meta
    return {"title": meta.title, "type": str(meta.type), "language": str(meta.language), "status": str(meta.status),
            "verdict": str(meta.verdict) if meta.verdict else None, "translations": list(meta.translations),
            "sources": [{"title": s.title, "url": s.href} for s in meta.sources],
            "content_hash": article.content_hash}


def chunk_id(article_id: str, heading_path: tuple[str, ...], text: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((article_id, *heading_path, text))))


def article_record_id(article_id: str) -> str:
    """Id of the vector-less point that carries the whole article (drafts are rendered from it)."""
    return str(uuid.uuid5(_NAMESPACE, f"article\x1f{article_id}"))


def chunk_article(article: Article) -> list[Chunk]:
    title = article.meta.title
    pieces: list[tuple[ChunkKind, tuple[str, ...], str]] = [(ChunkKind.TITLE, (title,), title)]
    for claim in dict.fromkeys(article.meta.claims):  # de-duplicate, keep order
        pieces.append((ChunkKind.CLAIM, (title, "claims"), claim))
    pieces.append((ChunkKind.ANSWER, (title, "answer"), f"{title}\n\n{article.sections.answer}"))
    for i, window in enumerate(answer_windows(article.sections.answer)):
        pieces.append((ChunkKind.ANSWER, (title, "answer", f"{WINDOW_PREFIX}{i + 1}"), f"{title}\n\n{window}"))
    pieces.append((ChunkKind.BACKGROUND, (title, "background"), f"{title}\n\n{article.sections.background}"))
    chunks = [Chunk(chunk_id(article.id, path, text), article.id, kind, path, text) for kind, path, text in pieces]
    other = str(article.meta.language.other)
    for claim in dict.fromkeys(article.meta.claims_other_language):
        path = (title, "claims", other)
        chunks.append(Chunk(chunk_id(article.id, path, claim), article.id, ChunkKind.CLAIM, path, claim, other))
    return chunks


#: The last heading of a window of a long answer ("part 1", "part 2", ...).
WINDOW_PREFIX = "part "


def answer_windows(answer: str, size: int = ANSWER_WINDOW) -> list[str]:
    """A long answer as windows of whole sentences of at most about `size` characters (a sentence longer than
    that is a window of its own); an answer of `size` characters or fewer gives none, its answer chunk is that
    window already.

        >>> answer_windows("Kort antwoord.")
        []
        >>> answer_windows("Een. Twee drie. Vier vijf zes.", size=16)
        ['Een. Twee drie.', 'Vier vijf zes.']
    """
    if len(answer) <= size:
        return []
    windows, current = [], ""
    for sentence in (s for s in re.split(r"(?<=[.!?])\s+|\n+", answer) if s.strip()):
        if current and len(current) + 1 + len(sentence) > size:
            windows.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        windows.append(current)
    return windows[:MAX_WINDOWS] if len(windows) > 1 else []
