"""One contract for the `Store` protocol, run against both implementations: `LocalStore` (qdrant-client's local
mode) and `ServerStore` on a real Qdrant 1.16 server (haystack's document-store test suite and qdrant-client's
congruence tests are the models).

Each test states what a store operation must do and checks it on every implementation (the `store` fixture);
the congruence test runs the same random queries and writes on both and requires the same answers. Local mode
scores queries from its in-memory mirror (kb.mirror / kb.lexical_index) and the server from its own indexes with
the IDF modifier, so the lexical checks are where the two could drift apart. Without the Qdrant binary
(scripts/fetch-qdrant.sh) the server half skips, saying why.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb.config import Settings
from kb.errors import StoreUnavailable
from kb.lexical import SparseVec
from kb.store import Hit, Point, SearchResult, Store, open_store
from kb.store_local import LocalStore
from tests.infra.qdrant import QdrantNode

pytestmark = pytest.mark.e2e

DIM = 8
VOCABULARY = 40


def _points(seed: int = 7, count: int = 60) -> list[Point]:
    """Chunks with random dense and sparse vectors, plus two vector-less article records (as the indexer
    writes them: they must count as points but never as lexical documents)."""
    rng = np.random.default_rng(seed)
    points = []
    for i in range(count):
        dense = rng.normal(size=DIM).astype(np.float32)
        terms = sorted(rng.choice(VOCABULARY, size=int(rng.integers(1, 6)), replace=False).tolist())
        sparse = SparseVec(tuple(terms), tuple(round(float(w), 4) for w in rng.uniform(0.2, 2.0, len(terms))))
        points.append(Point(str(uuid.UUID(int=i + 1)), {"article_id": f"a{i % 12}", "kind": "chunk", "n": i},
                            dense=dense / np.linalg.norm(dense), sparse=sparse))
    for j in range(2):
        points.append(Point(str(uuid.UUID(int=10_000 + j)), {"article_id": f"a{j}", "kind": "article"}))
    return points


def _queries(seed: int, count: int) -> list[tuple[np.ndarray, SparseVec]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        dense = rng.normal(size=DIM).astype(np.float32)
        terms = sorted(rng.choice(VOCABULARY, size=int(rng.integers(1, 4)), replace=False).tolist())
        out.append((dense / np.linalg.norm(dense), SparseVec(tuple(terms), (1.0,) * len(terms))))
    return out


def assert_same_ranking(mine: list[Hit], theirs: list[Hit], context: object = "") -> None:
    """Same scores in the same order, and every hit scored above the last one present on both sides with the
    same score. Tied hits may come in either order, and ties cut off by the limit may differ."""
    assert [h.score for h in mine] == pytest.approx([h.score for h in theirs], rel=1e-5, abs=1e-6), context
    if not mine:
        return
    cut = mine[-1].score + 1e-5
    for a, b in ((mine, theirs), (theirs, mine)):
        scores = {h.id: h.score for h in b}
        for hit in a:
            if hit.score > cut:
                assert hit.id in scores and scores[hit.id] == pytest.approx(hit.score, rel=1e-5), (context, hit)


@pytest.fixture(params=["local", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each implementation in turn, opened the way the service opens it."""
    if request.param == "local":
        s = open_store(Settings(data_dir=tmp_path / "data"))
    else:
        node: QdrantNode = request.getfixturevalue("qdrant_server")  # skips, saying why, without the binary
        s = open_store(Settings(data_dir=tmp_path / "data", qdrant_url=node.url))
    yield s
    for name in s.collections(prefix="t_"):
        s.drop(name)
    s.close()


@pytest.fixture()
def name() -> str:
    """A collection name of this test's own: the server is shared by the whole session."""
    return f"t_{uuid.uuid4().hex[:12]}"


def _filled(store: Store, name: str) -> list[Point]:
    points = _points()
    store.create(name, DIM, {"state": "building", "model_id": "test"})
    store.upsert(name, points, batch_size=16)  # several batches
    return points


def test_a_new_collection_exists_is_listed_and_keeps_its_metadata(store: Store, name: str) -> None:
    assert not store.exists(name)
    store.create(name, DIM, {"state": "building", "model_id": "m", "chunks": 0})
    assert store.exists(name)
    assert name in store.collections(prefix="t_")
    assert store.metadata(name) == {"state": "building", "model_id": "m", "chunks": 0}
    store.set_metadata(name, {"state": "ready", "commit": "abc123"})
    # Updating metadata merges keys, on both backends (the indexer always writes every key it relies on).
    assert store.metadata(name) == {"state": "ready", "model_id": "m", "chunks": 0, "commit": "abc123"}
    assert store.point_count(name) == 0


def test_upserted_points_are_counted_fetched_and_scrolled(store: Store, name: str) -> None:
    points = _filled(store, name)
    assert store.point_count(name) == len(points)
    wanted = [points[3].id, points[-1].id, str(uuid.UUID(int=999_999))]
    got = store.get(name, wanted)
    assert set(got) == {points[3].id, points[-1].id}
    assert got[points[3].id] == points[3].payload
    scrolled = dict(store.scroll_payloads(name, ["article_id"]))
    assert set(scrolled) == {p.id for p in points}
    assert all(set(payload) == {"article_id"} for payload in scrolled.values())

    store.upsert(name, [Point(points[3].id, {"article_id": "changed"}, dense=points[3].dense)])
    assert store.point_count(name) == len(points)  # same id: replaced, not added
    assert store.get(name, [points[3].id])[points[3].id] == {"article_id": "changed"}


def test_dense_search_ranks_by_cosine(store: Store, name: str) -> None:
    points = _filled(store, name)
    query, _ = _queries(1, 1)[0]
    result = store.search(name, query, None, limit=10, fields=["article_id"])
    expected = sorted(((float(np.dot(p.dense, query)), p.id) for p in points if p.dense is not None), reverse=True)
    assert [h.id for h in result.dense] == [pid for _, pid in expected[:10]]
    assert [h.score for h in result.dense] == pytest.approx([s for s, _ in expected[:10]], abs=1e-5)
    assert result.lexical == [] and all(set(h.payload) == {"article_id"} for h in result.dense)


def _bm25(points: list[Point], query: SparseVec) -> list[tuple[float, str]]:
    """Qdrant's IDF modifier by hand: idf = ln((N - df + 0.5) / (df + 0.5) + 1), N = points with the vector."""
    docs = [p for p in points if p.sparse is not None]
    df = {t: sum(t in p.sparse.indices for p in docs if p.sparse) for t in query.indices}
    scores = []
    for p in docs:
        assert p.sparse is not None
        weights = dict(zip(p.sparse.indices, p.sparse.values, strict=True))
        score = sum(q * math.log((len(docs) - df[t] + 0.5) / (df[t] + 0.5) + 1) * weights[t]
                    for t, q in zip(query.indices, query.values, strict=True) if t in weights)
        if score > 0:
            scores.append((score, p.id))
    return sorted(scores, key=lambda s: (-s[0], s[1]))


def test_lexical_search_scores_are_bm25_with_qdrants_idf(store: Store, name: str) -> None:
    points = _filled(store, name)
    for _, query in _queries(2, 8):
        result = store.search(name, None, query, limit=10, fields=["article_id"])
        expected = _bm25(points, query)[:10]
        assert [h.score for h in result.lexical] == pytest.approx([s for s, _ in expected], rel=1e-5)
        assert {h.id for h in result.lexical} == {pid for _, pid in expected}


def test_deleted_points_are_gone_from_counts_fetches_and_every_search(store: Store, name: str) -> None:
    points = _filled(store, name)
    dense, sparse = _queries(4, 1)[0]
    before = store.search(name, dense, sparse, limit=10)
    doomed = [before.dense[0].id, *(h.id for h in before.lexical[:2])]
    store.delete(name, doomed)
    assert store.point_count(name) == len(points) - len(set(doomed))
    assert store.get(name, doomed) == {}
    after = store.search(name, dense, sparse, limit=10)
    assert not {h.id for h in [*after.dense, *after.lexical]} & set(doomed)


def test_deleted_points_stop_counting_in_idf(store: Store, name: str) -> None:
    """An incremental index deletes changed chunks in place; lexical scores must then equal a fresh build's.
    Local mode rebuilds its mirror at once; a server forgets deleted points when it vacuums the segment, which
    its build layout (ServerStore._layout) makes happen right away instead of at 20% deleted."""
    points = _points(count=300)  # vacuuming needs segments of 100 vectors or more
    store.create(name, DIM, {})
    store.upsert(name, points, batch_size=100)
    _, sparse = _queries(4, 1)[0]
    doomed = [h.id for h in store.search(name, None, sparse, limit=10).lexical[:3]]
    store.delete(name, doomed)
    expected = [s for s, _ in _bm25([p for p in points if p.id not in doomed], sparse)[:10]]
    started = time.monotonic()
    while True:
        scores = [h.score for h in store.search(name, None, sparse, limit=10).lexical]
        if scores == pytest.approx(expected, rel=1e-5) or time.monotonic() - started > 20:
            break
        time.sleep(0.1)
    print(f"\nIDF exact again {time.monotonic() - started:.2f} s after the delete")
    assert scores == pytest.approx(expected, rel=1e-5)


def test_the_alias_swaps_atomically_and_old_builds_can_be_dropped(store: Store, name: str) -> None:
    alias = f"{name}_alias"
    old, new = f"{name}__old", f"{name}__new"
    for collection, meta in ((old, "old"), (new, "new")):
        store.create(collection, DIM, {"build": meta})
        store.upsert(collection, _points(seed=1 if meta == "old" else 2, count=10))
    assert store.resolve_alias(alias) is None
    store.swap_alias(alias, old)
    assert store.resolve_alias(alias) == old
    assert store.metadata(store.resolve_alias(alias) or "") == {"build": "old"}
    store.swap_alias(alias, new)
    assert store.resolve_alias(alias) == new
    store.drop(old)
    assert not store.exists(old) and store.resolve_alias(alias) == new
    assert store.search(alias, _queries(5, 1)[0][0], None, limit=3).dense


def test_readers_never_fail_while_the_alias_is_swapped(store: Store, name: str) -> None:
    """Zero downtime: searches through the alias keep answering from one build or the other during swaps."""
    alias, builds = f"{name}_alias", [f"{name}__a", f"{name}__b"]
    for build in builds:
        store.create(build, DIM, {})
        store.upsert(build, _points(count=20))
    store.swap_alias(alias, builds[0])
    query = _queries(6, 1)[0][0]
    failures: list[str] = []
    answers = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal answers
        while not stop.is_set():
            try:
                result: SearchResult = store.search(alias, query, None, limit=3)
                assert len(result.dense) == 3
                answers += 1
            except Exception as e:  # any failure is a broken moment for an agent
                failures.append(repr(e))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    for i in range(20):
        store.swap_alias(alias, builds[(i + 1) % 2])
    stop.set()
    for t in readers:
        t.join(10)
    assert failures == [] and answers > 0


def test_a_read_holding_the_alias_of_a_build_just_dropped_is_answered_from_the_new_build(store: Store,
                                                                                         name: str) -> None:
    """A re-index swaps the alias and drops the old build; a request that resolved the alias a moment before (an
    agent's suggestion in flight) must be answered from the new build, not fail with "collection not found"."""
    alias, old, new = f"{name}_alias", f"{name}__old", f"{name}__new"
    for collection, seed in ((old, 1), (new, 2)):
        store.create(collection, DIM, {})
        store.upsert(collection, _points(seed=seed, count=10))
    store.swap_alias(alias, old)
    query = _queries(8, 1)[0][0]
    store.search(alias, query, None, limit=3)  # resolved and cached, as a reader thread holds it
    store.swap_alias(alias, new)
    store.drop(old)
    # The interleaving a reader thread sees: its resolution was read before the swap and used after the drop.
    store._aliases, store._aliases_at = {alias: old}, time.monotonic()  # type: ignore[attr-defined]

    expected = store.search(new, query, None, limit=3).dense
    store._aliases, store._aliases_at = {alias: old}, time.monotonic()  # type: ignore[attr-defined]
    assert [h.id for h in store.search(alias, query, None, limit=3).dense] == [h.id for h in expected]
    store._aliases, store._aliases_at = {alias: old}, time.monotonic()  # type: ignore[attr-defined]
    first = _points(seed=2, count=10)[0]
    assert store.get(alias, [first.id])[first.id]["n"] == first.payload["n"]


def test_a_scroll_through_an_alias_swapped_between_its_pages_lists_the_new_build_whole(store: Store, name: str,
                                                                                       monkeypatch: Any) -> None:
    """Listing every article pages through the alias 1,024 points at a time; a re-index that swaps the alias and
    drops the old build between two pages must not join the old build's first page to the new build's rest."""
    alias, old, new = f"{name}_alias", f"{name}__old", f"{name}__new"
    for collection, count in ((old, 1100), (new, 1300)):
        store.create(collection, DIM, {})
        points = [Point(p.id, {**p.payload, "build": collection}, p.dense, p.sparse)
                  for p in _points(seed=3, count=count)]
        store.upsert(collection, points, batch_size=500)
    store.swap_alias(alias, old)
    call, pages = store._call, []  # type: ignore[attr-defined]

    def swapping_after_the_first_page(method: Any, *args: Any, **kwargs: Any) -> Any:
        answer = call(method, *args, **kwargs)
        if getattr(method, "__name__", "") == "scroll":
            pages.append(args[0])
            if len(pages) == 1:
                store.swap_alias(alias, new)
                store.drop(old)
        return answer

    monkeypatch.setattr(store, "_call", swapping_after_the_first_page)
    listed = list(store.scroll_payloads(alias, ["build"]))
    assert len(pages) > 2  # the first page, then the read again from the start
    assert {p["build"] for _, p in listed} == {new} and len(listed) == len({i for i, _ in listed}) == 1302


def test_a_missing_collection_is_a_store_error_not_a_crash(store: Store, name: str) -> None:
    with pytest.raises(StoreUnavailable, match="Qdrant at"):
        store.point_count(name)
    with pytest.raises(StoreUnavailable):
        store.search(name, _queries(7, 1)[0][0], None, limit=3)


def test_local_mode_and_the_server_answer_the_same_queries_the_same(qdrant_server: QdrantNode,
                                                                   tmp_path: Path, name: str) -> None:
    """Congruence: identical data, 30 random queries in each mode, identical ids and scores; and again after the
    same points were added and deleted in place (what an incremental index does; 300 points, as the server only
    vacuums segments of 100 vectors or more, see `test_deleted_points_stop_counting_in_idf`)."""
    stores = [open_store(Settings(data_dir=tmp_path / "local")),
              open_store(Settings(data_dir=tmp_path / "server", qdrant_url=qdrant_server.url))]
    try:
        for s in stores:
            s.create(name, DIM, {})
            s.upsert(name, _points(count=300), batch_size=100)
        _assert_congruent(stores, name, seed=8)
        extra = [Point(str(uuid.UUID(int=5_000 + i)), p.payload, p.dense, p.sparse)
                 for i, p in enumerate(_points(seed=9, count=20))]
        for s in stores:
            s.upsert(name, extra)
            s.delete(name, [str(uuid.UUID(int=i)) for i in range(1, 61, 4)])
        _assert_congruent(stores, name, seed=10, wait=20.0)  # the server vacuums deleted points within moments
    finally:
        for s in stores:
            s.drop(name)
            s.close()


def _assert_congruent(stores: list[Store], name: str, seed: int, wait: float = 0.0) -> None:
    started = time.monotonic()
    while True:
        try:
            for i, (dense, sparse) in enumerate(_queries(seed, 30)):
                d, sp = [(dense, None), (None, sparse), (dense, sparse)][i % 3]
                local, server = (s.search(name, d, sp, limit=10) for s in stores)
                for mine, theirs in ((local.dense, server.dense), (local.lexical, server.lexical)):
                    assert_same_ranking(mine, theirs, context=(i, d is not None, sp is not None))
            return
        except AssertionError:
            if time.monotonic() - started > wait:
                raise
            time.sleep(0.2)


def test_local_collections_are_written_in_wal_mode(tmp_path: Path, name: str) -> None:
    """Pins LocalStore._fast_writes, which reaches into qdrant-client's private local-mode client: WAL mode is
    persistent in the collection's SQLite file, so it is visible from outside. If qdrant-client changes shape,
    this fails (and local writes go from 0.5 ms to 11 ms a point) instead of going slow unnoticed."""
    store = LocalStore(Settings(data_dir=tmp_path / "data"))
    try:
        store.create(name, DIM, {})
        store.upsert(name, _points(count=3))
    finally:
        store.close()
    files = list((tmp_path / "data" / "qdrant").rglob("storage.sqlite"))
    assert len(files) == 1
    with sqlite3.connect(files[0]) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
