"""The backup and restore calls of docs/operations.md, run against a real server: snapshot the served build,
download it, restore it under a new build name, point the alias at it, and serve it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kb.config import Settings
from kb.served import ServedIndex
from kb.store_server import ServerStore
from tests.infra.qdrant import QdrantNode
from tests.server.test_store_contract import DIM, _points

pytestmark = pytest.mark.e2e

ALIAS = "kb_snap"


def test_a_snapshot_restored_under_the_alias_serves_the_same_build(qdrant_server: QdrantNode,
                                                                   tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, qdrant_url=qdrant_server.url, collection=ALIAS)
    store = ServerStore(settings)
    build, restored = f"{ALIAS}__b1", f"{ALIAS}__restored"
    points = _points(count=40)
    store.create(build, DIM, {"model_id": "test", "commit": "3f2c1e0", "state": "ready"})
    store.upsert(build, points)
    store.swap_alias(ALIAS, build)

    made = qdrant_server.rest("POST", f"/collections/{build}/snapshots?wait=true").json()["result"]
    listed = qdrant_server.rest("GET", f"/collections/{build}/snapshots").json()["result"]
    assert made["name"] in {s["name"] for s in listed}
    snapshot = tmp_path / "kb.snapshot"
    snapshot.write_bytes(qdrant_server.rest("GET", f"/collections/{build}/snapshots/{made['name']}").content)

    with snapshot.open("rb") as f:
        uploaded = httpx.post(f"{qdrant_server.url}/collections/{restored}/snapshots/upload?priority=snapshot",
                              files={"snapshot": f}, timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    swapped = qdrant_server.rest("POST", "/collections/aliases", json={"actions": [
        {"delete_alias": {"alias_name": ALIAS}},
        {"create_alias": {"collection_name": restored, "alias_name": ALIAS}}]})
    assert swapped.status_code == 200, swapped.text

    fresh = ServerStore(settings)  # nothing cached from before the swap
    info = ServedIndex(fresh, settings).info()
    assert info.collection == restored and info.commit == "3f2c1e0"
    assert fresh.point_count(restored) == len(points)
    query = points[0].dense
    assert query is not None
    assert [h.id for h in fresh.search(ALIAS, query, None, limit=3).dense] == \
        [h.id for h in fresh.search(build, query, None, limit=3).dense]
    for name in (build, restored):
        fresh.drop(name)
    store.close()
    fresh.close()
