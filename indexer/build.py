"""Turn a set of article files into the served index: incrementally in place, or as a full rebuild + alias swap.

Both go through one LlamaIndex ingestion pipeline (indexer/pipeline.py) whose docstore is the build's own
article records (indexer/docstore.py). Incremental (the default when the served index was built with the same
model, lexical and chunking versions): the docstore skips every article whose file is unchanged, without parsing
it again (one read of the records is all); of a changed article only the chunks whose text changed are embedded
(chunk ids are derived from content) and written, and the rest of its chunks stay; the chunks and records of
articles that are gone, retired or back in draft are deleted, after the new ones are written.

Full rebuild (`full=True`, no index yet, or a fingerprint mismatch): a new collection is written completely,
marked ready, and only then the alias is swapped in one atomic operation; the old collection and any leftovers
of a rebuild that died are dropped afterwards. Until the swap the served collection is untouched.

    >>> report = Indexer(settings, store, embedder).run(iter_article_files(Path("articles")), Revision(None, True))
    >>> report.embedded, report.reused  # doctest: +SKIP
    (812, 0)
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from indexer.git import Revision
from indexer.records import (
    WRITING_KEY,
    ParseCache,
    load_records,
    parser_fingerprint,
    unlisted_chunks,
    was_interrupted,
)
from kb.chunking import chunk_article
from kb.config import Settings
from kb.corpus import build_corpus
from kb.embedding import CachedEmbedder
from kb.errors import Problem
from kb.files import FileEntry
from kb.lexical import SparseEncoder
from kb.served import fingerprint
from kb.store import Store

if TYPE_CHECKING:
    from indexer.pipeline import Progress


@dataclass
class IndexReport:
    """What a run did; printed as the summary and returned by the API."""

    collection: str = ""
    full: bool = False
    reason: str = ""
    commit: str | None = None
    dirty: bool = False
    articles: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    upserted: int = 0
    deleted: int = 0
    dropped_collections: list[str] = field(default_factory=list)
    embedded_texts: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("problems", "embedded_texts")}
        out["errors"] = [str(p) for p in self.errors]
        out["warnings"] = [str(p) for p in self.problems if not p.is_error]
        return out


class Indexer:
    def __init__(self, settings: Settings, store: Store, embedder: CachedEmbedder,
                 sparse: SparseEncoder | None = None, progress: Progress | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()
        self.progress = progress
        self.alias = settings.collection

    def run(self, files: Iterable[FileEntry], revision: Revision, *, full: bool = False,
            today: dt.date | None = None) -> IndexReport:
        # LlamaIndex on first use, not on import: the service imports the indexer for POST /v1/index, which most
        # processes never call, and importing LlamaIndex costs 1.3 s of start-up and 49 MB (measured).
        from indexer.docstore import RecordDocstore
        from indexer.pipeline import (
            ArticleNodeParser,
            EmbedChunks,
            KbVectorStore,
            SkipStoredChunks,
            ingestion_pipeline,
            tuned_for_indexing,
        )

        started = time.perf_counter()
        self.embedder.reset_counts()
        expected = fingerprint(self.embedder.model_id, self.embedder.dim)
        current = self.store.resolve_alias(self.alias, fresh=True)
        current_meta = self.store.metadata(current) if current else {}
        reason = "requested with --full" if full else self._rebuild_reason(current, current_meta, expected)
        report = IndexReport(commit=revision.commit, dirty=revision.dirty, full=bool(reason), reason=reason)
        orphans: list[str] = []
        if reason:
            target = self._new_collection(expected)
            docstore = RecordDocstore(self.store, target)
            # The served build's records still answer for files that did not change (the parse cache).
            served = load_records(self.store, current) if current else {}
        else:
            assert current is not None
            target = current
            docstore = RecordDocstore.load(self.store, target)
            served = docstore.records
            orphans = unlisted_chunks(self.store, target, served) if was_interrupted(current_meta) else []
            self.store.set_metadata(target, {WRITING_KEY: True})  # until this run ends well
        parse_cache = ParseCache(served, parser_fingerprint(), in_target=not reason)
        report.collection = target

        corpus = build_corpus(files, today=today, parse=parse_cache.parse)
        report.problems = corpus.problems
        articles = sorted(corpus.served(), key=lambda a: a.id)
        if orphans:
            self.store.delete(target, orphans)
        node_parser = ArticleNodeParser({a.id: a for a in articles})
        skip = SkipStoredChunks(self.store, target) if not reason else None
        vector_store = KbVectorStore.for_collection(self.store, target, self.sparse)
        with ThreadPoolExecutor(1, thread_name_prefix="kb-index-writer") as executor, tuned_for_indexing():
            pipeline = ingestion_pipeline(node_parser, skip, EmbedChunks(self.embedder, self.progress), vector_store,
                                          docstore, executor)
            pipeline.run(documents=[parse_cache.document(a) for a in articles])
        records = docstore.commit(node_parser.produced)
        changed = [a for a in articles if a.id in set(node_parser.seen)]
        deleted = vector_store.finish(changed, node_parser.produced, skip.kept if skip else {},
                                      docstore.previous_chunk_ids)

        report.upserted = vector_store.written + records
        report.deleted = deleted + len(orphans)
        report.articles = len(articles)
        report.chunks = sum(len(chunk_article(a)) for a in articles)
        self._write_metadata(target, expected, report)
        if report.full:
            self.store.swap_alias(self.alias, target)
        report.dropped_collections = self.drop_leftovers(keep=target)
        # Docstore files of earlier versions: the collection's records are the docstore now.
        shutil.rmtree(self.settings.data_dir / "docstores", ignore_errors=True)
        report.embedded, report.reused = self.embedder.embedded, self.embedder.reused
        report.embedded_texts = list(self.embedder.embedded_texts)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _rebuild_reason(self, current: str | None, built: dict[str, Any], expected: dict[str, Any]) -> str:
        if current is None:
            return "no index yet"
        changed = [f"{k} {built.get(k)!r} -> {v!r}" for k, v in expected.items() if built.get(k) != v]
        if changed:
            return "index settings changed: " + ", ".join(changed)
        if built.get("state") != "ready":
            return "served index is incomplete"
        return ""

    def _new_collection(self, expected: dict[str, Any]) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
        name = f"{self.alias}__{stamp}_{secrets.token_hex(3)}"
        self.store.create(name, self.embedder.dim, {**expected, "state": "building"})
        return name

    def _write_metadata(self, name: str, expected: dict[str, Any], report: IndexReport) -> None:
        self.store.set_metadata(name, {
            **expected, "state": "ready", "commit": report.commit, "dirty": report.dirty,
            "indexed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "articles": report.articles,
            "chunks": report.chunks, WRITING_KEY: False,
        })

    def drop_leftovers(self, keep: str) -> list[str]:
        """Drop every build collection of this alias except `keep` (old builds and half-written ones)."""
        dropped = []
        for name in self.store.collections(prefix=f"{self.alias}__"):
            if name != keep:
                self.store.drop(name)
                dropped.append(name)
        return dropped
