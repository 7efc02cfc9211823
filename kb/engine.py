"""Wiring: the parts a suggestion needs, built once from `Settings` and closed together.

    >>> with Engine.open(Settings()) as engine:  # doctest: +SKIP
    ...     engine.suggester.suggest(SuggestQuery(message="is suiker slecht bij kanker"))
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from kb.answerable import load_gate
from kb.confidence import load_calibration
from kb.config import Settings
from kb.drafting import Drafter
from kb.embedding import CachedEmbedder, Embedder, EmbeddingCache, RecentQueries, load_embedder
from kb.kind_replies import KindReplies
from kb.kind_templates import KindTemplates
from kb.kinds import KindClassifier, load_kind_model
from kb.learned import LearnedEvidence
from kb.lexical import SparseEncoder
from kb.near_repeat import load_near_repeat
from kb.outside import load_outside
from kb.rerank import load_reranker
from kb.retrieval import Retriever
from kb.served import IndexInfo, ServedIndex
from kb.store import Store, open_store
from kb.suggest import Suggester


@dataclass
class Engine:
    settings: Settings
    store: Store
    embedder: Embedder
    sparse: SparseEncoder
    drafter: Drafter
    served: ServedIndex
    retriever: Retriever
    suggester: Suggester
    #: The learned phrasings in force (empty until the service loads them: api/learned/).
    learned: LearnedEvidence

    @classmethod
    def open(cls, settings: Settings, *, embedder: Embedder | None = None, store: Store | None = None,
             read_only: bool = False) -> Engine:
        """Compile templates first (cheap, and a broken template must stop start-up), then model and store.

        `read_only`: the store reads with KB_QDRANT_READ_API_KEY where one is set (the service does)."""
        drafter = Drafter(settings.templates_dir, workers=settings.render_workers)
        try:
            kind_templates = (KindTemplates(settings.templates_dir, render_in=drafter.render_template)
                              if settings.kinds else None)
            # The kind classifier and the learned evidence (kb.learned) read the vector of the message's `text`,
            # the retriever that of its `query` (kb.normalize.Message): the same text, so embedded once, unless
            # the message names someone inside it (then two calls; docs/benchmarks.md, issue 24).
            embedder = RecentQueries(embedder or load_embedder(settings))
            gate = load_gate(embedder.model_id, settings.answerable_gate) if settings.gate else None
            # the editors' outside list (a broken one stops start-up, like a broken template); embedded only where
            # the gate reads it: a few dozen short texts, once
            outside = load_outside(settings.articles_dir, embedder) if gate is not None and gate.reads_outside \
                else None
            store = store or open_store(settings, read_only=read_only)
        except BaseException:
            drafter.close()  # its render processes
            raise
        sparse = SparseEncoder()
        served = ServedIndex(store, settings)
        retriever = Retriever(store, embedder, sparse, alias=settings.collection, mode=settings.search_mode,
                              fusion=settings.fusion, reranker=load_reranker(embedder.model_id))
        calibration = load_calibration(embedder.model_id, settings.calibration)
        kinds = None
        if kind_templates is not None:
            classifier = KindClassifier(embedder, load_kind_model(embedder.model_id, settings.kinds_model))
            kinds = KindReplies(classifier, kind_templates, drafter, moderation_drafts=settings.moderation_drafts)
        learned = LearnedEvidence(load_near_repeat(embedder.model_id, embedder.dim), embedder,
                                  short_words=settings.short_message_words)
        suggester = Suggester(settings, retriever, drafter, served, calibration=calibration, kinds=kinds,
                              evidence=learned, gate=gate, outside=outside)
        return cls(settings, store, embedder, sparse, drafter, served, retriever, suggester, learned)

    def ready(self) -> IndexInfo:
        """Raise IndexNotReady / StoreUnavailable unless suggestions can be served."""
        return self.served.check_ready(self.embedder.model_id, self.embedder.dim)

    def cached_embedder(self) -> CachedEmbedder:
        """The engine's model behind the on-disk embedding cache, for indexing in this process."""
        return CachedEmbedder(self.embedder, EmbeddingCache(self.settings.cache_path))

    def close(self) -> None:
        self.store.close()
        self.drafter.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
