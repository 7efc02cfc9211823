"""A knowledge base and its messages held in memory, for measuring retrieval choices quickly and exactly.

`kb eval dataset` and `kb eval golden` go through the indexer and Qdrant, which is right for a headline figure and
far too slow to compare a dozen ways of building the index: every variant would be a re-index. Here every text
any variant needs (each chunk as a query and as a passage, normalised or not, the whole article as one passage,
each message as written and normalised, its questions) is embedded once through the embedding cache, keyed by
the RAW model's id and the text, so the Dutch-English axis (kb.language_axis) can be projected out or not
afterwards, and a second run embeds nothing. A variant then picks its vectors, and the service's own
`kb.retrieval.Retriever` ranks every message over them: the store is a `kb.mirror.LocalMirror`, the same
in-memory search local mode serves from, so what is measured is the service's fusion code, not a copy of it.

    >>> bench = Workbench.load(golden_corpus(Path("articles")), settings)  # doctest: +SKIP
    >>> bench.rank(Variant("today"), bench.corpus.queries[0])[:3]  # doctest: +SKIP
    ['suiker-voedt-kanker', ...]
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from eval.datasets import _jsonl, language_of, target_article
from eval.golden import GoldenMessage
from kb.article import Article, Language
from kb.chunking import Chunk, ChunkKind, chunk_article
from kb.config import Settings
from kb.embedding import CachedEmbedder, EmbeddingCache, load_raw_embedder
from kb.language import detect_language
from kb.language_axis import AxisProjected, load_axis, project
from kb.lexical import SparseEncoder, SparseVec
from kb.mirror import LocalMirror
from kb.models import Embedder, TextKind
from kb.normalize import Message, normalize
from kb.parsing import parse_bytes
from kb.retrieval import Match, Retriever, question_windows
from kb.store_types import SearchResult
from kb.suggest import prefer_language

#: Texts per embedding call: sorted by length, so a call pads little.
SLICE = 32


@dataclass(frozen=True)
class Ask:
    """One message with the articles that answer it (none: it should get no_match)."""

    id: str
    text: str
    relevant: frozenset[str]
    language: Language  # as the service would take it: labelled for the public sets, detected for golden
    split: str  # dev or test
    kind: str = ""
    source: str = ""


@dataclass
class Corpus:
    """The articles a KB serves and the messages asked of it."""

    name: str
    articles: list[Article]
    queries: list[Ask]
    lexical_avg_len: float = 40.0  # what SparseEncoder assumes of a document (datasets: one sentence)
    translations_merged: bool = True  # the service answers a translation pair in the message's language
    notes: list[str] = field(default_factory=list)

    def split(self, split: str) -> list[Ask]:
        return [q for q in self.queries if q.split == split]


def golden_corpus(articles: Sequence[Article], messages: Sequence[GoldenMessage], name: str = "golden") -> Corpus:
    """A KB folder's served articles and golden messages, each message in the language the service detects."""
    asks = [Ask(m.id, m.text, frozenset([m.expected]) if m.expected else frozenset(),
                detect_language(m.text).language, m.split, m.kind, m.source) for m in messages]
    return Corpus(name, [a for a in articles if a.is_served], asks)


def dataset_corpus(root: Path, *, sample: int | None = None, seed: int = 24, questions: int | None = None,
                   today: dt.date | None = None) -> Corpus:
    """A public set (`targets.jsonl`, `queries_dev.jsonl`, `queries.jsonl`) as articles the way
    `kb eval dataset` writes them. `sample`: only the targets some query needs plus `sample` others drawn with
    `seed` (every run draws the same), for variants that do not need the whole set. `questions`: only that many
    questions of each split, drawn with `seed` (a subset of a set whose every target some question needs, such as
    policyqa-nl: with `sample` 0 the knowledge base is then only their targets)."""
    targets = _jsonl(root / "targets.jsonl")
    asks: list[Ask] = []
    for split, file in (("dev", "queries_dev.jsonl"), ("test", "queries.jsonl")):
        rows = _jsonl(root / file)
        if questions is not None and questions < len(rows):
            rows = random.Random(seed).sample(rows, questions)
        for r in rows:
            asks.append(Ask(f"{split}-{r['id']}", r["text"], frozenset(str(i) for i in r["relevant_ids"]),
                            language_of(r, r["text"]), split))
    notes = [f"{questions} questions of each split drawn (seed {seed})"] if questions is not None else []
    if sample is not None and sample < len(targets):
        needed = {i for q in asks for i in q.relevant}
        others = [t for t in targets if str(t["id"]) not in needed]
        drawn = random.Random(seed).sample(others, min(sample, len(others)))
        notes.append(f"{len(needed)} relevant targets + {len(drawn)} drawn of {len(targets)} (seed {seed})")
        targets = [t for t in targets if str(t["id"]) in needed] + drawn
    articles, ids = [], {}
    for t in targets:
        slug, path, markdown = target_article(t, root.name, today or dt.date.today())
        parsed = parse_bytes(markdown, path).article
        if parsed is not None:
            articles.append(parsed)
            ids[str(t["id"])] = slug
    asks = [Ask(q.id, q.text, frozenset(ids[i] for i in q.relevant if i in ids), q.language, q.split) for q in asks]
    return Corpus(root.name, articles, asks, lexical_avg_len=12.0, translations_merged=False, notes=notes)


def plain_text(article: Article) -> str:
    """The article as one passage: its title and answer (the title alone when the answer begins with it)."""
    answer = article.sections.answer
    title = article.meta.title
    return answer if answer.startswith(title) else f"{title}\n\n{answer}"


@dataclass(frozen=True)
class Variant:
    """One way of building the index and reading a message (see eval.ablation for the steps)."""

    name: str
    unit: Literal["article", "chunks"] = "chunks"
    normalise: bool = True
    query_kinds: frozenset[ChunkKind] = frozenset({ChunkKind.TITLE, ChunkKind.CLAIM})
    kinds: frozenset[ChunkKind] = frozenset(ChunkKind)  # which chunks are indexed
    axis: bool = True
    windows: bool = True
    retriever: dict[str, Any] = field(default_factory=dict)  # keyword arguments for kb.retrieval.Retriever
    keep_names: bool = True  # retrieval reads Message.query (names kept), as the service does since issue 24
    plain_chunk: bool = False  # index each article's plain passage (title and answer) as one more chunk
    space: str = ""  # with `axis`: a named language space of the workbench (`Workbench.spaces`) instead of the axis
    pivot: str = ""  # a language: for messages in another, a translation pair is ranked by its twin in this one
    answer_windows: bool = True  # a long answer also indexed as windows (kb.chunking.answer_windows), as since issue 24


class VectorTable:
    """Every (kind, text) a workbench needs, embedded once through the cache of the raw model."""

    def __init__(self, embedder: CachedEmbedder, log: Callable[[str], None]) -> None:
        self.embedder = embedder
        self.log = log
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def fill(self, wanted: Iterable[tuple[TextKind, str]]) -> None:
        todo = sorted({w for w in wanted if w not in self.vectors}, key=lambda w: (w[0], len(w[1])))
        before = self.embedder.embedded
        for start in range(0, len(todo), SLICE):
            part = todo[start:start + SLICE]
            kinds = {k for k, _ in part}
            for kind in sorted(kinds):
                texts = [t for k, t in part if k == kind]
                for t, v in zip(texts, self.embedder.embed(texts, kind=kind), strict=True):  # type: ignore[arg-type]
                    self.vectors[(kind, t)] = v
            if (start // SLICE) % 50 == 49:
                self.log(f"  {start + len(part)} of {len(todo)} texts ({self.embedder.embedded - before} embedded)")
        if todo:
            self.log(f"{len(todo)} texts: {self.embedder.embedded - before} embedded, the rest from the cache")

    def get(self, kind: TextKind, text: str) -> np.ndarray:
        key = (kind, text)
        if key not in self.vectors:
            self.fill([key])
        return self.vectors[key]


class LanguageSpace(Protocol):
    """A change of representation that may depend on a text's language (eval.language_space)."""

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        """`vectors` of texts in `languages`, embedded as `kinds` (query or passage; empty: not known)."""
        ...


class LookupEmbedder:
    """An `Embedder` answering from the table, with the Dutch-English axis projected out or not, or a language
    space applied as if every text were in `language`."""

    def __init__(self, table: VectorTable, model_id: str, dim: int, axis: np.ndarray | None,
                 space: LanguageSpace | None = None, language: str = "") -> None:
        self.table, self.model_id, self.dim, self.axis = table, model_id, dim, axis
        self.space, self.language = space, language

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = np.stack([self.table.get(kind, t) for t in texts]).astype(np.float32)
        if self.space is not None:
            return self.space.apply(rows, [self.language] * len(rows), [kind] * len(rows))
        return project(rows, self.axis) if self.axis is not None else rows


class MirrorStore:
    """The one `Store` method retrieval uses, over an in-memory mirror."""

    def __init__(self, mirror: LocalMirror) -> None:
        self.mirror = mirror

    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               fields: Sequence[str] | None = None) -> SearchResult:
        return SearchResult(self.mirror.dense_search(dense, limit) if dense is not None else [],
                            self.mirror.lexical_search(sparse, limit) if sparse is not None else [])


def _payload(article: Article, chunk: Chunk | None, text: str) -> dict[str, Any]:
    return {"article_id": article.id, "kind": str(chunk.kind) if chunk else "article", "text": text,
            "language": str(article.meta.language), "translations": list(article.meta.translations),
            "text_language": str(chunk.words_language(article) if chunk else article.meta.language)}


class Workbench:
    """A corpus with its vectors: build a variant's store (`store`) and rank its messages (`rankings`)."""

    def __init__(self, corpus: Corpus, table: VectorTable, raw: Embedder, axis: np.ndarray | None) -> None:
        self.corpus, self.table, self.raw, self.axis = corpus, table, raw, axis
        #: The id of the model the service runs (the axis projected out where one is shipped): what its fitted
        #: files (calibration, gate, re-ranker) are named by.
        self.served_model_id = AxisProjected(raw, axis).model_id if axis is not None else raw.model_id
        self.chunks = {a.id: chunk_article(a) for a in corpus.articles}
        self._stores: dict[tuple[Any, ...], tuple[MirrorStore, SparseEncoder]] = {}
        self.spaces: dict[str, LanguageSpace] = {}  # named by Variant.space; set by whoever measures them

    @classmethod
    def load(cls, corpus: Corpus, settings: Settings, cache_path: Path,
             log: Callable[[str], None] = print) -> Workbench:
        raw = load_raw_embedder(settings)
        cache = EmbeddingCache(cache_path)
        table = VectorTable(CachedEmbedder(raw, cache), log)
        bench = cls(corpus, table, raw, load_axis(raw.model_id))
        table.fill(bench.wanted())
        return bench

    def wanted(self) -> list[tuple[TextKind, str]]:
        """Every text any variant asks for: chunks both ways, articles whole, messages as written and read."""
        out: list[tuple[TextKind, str]] = []
        for article in self.corpus.articles:
            out += [("passage", plain_text(article)), ("passage", normalize(plain_text(article)))]
            for c in self.chunks[article.id]:
                out.append(("passage", normalize(c.text)))
                if c.kind in (ChunkKind.TITLE, ChunkKind.CLAIM):  # only these are ever embedded as queries
                    out.append(("query", normalize(c.text)))
        for q in self.corpus.queries:
            read = Message.of(q.text)
            out += [("query", read.raw), ("query", read.text), ("query", read.query)]
            out += [("query", w) for w in {*question_windows(read.text), *question_windows(read.query)}]
        return out

    def store(self, v: Variant) -> tuple[MirrorStore, SparseEncoder]:
        # The space itself, not its name: a name given a new space (one per fold of a fit) must build anew, or the
        # articles would keep the old space while messages get the new one.
        key = (v.unit, v.normalise, v.query_kinds, v.kinds, v.axis, v.plain_chunk, self.spaces.get(v.space),
               v.answer_windows)
        if key not in self._stores:
            sparse = SparseEncoder(avg_len=self.corpus.lexical_avg_len)
            points = []
            embedded_as: list[str] = []  # query or passage, point by point (a language space may tell them apart)
            for article in self.corpus.articles:
                language = article.meta.language
                if v.unit == "article":
                    text = plain_text(article)
                    vec = self.table.get("passage", normalize(text) if v.normalise else text)
                    embedded_as.append("passage")
                    points.append((article.id, _payload(article, None, text), vec,
                                   sparse.encode_document(text, language)))
                    continue
                for c in self.chunks[article.id]:
                    if c.kind not in v.kinds or (c.is_window and not v.answer_windows):
                        continue
                    kind: TextKind = "query" if c.kind in v.query_kinds else "passage"
                    vec = self.table.get(kind, normalize(c.text) if v.normalise else c.text)
                    embedded_as.append(kind)
                    points.append((c.id, _payload(article, c, c.text), vec,
                                   sparse.encode_document(c.text, c.words_language(article))))
                if v.plain_chunk:
                    text = plain_text(article)
                    vec = self.table.get("passage", normalize(text) if v.normalise else text)
                    embedded_as.append("passage")
                    points.append((f"{article.id}#plain", _payload(article, None, text), vec,
                                   sparse.encode_document(text, language)))
            if v.axis and v.space:
                languages = [str(p[1]["language"]) for p in points]
                moved = self.spaces[v.space].apply(np.stack([p[2] for p in points]), languages, embedded_as)
                points = [(p[0], p[1], moved[i], p[3]) for i, p in enumerate(points)]
            elif v.axis and self.axis is not None:
                projected = project(np.stack([p[2] for p in points]), self.axis)
                points = [(p[0], p[1], projected[i], p[3]) for i, p in enumerate(points)]
            self._stores[key] = (MirrorStore(LocalMirror.build(points)), sparse)
        return self._stores[key]

    def embedder(self, v: Variant, language: str = "") -> LookupEmbedder:
        if v.axis and v.space:
            return LookupEmbedder(self.table, self.raw.model_id, self.raw.dim, None, self.spaces[v.space], language)
        return LookupEmbedder(self.table, self.raw.model_id, self.raw.dim, self.axis if v.axis else None)

    def message(self, v: Variant, q: Ask) -> Message:
        """The message as the variant reads it: as the service does (names kept), normalised with names dropped
        (before issue 24's fix), or as written."""
        read = Message.of(q.text)
        if not v.normalise:
            return Message.read_as(read.raw, read.raw)
        return read if v.keep_names else Message.read_as(read.raw, read.text)


    def rank(self, v: Variant, q: Ask, limit: int = 10) -> list[Match]:
        """The variant's ranking for one message, as the service ranks (translation pairs merged on a KB)."""
        store, sparse = self.store(v)
        retriever = Retriever(store, self.embedder(v, str(q.language)), sparse, alias=self.corpus.name,  # type: ignore[arg-type]
                              **({"questions": v.windows} | v.retriever))
        ranked = retriever.search(self.message(v, q), q.language, limit=max(limit, 12))
        if v.pivot and str(q.language) != v.pivot:
            return ranked_by_pivot(ranked, q.language, v.pivot)[:limit]
        return (prefer_language(ranked, q.language) if self.corpus.translations_merged else ranked)[:limit]


def ranked_by_pivot(ranked: Sequence[Match], language: Language, pivot: str) -> list[Match]:
    """For a message not in `pivot`: each translation pair stands where its `pivot` twin stood (its twin in the
    message's language dropped from the ranking, then shown in that twin's place), so every article with a `pivot`
    version competes on one footing, the same-language closeness of the message's own twins set aside. Articles
    without a `pivot` twin keep their place.

        >>> en = Match("sugar-en", "en", 0.95, 0.95, 0.0, "t", "claim", ("suiker",))
        >>> nl = Match("suiker", "nl", 0.80, 0.80, 0.0, "t", "claim", ("sugar-en",))
        >>> other = Match("fiets", "nl", 0.85, 0.85, 0.0, "t", "claim")
        >>> [m.article_id for m in ranked_by_pivot([en, other, nl], Language.EN, "nl")]
        ['fiets', 'sugar-en']
    """
    by_id = {m.article_id: m for m in ranked}
    out = []
    for m in ranked:
        if str(m.language) != pivot and any(t in by_id and str(by_id[t].language) == pivot for t in m.translations):
            continue  # its pivot twin carries the pair
        own = next((by_id[t] for t in m.translations if t in by_id and by_id[t].language == language), None)
        out.append(own or m)
    return out
