"""The LlamaIndex ingestion pipeline that writes a build: articles in, chunks with dense and lexical vectors out.

    IngestionPipeline(docstore=RecordDocstore, docstore_strategy=UPSERTS_AND_DELETE,
                      transformations=[ArticleNodeParser, SkipStoredChunks, StartLexical, EmbedChunks],
                      vector_store=KbVectorStore)

- Documents are articles (`ArticleDocument`: id = article id, hash = file content hash + path + parser). The
  docstore is the build's article records (indexer/docstore.py), read once per run: it skips unchanged articles,
  and hands changed and vanished ones to the vector store's `delete`.
- `ArticleNodeParser` is our chunker (kb.chunking) as a node parser: node ids stay the content-derived chunk ids.
- `SkipStoredChunks` drops chunks whose id is already in the collection (same article, heading path and text),
  so an edited article re-embeds and rewrites only the chunks that changed. A filter, so a plain
  `TransformComponent`, not a node parser (which promises nodes parsed from documents).
- `StartLexical` starts the chunks' lexical vectors on a second thread, while the model embeds.
- `EmbedChunks` sets each chunk's vector from our model behind the embedding cache (kb.embedding.CachedEmbedder):
  a `TransformComponent`, as LlamaIndex's own embedding models are inside a pipeline, but not a `BaseEmbedding`,
  because it does not embed in its batches: it sorts the whole build's texts by kind and length (padding is
  wasted work) and hands each embedded slice to the vector store, which writes it on that second thread while the
  model embeds the next slice (the pipeline's final `add` then writes only what is left). Nothing in Kennisbank
  embeds queries through LlamaIndex (kb.retrieval does), so no `BaseEmbedding` is needed.
- `KbVectorStore` writes our layout through the `Store`: LlamaIndex's QdrantVectorStore (0.10.4) can write
  named `dense` + `lexical` vectors into our collection, but adds the whole node as JSON to every payload
  (measured on the sample KB: 3.4 times the bytes per point, about 30% slower writes in local mode) and its
  `sparse_doc_fn` gets no language for our Dutch/English stemming. Deletes are deferred to `finish()`, after the
  new chunks are written, so an article updated in place never vanishes from the served index for a moment. Its
  `query` answers a dense query from the build (the service itself searches with kb.retrieval, which needs both
  modes' raw scores).

    >>> writer = KbVectorStore.for_collection(store, "kb_articles__x", SparseEncoder())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, MetadataMode, NodeRelationship, TextNode, TransformComponent
from llama_index.core.storage.docstore import BaseDocumentStore
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from kb.article import Article, Language
from kb.chunking import ChunkKind, article_fields, article_record_id, chunk_article, text_language
from kb.embedding import CachedEmbedder
from kb.lexical import SparseEncoder, SparseVec
from kb.models import TextKind
from kb.normalize import normalize
from kb.store import Point, Store

#: progress(done, total) as chunks are embedded.
Progress = Callable[[int, int], None]
#: Receives each slice of nodes as soon as their vectors are set.
Sink = Callable[[list[BaseNode]], None]
#: EmbedChunks sorts a build's texts by length across the whole build, as the raw encoder does (padding is wasted
#: work), and then embeds them EMBED_SLICE at a time (progress, cache writes).
EMBED_SLICE = 512
#: Points per upsert call (local mode persists point by point anyway; a server takes large batches well).
UPSERT_BATCH = 1024


class ArticleDocument(Document):
    """One served article. `hash` is what the docstore compares: `doc_hash` in the metadata."""

    @property
    def hash(self) -> str:
        return str(self.metadata["doc_hash"])


def article_document(article: Article, doc_hash: str) -> ArticleDocument:
    """The article as a document; its text is the article as JSON, which its record keeps (the parse cache)."""
    return ArticleDocument(id_=article.id, text=article.model_dump_json(),  # type: ignore[call-arg]
                           metadata={"doc_hash": doc_hash, "path": article.path},
                           excluded_embed_metadata_keys=["doc_hash", "path"],
                           excluded_llm_metadata_keys=["doc_hash", "path"])


class ArticleNodeParser(NodeParser):
    """kb.chunking as a LlamaIndex node parser: one TextNode per chunk, id = the content-derived chunk id, the
    store payload as metadata (excluded from what is embedded)."""

    _articles: dict[str, Article] = PrivateAttr(default_factory=dict)
    _seen: list[str] = PrivateAttr(default_factory=list)
    _produced: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    def __init__(self, articles: dict[str, Article]) -> None:
        super().__init__(include_metadata=False, include_prev_next_rel=False)
        self._articles, self._seen, self._produced = articles, [], {}

    @property
    def seen(self) -> list[str]:
        """Ids of the articles that went through the pipeline in this run (new or changed)."""
        return self._seen

    @property
    def produced(self) -> dict[str, list[str]]:
        """Ids of every chunk of those articles, by article."""
        return self._produced

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for doc in nodes:
            article = self._articles[doc.node_id]
            self._seen.append(article.id)
            source = doc.as_related_node_info()
            for chunk in chunk_article(article):
                payload = chunk.payload(article)
                self._produced.setdefault(article.id, []).append(chunk.id)
                out.append(TextNode(id_=chunk.id, text=chunk.text, metadata=payload,
                                    excluded_embed_metadata_keys=list(payload),
                                    excluded_llm_metadata_keys=list(payload),
                                    relationships={NodeRelationship.SOURCE: source}))
        return out


class SkipStoredChunks(TransformComponent):
    """Drop chunks already in the collection: their text, and so their vectors, are unchanged."""

    _store: Store = PrivateAttr()
    _collection: str = PrivateAttr()
    _kept: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    def __init__(self, store: Store, collection: str) -> None:
        super().__init__()
        self._store, self._collection, self._kept = store, collection, {}

    @property
    def kept(self) -> dict[str, list[str]]:
        """Article id -> ids of its chunks that were already stored (their payload may need refreshing)."""
        return self._kept

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        stored = self._store.existing_ids(self._collection, [n.node_id for n in nodes])
        for n in nodes:
            if n.node_id in stored:
                self._kept.setdefault(str(n.metadata["article_id"]), []).append(n.node_id)
        return [n for n in nodes if n.node_id not in stored]


class StartLexical(TransformComponent):
    """Starts the lexical vectors of the chunks to be written on a second thread, to overlap the model."""

    _vector_store: KbVectorStore = PrivateAttr()
    _executor: ThreadPoolExecutor = PrivateAttr()

    def __init__(self, vector_store: KbVectorStore, executor: ThreadPoolExecutor) -> None:
        super().__init__()
        self._vector_store, self._executor = vector_store, executor

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        self._vector_store.prefetch_lexical(nodes, self._executor)
        return nodes


class EmbedChunks(TransformComponent):
    """Sets every chunk's `embedding` with kb's embedder (behind the embedding cache), normalising texts as
    kb.retrieval normalises messages; each chunk is embedded as its kind says (kb.chunking.ChunkKind.embed_as)."""

    _embedder: CachedEmbedder = PrivateAttr()
    _progress: Progress | None = PrivateAttr(default=None)
    _sink: Sink | None = PrivateAttr(default=None)
    _done: int = PrivateAttr(default=0)
    _total: int = PrivateAttr(default=0)

    def __init__(self, embedder: CachedEmbedder, progress: Progress | None = None) -> None:
        super().__init__()
        self._embedder, self._progress = embedder, progress

    def send_to(self, sink: Sink) -> None:
        """Hand every embedded slice of nodes to `sink` (KbVectorStore.write_ahead) as soon as it is done."""
        self._sink = sink

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        """Every node in one call, so the build's texts are sorted by length across the whole build."""
        self._done, self._total = 0, len(nodes)
        if self._progress:
            self._progress(0, self._total)

        def done(rows: list[int], vectors: np.ndarray) -> None:
            for i, vector in zip(rows, vectors.tolist(), strict=True):
                nodes[i].embedding = vector
            if self._sink:
                self._sink([nodes[i] for i in rows])

        kinds = [ChunkKind(n.metadata["kind"]).embed_as for n in nodes]
        self._vectors([n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes], done, kinds=kinds)
        return nodes

    def _vectors(self, texts: Sequence[str], done: Callable[[list[int], np.ndarray], None], *,
                 kinds: Sequence[TextKind]) -> np.ndarray:
        normalized = [normalize(t) for t in texts]
        # One kind per slice (a slice is one embed call); within a kind, similar lengths together.
        order = sorted(range(len(texts)), key=lambda i: (kinds[i], len(normalized[i])))
        out = np.empty((len(texts), self._embedder.dim), dtype=np.float32)
        slices = [order[s:s + EMBED_SLICE] for s in range(0, len(order), EMBED_SLICE)]
        for rows in (part for sl in slices for part in _split_by(sl, kinds)):
            out[rows] = self._embedder.embed([normalized[i] for i in rows], kind=kinds[rows[0]])
            done(rows, out[rows])
            self._done += len(rows)
            if self._progress:
                self._progress(self._done, self._total)
        return out


def _split_by(rows: list[int], kinds: Sequence[TextKind]) -> list[list[int]]:
    """`rows` cut where the kind changes (they come sorted by kind)."""
    parts: list[list[int]] = []
    for row in rows:
        if parts and kinds[parts[-1][0]] == kinds[row]:
            parts[-1].append(row)
        else:
            parts.append([row])
    return parts


# Our own upsert rather than QdrantVectorStore.add: same vectors, a third of the payload, faster (see above).
class KbVectorStore(BasePydanticVectorStore):
    """Writes chunks in our layout (named `dense` + `lexical` vectors, kb payload) into one build collection.

    Lexical vectors are computed, and embedded slices written (`write_ahead`), on a second thread while the model
    embeds (it releases the GIL); `delete` only records which articles to clean up: `finish()` does it once the new
    chunks are in."""

    stores_text: bool = True
    _store: Store = PrivateAttr()
    _collection: str = PrivateAttr()
    _sparse: SparseEncoder = PrivateAttr()
    _replaced: set[str] = PrivateAttr(default_factory=set)
    _lexical: dict[str, SparseVec] = PrivateAttr(default_factory=dict)
    _pending: Future[None] | None = PrivateAttr(default=None)
    _ahead: list[Future[None]] = PrivateAttr(default_factory=list)
    _stored: set[str] = PrivateAttr(default_factory=set)  # ids of the chunks written in this run
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def for_collection(cls, store: Store, collection: str, sparse: SparseEncoder) -> KbVectorStore:
        out = cls()
        out._store, out._collection, out._sparse = store, collection, sparse
        out._replaced, out._lexical, out._ahead, out._stored = set(), {}, [], set()
        return out

    @property
    def client(self) -> Any:
        return self._store

    @property
    def written(self) -> int:
        return len(self._stored)

    def prefetch_lexical(self, nodes: Sequence[BaseNode], executor: ThreadPoolExecutor) -> None:
        """Start computing the nodes' lexical vectors on `executor`; `add` waits for them."""
        todo = [(n.node_id, n.get_content(), Language(text_language(n.metadata))) for n in nodes]

        def work() -> None:
            for node_id, text, language in todo:
                vector = self._sparse.encode_document(text, language)
                with self._lock:
                    self._lexical[node_id] = vector

        self._pending = executor.submit(work)

    def write_ahead(self, nodes: list[BaseNode], executor: ThreadPoolExecutor) -> None:
        """Write these embedded nodes on `executor` (one worker: after their lexical vectors); `add` waits for it
        and skips them. Writing early is safe: a build collection is not served before it is complete, and in an
        incremental run chunks are written before records and deletes as `add` would (see `finish`)."""
        self._ahead.append(executor.submit(self._write, nodes))

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        for future in [*([self._pending] if self._pending else []), *self._ahead]:
            future.result()  # a failed early write fails the run here
        self._ahead = []
        self._write([n for n in nodes if n.node_id not in self._stored])
        return [n.node_id for n in nodes]

    def _write(self, nodes: Sequence[BaseNode]) -> None:
        points = []
        for n in nodes:
            sparse = self._lexical.get(n.node_id) or self._sparse.encode_document(
                n.get_content(), Language(text_language(n.metadata)))
            points.append(Point(n.node_id, dict(n.metadata), np.asarray(n.get_embedding(), dtype=np.float32), sparse))
        self._store.upsert(self._collection, points, batch_size=UPSERT_BATCH)
        with self._lock:
            self._stored.update(p.id for p in points)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        self._replaced.add(ref_doc_id)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The `similarity_top_k` chunks nearest `query.query_embedding` by cosine, as TextNodes with the chunk
        payload as metadata. Dense queries only: what LlamaIndex's retrievers ask by default. The service searches
        through kb.retrieval instead, which needs both modes' raw scores for its fusion and confidence."""
        restricted = query.filters is not None or query.node_ids is not None or query.doc_ids is not None
        if query.mode != VectorStoreQueryMode.DEFAULT or query.query_embedding is None or restricted:
            raise ValueError("KbVectorStore answers plain dense queries only (mode 'default', an embedding, no "
                             "filters or ids); search with kb.retrieval.Retriever for hybrid search")
        vector = np.asarray(query.query_embedding, dtype=np.float32)
        hits = self._store.search(self._collection, vector, None, limit=query.similarity_top_k).dense
        nodes = [TextNode(id_=h.id, text=str(h.payload.get("text", "")),
                          metadata={k: v for k, v in h.payload.items() if k != "text"}) for h in hits]
        return VectorStoreQueryResult(nodes=nodes, similarities=[h.score for h in hits], ids=[h.id for h in hits])

    def finish(self, articles: list[Article], chunk_ids: dict[str, list[str]], kept: dict[str, list[str]],
               previous: Callable[[str], list[str] | None]) -> int:
        """After the new chunks and their records: refresh the article fields of the chunks of `articles` (new or
        changed; `chunk_ids` by article) that stayed, and delete every other point of a replaced or vanished
        article, its record included when it vanished. Returns how many points were deleted.

        A replaced article's chunks are those its old record listed (`previous`, from the docstore). A filtered
        scroll instead is what local mode makes slow (6 s at 3,000 points: every page re-checks every point), so it
        is used only for legacy records, which do not list their chunks."""
        replaced = sorted(self._replaced)
        stored: set[str] = set()
        unlisted = []
        for article_id in replaced:
            chunks = previous(article_id)
            if chunks is None:
                unlisted.append(article_id)
            else:
                stored.update([article_record_id(article_id), *chunks])
        if unlisted:
            stored |= {pid for pid, _ in self._store.scroll_payloads(self._collection, [],
                                                                     where={"article_id": unlisted})}
        for article in articles:
            if kept.get(article.id):
                self._store.set_payload(self._collection, kept[article.id], article_fields(article))
        keep = {pid for a in articles for pid in chunk_ids[a.id]} | {article_record_id(a.id) for a in articles}
        stale = sorted(pid for pid in stored if pid not in keep)
        self._store.delete(self._collection, stale)
        self._replaced = set()
        return len(stale)


@contextlib.contextmanager
def tuned_for_indexing(switch_interval: float = 0.0005, young_threshold: int = 50_000) -> Iterator[None]:
    """The interpreter tuned for a build: a shorter GIL switch interval and fewer garbage collections.

    - Every model call releases the GIL and must take it back; when the writer thread holds it, Python's default
      5 ms switch interval makes the model wait up to 5 ms per text. Measured on a 1,000-article build (3,464
      texts, one call each): 46.3 s of embedding with the default, 44.3 s with 0.5 ms, the raw encoder's time.
    - A build allocates some 100,000 long-lived nodes, payloads and vectors, and every collection of the older
      generations walks them again, and everything else the process holds (a service: its whole heap). Objects
      that exist when the build starts are frozen out of collection, and the youngest generation is collected
      every 50,000 allocations instead of 700: garbage-collection time in the 1,000-article build of `kb bench`
      fell from 1.26 s to 0.17 s.

    Both settings are process-wide, so they are restored afterwards."""
    previous, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(min(previous, switch_interval))
    gc.freeze()
    gc.set_threshold(max(thresholds[0], young_threshold), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        sys.setswitchinterval(previous)


def ingestion_pipeline(parser: ArticleNodeParser, skip: SkipStoredChunks | None, embedding: EmbedChunks,
                       vector_store: KbVectorStore, docstore: BaseDocumentStore,
                       executor: ThreadPoolExecutor) -> IngestionPipeline:
    transformations: list[Any] = [parser, *([skip] if skip else []), StartLexical(vector_store, executor),
                                  embedding]
    embedding.send_to(lambda nodes: vector_store.write_ahead(nodes, executor))
    return IngestionPipeline(transformations=transformations, vector_store=vector_store, docstore=docstore,
                             docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE, disable_cache=True)
