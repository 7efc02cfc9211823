"""The indexer's LlamaIndex vector store keeps its base's promise: besides writing a build, it answers LlamaIndex's
dense queries from it (the same chunks and cosines as the store's own search), and refuses, saying why, the
queries it cannot answer.

The hashing embedder keeps this fast; what it checks does not depend on the model."""

from __future__ import annotations

import numpy as np
import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from indexer.cli import run_index
from indexer.pipeline import KbVectorStore
from kb.lexical import SparseEncoder

pytestmark = pytest.mark.e2e


def test_the_vector_store_answers_dense_queries_like_the_store(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(embedder=hash_embedder)
    assert not run_index(engine, engine.settings.articles_dir).errors
    build = engine.store.resolve_alias(engine.settings.collection, fresh=True)
    vector_store = KbVectorStore.for_collection(engine.store, build, SparseEncoder())
    query = engine.embedder.embed(["suiker voedt kanker"], kind="query")[0]

    result = vector_store.query(VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=5))

    expected = engine.store.search(build, np.asarray(query), None, limit=5).dense
    assert result.ids == [h.id for h in expected]
    assert result.similarities == pytest.approx([h.score for h in expected])
    assert result.nodes is not None and len(result.nodes) == 5
    for node, hit in zip(result.nodes, expected, strict=True):
        assert isinstance(node, TextNode) and node.node_id == hit.id
        assert node.text and node.text == hit.payload["text"]
        assert node.metadata["article_id"] == hit.payload["article_id"] and "text" not in node.metadata


def test_the_vector_store_refuses_queries_it_cannot_answer(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(embedder=hash_embedder)
    assert not run_index(engine, engine.settings.articles_dir).errors
    build = engine.store.resolve_alias(engine.settings.collection, fresh=True)
    vector_store = KbVectorStore.for_collection(engine.store, build, SparseEncoder())
    query = [0.0] * engine.embedder.dim
    for asked in (VectorStoreQuery(query_str="suiker", similarity_top_k=3),
                  VectorStoreQuery(query_embedding=query, mode=VectorStoreQueryMode.HYBRID),
                  VectorStoreQuery(query_embedding=query, node_ids=["x"])):
        with pytest.raises(ValueError, match=r"kb\.retrieval\.Retriever"):
            vector_store.query(asked)
