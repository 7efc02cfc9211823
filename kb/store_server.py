"""The store on a Qdrant server or cluster (`KB_QDRANT_URL`, one or several node URLs).

What only a server has: failover between nodes and exact timeouts (kb.store_client), the read-only key the
service reads with, a build layout chosen so its lexical scores equal local mode's, and aliases that another
process may swap (so a resolved alias is trusted for ALIAS_TTL only). Searches are answered by Qdrant itself:
both modes in one batch request, each with its raw scores.

    >>> store = ServerStore(Settings(qdrant_url="http://q1:6333,http://q2:6333"), read_only=True)  # doctest: +SKIP
    >>> store.search("kb_articles", query_vector, None, limit=60).dense[0].score  # doctest: +SKIP
    0.912
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from kb.config import Settings
from kb.errors import StoreUnavailable
from kb.lexical import SparseVec
from kb.store_client import FailoverClient, split_urls
from kb.store_qdrant import DENSE, LEXICAL, Method, P, QdrantCollections, T, explain, sparse_to_qdrant
from kb.store_types import Hit, SearchResult

#: Seconds a server's alias is trusted before it is read again (another process may swap it; a failed read
#: forgets it at once).
ALIAS_TTL = 1.0


class ServerStore(QdrantCollections):
    """A Qdrant server or cluster behind the store protocol."""

    alias_ttl = ALIAS_TTL

    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        """`read_only`: use KB_QDRANT_READ_API_KEY where one is set (what the service reads with)."""
        assert settings.qdrant_url, "ServerStore needs KB_QDRANT_URL; kb.store.open_store picks the store"
        super().__init__(settings.qdrant_url, read_only=bool(read_only and settings.qdrant_read_api_key))
        self.settings = settings
        secret = settings.qdrant_read_api_key if self.read_only else settings.qdrant_api_key
        key = secret.get_secret_value() if secret else None
        try:
            self.nodes = FailoverClient(split_urls(settings.qdrant_url), key, settings.qdrant_timeout)
        except Exception as e:
            raise StoreUnavailable(explain(e, self.location)) from e

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection is not worth a crash
            self.nodes.close()

    def _run(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self.nodes.call(method, *args, **kwargs)

    def _writing(self, name: str) -> None:
        """Nothing to do: the server keeps its own indexes, and nothing here is derived from a collection."""

    def _layout(self) -> dict[str, Any]:
        """How a server lays out a build, chosen so its lexical scores equal local mode's (tests/server):

        - one shard unless told otherwise, even in a cluster (whose default is one per node): Qdrant computes IDF
          per shard, and 3 shards gave 9 of 307 golden messages another first article;
        - deleted points vacuumed at once: until a segment is vacuumed its deleted points still count in IDF, and
          by default that waits for 20% deleted and 1000 vectors, so in-place updates drifted for good;
        - two segments on any machine (the default is one per core): segments under 100 vectors are never
          vacuumed, and a knowledge base is small.
        """
        return {"shard_number": self.settings.qdrant_shards, "replication_factor": self.settings.qdrant_replicas,
                "optimizers_config": models.OptimizersConfigDiff(deleted_threshold=0.0001, vacuum_min_vector_number=100,
                                                                 default_segment_number=2)}

    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               fields: Sequence[str] | None = None) -> SearchResult:
        """Both modes in one round trip, each with its raw scores."""
        payload: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else True
        requests: list[models.QueryRequest] = []
        if dense is not None:
            requests.append(models.QueryRequest(query=dense.tolist(), using=DENSE, limit=limit, with_payload=payload))
        if sparse is not None and not sparse.is_empty:
            requests.append(models.QueryRequest(query=sparse_to_qdrant(sparse), using=LEXICAL, limit=limit,
                                                with_payload=payload))
        if not requests:
            return SearchResult()
        with self._forget_aliases_on_failure():
            answers = self._call(QdrantClient.query_batch_points, name, requests=requests)
        hits = [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in a.points] for a in answers]
        return SearchResult(dense=hits[0] if dense is not None else [],
                            lexical=hits[-1] if requests[-1].using == LEXICAL else [])
