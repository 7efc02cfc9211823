"""The read side of an index: is there one, was it built with our model, and the articles it serves.

Everything the service answers from comes from the collection behind the alias, articles included, so a
re-index that swaps the alias changes vectors and approved text in one step.

    >>> served = ServedIndex(store, settings)  # doctest: +SKIP
    >>> served.check_ready(embedder.model_id, embedder.dim).commit  # IndexNotReady when there is none  # doctest: +SKIP
    '3f2c1e0'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.article import Article
from kb.chunking import CHUNKER_VERSION, article_record_id
from kb.config import Settings
from kb.errors import IndexNotReady
from kb.lexical import version as LEXICAL_VERSION
from kb.store import Store

#: Bump when the collection layout changes in a way old builds cannot be read with (2: chunks name their
#: article's translations, which ranking reads; 3: those translations are refreshed with the other article fields
#: when only an article's front matter changes, so a build from before may serve stale ones: rebuilt once).
SCHEMA_VERSION = 3


def fingerprint(model_id: str, dim: int) -> dict[str, Any]:
    """What a build depends on: when any of it changes, an index must be rebuilt from scratch."""
    return {"schema": SCHEMA_VERSION, "model_id": model_id, "dim": dim, "lexical": LEXICAL_VERSION,
            "chunker": CHUNKER_VERSION}


@dataclass(frozen=True)
class IndexInfo:
    collection: str
    commit: str | None
    dirty: bool
    model_id: str
    articles: int
    chunks: int
    indexed_at: str
    metadata: dict[str, Any]


class ServedIndex:
    """Reads the collection the alias points to."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.alias = settings.collection

    def info(self) -> IndexInfo:
        name = self.store.resolve_alias(self.alias)
        if name is None:
            raise IndexNotReady(f"no index '{self.alias}' in {self.store.location}: run `kb index` first")
        meta = self.store.metadata(name)
        return IndexInfo(collection=name, commit=meta.get("commit"), dirty=bool(meta.get("dirty")),
                         model_id=str(meta.get("model_id", "?")), articles=int(meta.get("articles", 0)),
                         chunks=int(meta.get("chunks", 0)), indexed_at=str(meta.get("indexed_at", "")),
                         metadata=meta)

    def check_ready(self, model_id: str, dim: int) -> IndexInfo:
        """Raise IndexNotReady unless the served index exists and was built for this model and layout."""
        info = self.info()
        expected = fingerprint(model_id, dim)
        built = {k: info.metadata.get(k) for k in expected}
        if built != expected:
            diff = ", ".join(f"{k}: index has {built[k]!r}, service uses {v!r}" for k, v in expected.items()
                             if built[k] != v)
            raise IndexNotReady(f"index '{info.collection}' was built differently ({diff}): run `kb index --full`")
        return info

    def get_articles(self, ids: list[str]) -> dict[str, Article]:
        """The approved articles as indexed, by id (missing ids are left out).

        Not cached: one retrieve of a few points costs about a millisecond, and a cache would have to follow
        in-place incremental updates made by another process.
        """
        if not ids:
            return {}
        # The alias itself, not its cached resolution: Qdrant resolves it in the same call, so a re-index that
        # swaps it and drops the old build meanwhile cannot fail this read.
        records = self.store.get(self.alias, [article_record_id(i) for i in ids])
        articles = (Article.model_validate(p["article"]) for p in records.values())
        return {a.id: a for a in articles}

    def all_articles(self) -> list[Article]:
        return [Article.model_validate(p["article"]) for _, p in self.store.scroll_payloads(self.alias,
                                                                                            ["kind", "article"])
                if p.get("kind") == "article"]
