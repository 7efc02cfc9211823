"""Turn a set of article files into the served index: incrementally in place, or as a full rebuild + alias swap.

Incremental (the default when the served index was built with the same model, lexical and chunking versions):
chunk ids are derived from content, so the difference between the wanted and the stored id sets is exactly what
changed. Only new chunks are embedded (and those whose text the cache has seen are not even embedded); stale
chunks and the articles that are gone, retired or back in draft are deleted.

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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from indexer.git import Revision
from kb.article import Article
from kb.chunking import Chunk, article_record_id, chunk_article
from kb.config import Settings
from kb.corpus import build_corpus
from kb.embedding import CachedEmbedder
from kb.errors import Problem
from kb.lexical import SparseEncoder
from kb.normalize import normalize
from kb.served import fingerprint
from kb.store import Point, QdrantStore

#: progress(done, total) is called as chunks are embedded and written.
Progress = Callable[[int, int], None]
_BATCH = 64


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
    def __init__(self, settings: Settings, store: QdrantStore, embedder: CachedEmbedder,
                 sparse: SparseEncoder | None = None, progress: Progress | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()
        self.progress = progress
        self.alias = settings.collection

    def run(self, files: Iterable[tuple[str, bytes]], revision: Revision, *, full: bool = False,
            today: dt.date | None = None) -> IndexReport:
        started = time.perf_counter()
        self.embedder.reset_counts()
        corpus = build_corpus(files, today=today)
        report = IndexReport(commit=revision.commit, dirty=revision.dirty, problems=corpus.problems)
        articles = sorted(corpus.served(), key=lambda a: a.id)
        wanted = {c.id: (c, a) for a in articles for c in chunk_article(a)}
        expected = fingerprint(self.embedder.model_id, self.embedder.dim)

        current = self.store.resolve_alias(self.alias)
        reason = "requested with --full" if full else self._rebuild_reason(current, expected)
        if reason:
            report.full, report.reason = True, reason
            report.collection = self._rebuild(articles, wanted, expected, report)
        else:
            assert current is not None
            report.collection = current
            self._update(current, articles, wanted, report)
        self._write_metadata(report.collection, expected, report, len(articles), len(wanted))
        if report.full:
            self.store.swap_alias(self.alias, report.collection)
        report.dropped_collections = self.drop_leftovers(keep=report.collection)
        report.articles, report.chunks = len(articles), len(wanted)
        report.embedded, report.reused = self.embedder.embedded, self.embedder.reused
        report.embedded_texts = list(self.embedder.embedded_texts)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _rebuild_reason(self, current: str | None, expected: dict[str, Any]) -> str:
        if current is None:
            return "no index yet"
        built = self.store.metadata(current)
        changed = [f"{k} {built.get(k)!r} -> {v!r}" for k, v in expected.items() if built.get(k) != v]
        if changed:
            return "index settings changed: " + ", ".join(changed)
        if built.get("state") != "ready":
            return "served index is incomplete"
        return ""

    def _rebuild(self, articles: list[Article], wanted: dict[str, tuple[Chunk, Article]],
                 expected: dict[str, Any], report: IndexReport) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
        name = f"{self.alias}__{stamp}_{secrets.token_hex(3)}"
        self.store.create(name, self.embedder.dim, {**expected, "state": "building"})
        self._write_chunks(name, list(wanted.values()), report)
        self.store.upsert(name, [_record(a) for a in articles])
        return name

    def _update(self, name: str, articles: list[Article], wanted: dict[str, tuple[Chunk, Article]],
                report: IndexReport) -> None:
        stored = dict(self.store.scroll_payloads(name, ["kind", "article_id", "content_hash"]))
        new = [pair for cid, pair in wanted.items() if cid not in stored]
        self._write_chunks(name, new, report)
        records = [_record(a) for a in articles
                   if stored.get(article_record_id(a.id), {}).get("content_hash") != a.content_hash]
        self.store.upsert(name, records)
        report.upserted += len(records)
        keep = set(wanted) | {article_record_id(a.id) for a in articles}
        gone = sorted(pid for pid in stored if pid not in keep)
        self.store.delete(name, gone)
        report.deleted = len(gone)

    def _write_chunks(self, name: str, pairs: list[tuple[Chunk, Article]], report: IndexReport) -> None:
        total = len(pairs)
        if self.progress:
            self.progress(0, total)
        for start in range(0, total, _BATCH):
            batch = pairs[start:start + _BATCH]
            vectors = self.embedder.embed([normalize(c.text) for c, _ in batch])
            points = [Point(c.id, c.payload(a), dense=vectors[i],
                            sparse=self.sparse.encode_document(c.text, a.meta.language))
                      for i, (c, a) in enumerate(batch)]
            self.store.upsert(name, points)
            report.upserted += len(points)
            if self.progress:
                self.progress(start + len(batch), total)

    def _write_metadata(self, name: str, expected: dict[str, Any], report: IndexReport, articles: int,
                        chunks: int) -> None:
        self.store.set_metadata(name, {
            **expected, "state": "ready", "commit": report.commit, "dirty": report.dirty,
            "indexed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "articles": articles,
            "chunks": chunks,
        })

    def drop_leftovers(self, keep: str) -> list[str]:
        """Drop every build collection of this alias except `keep` (old builds and half-written ones)."""
        dropped = []
        for name in self.store.collections(prefix=f"{self.alias}__"):
            if name != keep:
                self.store.drop(name)
                dropped.append(name)
        return dropped


def _record(article: Article) -> Point:
    """The vector-less point that carries the approved article inside the build."""
    return Point(article_record_id(article.id), {"kind": "article", "article_id": article.id,
                                                 "content_hash": article.content_hash,
                                                 "article": article.model_dump(mode="json")})
