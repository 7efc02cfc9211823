"""A build's LlamaIndex document store *is* its article records: one source of truth for what is indexed.

Every build collection holds one vector-less record per served article (`article_record`): the approved article
(what drafts are rendered from), its `doc_hash` (the file's bytes, path and parser code), the ids of its chunks
and the file's parse warnings. `RecordDocstore` is LlamaIndex's `BaseDocumentStore` over those records, so the
ingestion pipeline's de-duplication (`DocstoreStrategy.UPSERTS_AND_DELETE`) compares against what the collection
holds and nothing is kept beside it: another machine indexing a shared server, a fresh checkout and a killed run
all see the same truth.

- It reads the records once, when a run starts (`RecordDocstore.load`: one scroll of the records).
- Its writes are staged, and `commit()` upserts the new records after the pipeline has written their chunks; a
  document it deletes is only forgotten here, because its record goes with the article's other points when the
  vector store deletes them (`KbVectorStore.finish`, after the new chunks are in), so an article updated in place
  never vanishes from the served index for a moment.
- A run that dies after its first write leaves the collection marked `writing`; the next run then lists the
  chunks no record names (`RecordDocstore.orphans`) and deletes them first.
- It is also the parse cache (`ParseCache`): a file whose doc_hash a record carries is not parsed again (parsing
  was most of an incremental run: 4 s of 6 at 1,000 articles).

    >>> docstore = RecordDocstore.load(store, "kb_articles__x")  # doctest: +SKIP
    >>> docstore.get_all_document_hashes()  # doctest: +SKIP
    {'5f0c…': 'suiker-voedt-kanker', ...}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.schema import BaseNode
from llama_index.core.storage.docstore.types import BaseDocumentStore, RefDocInfo

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
#: The record fields the docstore reads.
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


@dataclass
class RecordDocstore(BaseDocumentStore):
    """LlamaIndex's document store over one build collection's article records (see the module docstring).

    Documents are `ArticleDocument`s: id = article id, text = the article as JSON, `doc_hash` in the metadata."""

    store: Store
    collection: str
    #: article id -> its record as the collection held it when the run started
    records: dict[str, Record] = field(default_factory=dict)
    _hashes: dict[str, str] = field(default_factory=dict)  # article id -> doc hash, as staged
    _added: dict[str, BaseNode] = field(default_factory=dict)  # staged documents, written by commit()

    def __post_init__(self) -> None:
        # A record from before records listed their chunks and parse warnings answers a hash no file has, so the
        # next run writes it once more, complete (its chunks are unchanged: nothing is embedded).
        self._hashes = {aid: r.doc_hash if r.complete else f"{r.doc_hash}:incomplete"
                        for aid, r in self.records.items()}

    @classmethod
    def load(cls, store: Store, collection: str) -> RecordDocstore:
        """The records of `collection`, read in one scroll."""
        records = {str(p["article_id"]): Record.of(p)
                   for _, p in store.scroll_payloads(collection, _FIELDS, where={"kind": "article"})}
        return cls(store, collection, records)

    def orphans(self) -> list[str]:
        """Ids of the chunks no record lists (left by a run that died between writing chunks and records).

        Reads every point's article id: only after an interrupted run. A legacy record that lists no chunks keeps
        every chunk of its article."""
        listed = {c for r in self.records.values() for c in (r.chunk_ids or ())}
        unlisting = {a for a, r in self.records.items() if r.chunk_ids is None}
        return sorted(pid for pid, p in self.store.scroll_payloads(self.collection, ["kind", "article_id"])
                      if p.get("kind") != "article" and pid not in listed and p.get("article_id") not in unlisting)

    def commit(self, chunk_ids: Mapping[str, Sequence[str]]) -> int:
        """Upsert the records of the documents added in this run (their chunks by article id in `chunk_ids`);
        returns how many. Call it after the vector store has written those chunks.

        `records` stays as the run found it: the vector store still asks which chunks a replaced article had."""
        records = [Record(aid, self._hashes[aid], json.loads(doc.get_content()), list(chunk_ids[aid]),
                          list(doc.metadata.get("warnings") or [])) for aid, doc in sorted(self._added.items())]
        self.store.upsert(self.collection, [r.point() for r in records], batch_size=1024)
        return len(records)

    def previous_chunk_ids(self, article_id: str) -> list[str] | None:
        """The chunks the collection's record of `article_id` listed when the run started (None: no record, or a
        legacy one that lists none)."""
        record = self.records.get(article_id)
        return None if record is None else record.chunk_ids

    # ----- LlamaIndex's BaseDocumentStore -----
    @property
    def docs(self) -> dict[str, BaseNode]:
        return {aid: doc for aid in self._hashes if (doc := self.get_document(aid, raise_error=False)) is not None}

    def add_documents(self, docs: Sequence[BaseNode], allow_update: bool = True, batch_size: int | None = None,
                      store_text: bool = True) -> None:
        for doc in docs:
            if not allow_update and doc.node_id in self._hashes:
                raise ValueError(f"article {doc.node_id!r} is already in {self.collection}")
            self._added[doc.node_id] = doc
            self._hashes[doc.node_id] = doc.hash

    def get_document(self, doc_id: str, raise_error: bool = True) -> BaseNode | None:
        from indexer.pipeline import ArticleDocument

        if doc_id in self._added:
            return self._added[doc_id]
        record = self.records.get(doc_id) if doc_id in self._hashes else None
        if record is None:
            if raise_error:
                raise ValueError(f"article {doc_id!r} is not in {self.collection}")
            return None
        return ArticleDocument(id_=doc_id, text=json.dumps(record.article),  # type: ignore[call-arg]
                               metadata={"doc_hash": record.doc_hash, "warnings": record.warnings or []})

    def delete_document(self, doc_id: str, raise_error: bool = True) -> None:
        if doc_id not in self._hashes and raise_error:
            raise ValueError(f"article {doc_id!r} is not in {self.collection}")
        self._hashes.pop(doc_id, None)
        self._added.pop(doc_id, None)

    def document_exists(self, doc_id: str) -> bool:
        return doc_id in self._hashes

    def set_document_hash(self, doc_id: str, doc_hash: str) -> None:
        self._hashes[doc_id] = doc_hash

    def set_document_hashes(self, doc_hashes: dict[str, str]) -> None:
        self._hashes.update(doc_hashes)

    def get_document_hash(self, doc_id: str) -> str | None:
        return self._hashes.get(doc_id)

    def get_all_document_hashes(self) -> dict[str, str]:
        """doc hash -> article id (LlamaIndex's direction)."""
        return {h: aid for aid, h in self._hashes.items()}

    def get_all_ref_doc_info(self) -> dict[str, RefDocInfo] | None:
        return {aid: info for aid in self._hashes if (info := self.get_ref_doc_info(aid)) is not None}

    def get_ref_doc_info(self, ref_doc_id: str) -> RefDocInfo | None:
        """An article's chunks as the collection's record lists them (none yet for one added in this run)."""
        record = self.records.get(ref_doc_id) if ref_doc_id in self._hashes else None
        return RefDocInfo(node_ids=list(record.chunk_ids or [])) if record else None

    def delete_ref_doc(self, ref_doc_id: str, raise_error: bool = True) -> None:
        self.delete_document(ref_doc_id, raise_error=raise_error)

    # The pipeline runs synchronously; the async forms answer the same.
    async def async_add_documents(self, docs: Sequence[BaseNode], allow_update: bool = True,
                                  batch_size: int | None = None, store_text: bool = True) -> None:
        self.add_documents(docs, allow_update, batch_size, store_text)

    async def aget_document(self, doc_id: str, raise_error: bool = True) -> BaseNode | None:
        return self.get_document(doc_id, raise_error)

    async def adelete_document(self, doc_id: str, raise_error: bool = True) -> None:
        self.delete_document(doc_id, raise_error)

    async def adocument_exists(self, doc_id: str) -> bool:
        return self.document_exists(doc_id)

    async def aset_document_hash(self, doc_id: str, doc_hash: str) -> None:
        self.set_document_hash(doc_id, doc_hash)

    async def aset_document_hashes(self, doc_hashes: dict[str, str]) -> None:
        self.set_document_hashes(doc_hashes)

    async def aget_document_hash(self, doc_id: str) -> str | None:
        return self.get_document_hash(doc_id)

    async def aget_all_document_hashes(self) -> dict[str, str]:
        return self.get_all_document_hashes()

    async def aget_all_ref_doc_info(self) -> dict[str, RefDocInfo] | None:
        return self.get_all_ref_doc_info()

    async def aget_ref_doc_info(self, ref_doc_id: str) -> RefDocInfo | None:
        return self.get_ref_doc_info(ref_doc_id)

    async def adelete_ref_doc(self, ref_doc_id: str, raise_error: bool = True) -> None:
        self.delete_ref_doc(ref_doc_id, raise_error)


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
