"""What a build's article records hold, read without LlamaIndex: the records themselves, the parse cache they
answer, and the mark an interrupted run leaves.

Every build collection holds one vector-less record per served article (`Record`): the approved article (what
drafts are rendered from), its `doc_hash` (the file's bytes, path and parser code), the ids of its chunks and the
file's parse warnings. indexer/docstore.py turns them into the ingestion pipeline's docstore; this module is apart
so that importing the indexer (the service does, for POST /v1/index) does not import LlamaIndex.

    >>> records = load_records(store, "kb_articles__x")  # doctest: +SKIP
    >>> records["suiker-voedt-kanker"].chunk_ids[:1]  # doctest: +SKIP
    ['5f0c…']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kb.article
import kb.parsing
from kb.article import Article
from kb.chunking import article_record_id
from kb.errors import Problem, Severity
from kb.parsing import ParseResult, parse_bytes
from kb.store import Point, Store

if TYPE_CHECKING:
    from indexer.pipeline import ArticleDocument

#: Collection metadata: True from a run's first write until it ends well.
WRITING_KEY = "writing"
#: The record fields a run reads.
_FIELDS = ("article_id", "doc_hash", "chunk_ids", "article", "warnings")


def parser_fingerprint() -> str:
    """Changes whenever the code that turns a file into an `Article` changes: cached parses are then not reused,
    and every article's hash changes, so the next run re-chunks everything (re-embedding only new text)."""
    digest = hashlib.sha256()
    for module in (kb.parsing, kb.article):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def doc_hash(content_hash: str, path: str, parser: str) -> str:
    """What the docstore compares for an article: its file's bytes, where it lives, and the parser."""
    return hashlib.sha256(f"{content_hash}\x1f{path}\x1f{parser}".encode()).hexdigest()[:32]


def was_interrupted(metadata: Mapping[str, Any]) -> bool:
    """The collection's last incremental run died after its first write (`docstore_token`: the mark's old name)."""
    return metadata.get(WRITING_KEY) is True or metadata.get("docstore_token") == "writing"


@dataclass(frozen=True)
class Record:
    """One article record as the collection holds it."""

    article_id: str
    doc_hash: str
    article: dict[str, Any]
    chunk_ids: list[str] | None  # None: written before records listed their chunks
    warnings: list[list[Any]] | None = None  # [line, message] of the file's parse warnings; None: not recorded

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Record:
        chunk_ids = payload.get("chunk_ids")
        warnings = payload.get("warnings")
        return cls(str(payload["article_id"]), str(payload.get("doc_hash") or ""), dict(payload.get("article") or {}),
                   [str(c) for c in chunk_ids] if isinstance(chunk_ids, list) else None,
                   list(warnings) if isinstance(warnings, list) else None)

    @property
    def complete(self) -> bool:
        """Written by this version: it lists its chunks and its file's parse warnings."""
        return self.chunk_ids is not None and self.warnings is not None

    def point(self) -> Point:
        """The vector-less point that carries this record."""
        return Point(article_record_id(self.article_id), {
            "kind": "article", "article_id": self.article_id, "content_hash": self.article.get("content_hash"),
            "doc_hash": self.doc_hash, "chunk_ids": self.chunk_ids or [], "warnings": self.warnings or [],
            "article": self.article})


def load_records(store: Store, collection: str) -> dict[str, Record]:
    """The article records of `collection` by article id, read in one scroll."""
    return {str(p["article_id"]): Record.of(p)
            for _, p in store.scroll_payloads(collection, _FIELDS, where={"kind": "article"})}


def unlisted_chunks(store: Store, collection: str, records: Mapping[str, Record]) -> list[str]:
    """Ids of the chunks no record lists (left by a run that died between writing chunks and records).

    Reads every point's article id: only after an interrupted run. A legacy record that lists no chunks keeps
    every chunk of its article."""
    listed = {c for r in records.values() for c in (r.chunk_ids or ())}
    unlisted_articles = {a for a, r in records.items() if r.chunk_ids is None}
    return sorted(pid for pid, p in store.scroll_payloads(collection, ["kind", "article_id"])
                  if p.get("kind") != "article" and pid not in listed and p.get("article_id") not in unlisted_articles)


class ParseCache:
    """`parse_bytes`, answered from a build's records when one holds this very file (same bytes, path and parser
    code, and its parse warnings recorded). `in_target`: the records are those of the collection being written (an
    incremental run), so an article answered from them is unchanged there."""

    def __init__(self, records: Mapping[str, Record], parser: str, *, in_target: bool) -> None:
        self.parser = parser
        self.in_target = in_target
        self.by_hash = {r.doc_hash: r for r in records.values() if r.warnings is not None and r.article}
        self.warnings: dict[str, list[Problem]] = {}  # path -> the file's own parse warnings
        self.hashes: dict[str, str] = {}  # path -> doc hash
        self.reused = 0
        self.cached: set[str] = set()  # paths answered from a record

    def parse(self, raw: bytes, path: str) -> ParseResult:
        digest = doc_hash(hashlib.sha256(raw).hexdigest(), path, self.parser)
        self.hashes[path] = digest
        record = self.by_hash.get(digest)
        if record is not None:
            problems = [Problem(path, line, message, Severity.WARNING) for line, message in record.warnings or []]
            result = ParseResult(path, Article.model_validate(record.article), problems)
            self.reused += 1
            self.cached.add(path)
        else:
            result = parse_bytes(raw, path)
        self.warnings[path] = [p for p in result.problems if not p.is_error]
        return result

    def document(self, article: Article) -> ArticleDocument:
        """The article as a document for the pipeline, carrying its parse warnings for its record.

        An article answered from a record of the collection being written is unchanged there, so the pipeline skips
        it: its text is not needed."""
        from indexer.pipeline import ArticleDocument, article_document

        if self.in_target and article.path in self.cached:
            return ArticleDocument(id_=article.id, text="",  # type: ignore[call-arg]
                                   metadata={"doc_hash": self.hashes[article.path]})
        doc = article_document(article, self.hashes[article.path])
        doc.metadata["warnings"] = [[p.line, p.message] for p in self.warnings.get(article.path, [])]
        doc.excluded_embed_metadata_keys = doc.excluded_llm_metadata_keys = list(doc.metadata)
        return doc
