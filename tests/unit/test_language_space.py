"""Language spaces measured in the workbench (issue 24, point 2): a named space replaces the shipped axis for the
articles (by their language) and the message (by its language) alike, so a row measures that change only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from eval.language_space import Mapped, Shift, Subspace, language_basis, procrustes
from eval.workbench import Variant, VectorTable, Workbench, dataset_corpus
from kb.embedding import CachedEmbedder, EmbeddingCache, HashEmbedder
from tests.unit.test_dataset_subset import tiny_set  # noqa: F401  (a fixture)

pytestmark = pytest.mark.unit


class Recording:
    """A space that records which languages it was applied to and changes nothing."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.kinds: list[str] = []

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        self.seen += list(languages)
        self.kinds += list(kinds)
        return np.asarray(vectors, np.float32)


def test_the_language_basis_starts_with_the_mean_difference_and_is_orthonormal() -> None:
    rng = np.random.default_rng(0)
    diff = rng.normal(size=(200, 16)) + np.eye(16)[3] * 5
    basis = language_basis(diff, 4)
    assert np.allclose(basis @ basis.T, np.eye(4), atol=1e-9)
    assert abs(basis[0, 3]) > 0.95
    out = Subspace(basis).apply(rng.normal(size=(5, 16)), ["nl"] * 5)
    assert np.allclose(out @ basis.T, 0, atol=1e-6) and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-6)


def test_procrustes_recovers_a_rotation_and_maps_english_only() -> None:
    rng = np.random.default_rng(1)
    rotation = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    english = rng.normal(size=(50, 8))
    assert np.allclose(procrustes(english, english @ rotation), rotation, atol=1e-9)
    v = np.eye(8)[:2]
    out = Mapped(rotation).apply(v, ["nl", "en"])
    assert np.allclose(out[0], v[0]) and np.allclose(out[1], v[1] @ rotation, atol=1e-6)


def test_a_shift_moves_the_two_languages_towards_each_other() -> None:
    nl, en = np.array([[1.0, 0.2]]), np.array([[0.2, 1.0]])
    shifted = Shift((nl - en)[0] / 2).apply(np.vstack([nl, en]), ["nl", "en"])
    assert float(shifted[0] @ shifted[1]) > 0.99


def test_a_named_space_is_applied_to_articles_by_their_language_and_to_the_message_by_its_own(
        tiny_set: Path, tmp_path: Path) -> None:  # noqa: F811
    corpus = dataset_corpus(tiny_set)
    raw = HashEmbedder()
    table = VectorTable(CachedEmbedder(raw, EmbeddingCache(tmp_path / "cache.sqlite")), log=lambda _: None)
    bench = Workbench(corpus, table, raw, axis=None)
    space = Recording()
    bench.spaces["recording"] = space
    bench.rank(Variant("space", space="recording"), corpus.queries[0])
    chunks = sum(len(c) for c in bench.chunks.values())
    assert len(space.seen) >= chunks + 1
    assert set(space.seen[:chunks]) == {str(a.meta.language) for a in corpus.articles}
    assert space.seen[-1] == str(corpus.queries[0].language)
    assert set(space.kinds[:chunks]) == {"query", "passage"} and space.kinds[-1] == "query"
    space.seen.clear()
    bench.rank(Variant("axis off", space="recording", axis=False), corpus.queries[0])
    assert space.seen == []  # without the axis step, no change of space either


def test_a_name_given_a_new_space_builds_the_articles_anew(tiny_set: Path, tmp_path: Path) -> None:  # noqa: F811
    corpus = dataset_corpus(tiny_set)
    raw = HashEmbedder()
    table = VectorTable(CachedEmbedder(raw, EmbeddingCache(tmp_path / "cache.sqlite")), log=lambda _: None)
    bench = Workbench(corpus, table, raw, axis=None)
    first, second = Recording(), Recording()
    bench.spaces["fold"] = first
    bench.rank(Variant("fold 0", space="fold"), corpus.queries[0])
    bench.spaces["fold"] = second
    bench.rank(Variant("fold 1", space="fold"), corpus.queries[0])
    chunks = sum(len(c) for c in bench.chunks.values())
    assert len(second.seen) >= chunks + 1  # the articles went through the new space, not only the message


def test_a_space_by_kind_treats_queries_and_passages_apart() -> None:
    from eval.language_space import ByKind

    v = np.array([[0.6, 0.8], [0.6, 0.8]])
    out = ByKind(Subspace(np.array([[1.0, 0.0]])), Subspace(np.array([[0.0, 1.0]]))).apply(v, ["nl", "nl"],
                                                                                          ["query", "passage"])
    assert out.round(3).tolist() == [[0.0, 1.0], [1.0, 0.0]]
