"""A Qdrant server with an API key and a read-only API key: the service serves with the read-only key and cannot
write; re-indexing through the service uses the read-write key when it has one, and otherwise says to run
`kb index` against the server."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.config import Settings
from kb.engine import Engine
from kb.errors import StoreReadOnly, StoreUnavailable
from kb.store import Point
from kb.store_server import ServerStore
from kb.suggest import SuggestQuery
from tests.api.conftest import assert_error_shape, make_keys
from tests.conftest import ARTICLES
from tests.infra.qdrant import QdrantNode
from tests.infra.warm import warm_data_dir

pytestmark = pytest.mark.e2e

SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder eet geen fruit meer"


@pytest.fixture(scope="module")
def keyed(qdrant_bin: Path, tmp_path_factory: pytest.TempPathFactory, sample_engine: Any,
          memo_embedder: Any) -> Iterator[tuple[QdrantNode, Path]]:
    """A keyed Qdrant server holding the sample KB (indexed with the read-write key), and a warm data dir."""
    from indexer.run import run_index

    base = tmp_path_factory.mktemp("keyed")
    node = QdrantNode(qdrant_bin, base / "qdrant", api_key=f"rw-{secrets.token_hex(8)}",
                      read_only_api_key=f"ro-{secrets.token_hex(8)}")
    node.start()
    data = warm_data_dir(base / "data", sample_engine.settings.cache_path)
    with Engine.open(Settings(data_dir=data, articles_dir=ARTICLES, qdrant_url=node.url,
                              qdrant_api_key=node.api_key), embedder=memo_embedder) as engine:
        assert not run_index(engine, ARTICLES).errors
    yield node, data
    node.stop()


def _settings(node: QdrantNode, data: Path, *, write_key: bool) -> Settings:
    return Settings(data_dir=data, articles_dir=ARTICLES, qdrant_url=node.url,
                    qdrant_read_api_key=node.read_only_api_key, qdrant_api_key=node.api_key if write_key else None)


def test_the_service_serves_with_the_read_only_key_and_its_writes_are_refused(
        keyed: tuple[QdrantNode, Path], memo_embedder: Any) -> None:
    node, data = keyed
    with Engine.open(_settings(node, data, write_key=True), embedder=memo_embedder, read_only=True) as engine:
        assert engine.store.read_only  # both keys configured: the service still reads with the read-only one
        assert engine.suggester.suggest(SuggestQuery(message=SUGAR)).suggestions[0].article_id == \
            "suiker-voedt-kanker"
        served = engine.store.resolve_alias("kb_articles")
        assert served is not None
        writes = [lambda: engine.store.set_metadata(served, {"state": "broken"}),
                  lambda: engine.store.upsert(served, [Point(str(uuid.UUID(int=1)), {"kind": "x"})]),
                  lambda: engine.store.swap_alias("kb_articles", served),
                  lambda: engine.store.drop(served)]
        for write in writes:
            with pytest.raises(StoreReadOnly, match="read-only key \\(KB_QDRANT_READ_API_KEY\\)") as refused:
                write()
            assert "`kb index`" in refused.value.message
        assert engine.store.metadata(served)["state"] == "ready"
        assert engine.ready().collection == served


def test_a_store_without_a_key_is_refused_with_the_servers_reason(keyed: tuple[QdrantNode, Path],
                                                                  tmp_path: Path) -> None:
    node, _ = keyed
    store = ServerStore(Settings(data_dir=tmp_path, qdrant_url=node.url))
    with pytest.raises(StoreUnavailable, match="401"):
        store.resolve_alias("kb_articles")
    store.close()


def _client(settings: Settings) -> Any:
    """The app as `kb serve` builds it (its own engine, opened read-only by the app factory)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_reindexing_through_a_read_only_service_says_to_run_kb_index(keyed: tuple[QdrantNode, Path]) -> None:
    node, data = keyed
    keys = make_keys(data)
    with _client(_settings(node, data, write_key=False)) as client:
        assert client.post("/v1/suggest", json={"message": SUGAR},
                           headers={"Authorization": f"Bearer {keys['agent']}"}).status_code == 200
        refused = client.post("/v1/index", json={"full": True},
                              headers={"Authorization": f"Bearer {keys['editor']}"})
    error = assert_error_shape(refused, 409)
    assert error["code"] == "store_read_only"
    assert "run `kb index` against the server" in error["message"]


def test_reindexing_through_the_service_uses_its_write_key_when_it_has_one(keyed: tuple[QdrantNode, Path]) -> None:
    node, data = keyed
    keys = make_keys(data)
    before = node.rest("GET", "/aliases").json()["result"]["aliases"]
    with _client(_settings(node, data, write_key=True)) as client:
        done = client.post("/v1/index", json={"full": True}, headers={"Authorization": f"Bearer {keys['editor']}"})
        assert done.status_code == 200, done.text
        answer = client.post("/v1/suggest", json={"message": SUGAR},
                             headers={"Authorization": f"Bearer {keys['agent']}"})
    assert done.json()["full"] and done.json()["collection"] != before[0]["collection_name"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["suggestions"][0]["article_id"] == "suiker-voedt-kanker"
