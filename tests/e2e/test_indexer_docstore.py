"""The indexer's LlamaIndex docstore: unchanged articles are skipped without parsing or reading the collection, and
the docstore is never trusted over the collection (missing, foreign or left by a killed run: rebuilt from it).

The hashing embedder keeps these fast; what they check does not depend on the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import Indexer
from indexer.docstore import TOKEN_KEY, BuildDocstore
from indexer.git import Revision
from indexer.pipeline import KbVectorStore
from indexer.run import run_index
from kb.corpus import iter_article_files, load_corpus
from kb.engine import Engine
from kb.parsing import parse_bytes

pytestmark = pytest.mark.e2e
SUGAR = "suiker-voedt-kanker"


def _edit(articles: Path, name: str = f"nl/{SUGAR}.md") -> None:
    path = articles / name
    path.write_text(path.read_text(encoding="utf-8").replace("## Achtergrond\n", "## Achtergrond\n\nNieuw.\n\n", 1),
                    encoding="utf-8")


def _docstore(engine: Engine) -> BuildDocstore:
    served = engine.store.resolve_alias(engine.settings.collection, fresh=True)
    assert served is not None
    return BuildDocstore(engine.settings, engine.store, served)


def _point_ids(engine: Engine) -> set[str]:
    return {pid for pid, _ in engine.store.scroll_payloads(engine.settings.collection, ["kind"])}


def test_a_rerun_on_unchanged_files_parses_and_writes_nothing(make_engine, hash_embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    first = run_index(engine, engine.settings.articles_dir)
    assert first.full and first.upserted == first.chunks + first.articles

    parsed: list[str] = []
    monkeypatch.setattr("indexer.docstore.parse_bytes", lambda raw, path: parsed.append(path) or parse_bytes(raw, path))
    monkeypatch.setattr(engine.store, "scroll_payloads", lambda *a, **k: pytest.fail("collection read"))
    second = run_index(engine, engine.settings.articles_dir)
    assert (second.full, second.upserted, second.deleted, second.embedded) == (False, 0, 0, 0)
    assert second.articles == first.articles and second.chunks == first.chunks
    unserved = {a.path for a in load_corpus(engine.settings.articles_dir).articles.values() if not a.is_served}
    assert unserved and set(parsed) == unserved  # drafts and retired articles are not in the index: parsed again


def test_parse_warnings_are_reported_on_every_run(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    path = articles / "nl" / f"{SUGAR}.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n## Extra\n\nnog iets\n", encoding="utf-8")
    warnings = [[str(p) for p in run_index(engine, articles).problems if "unknown section" in p.message]
                for _ in range(2)]
    assert warnings[0] == warnings[1] and len(warnings[0]) == 1 and str(path) in warnings[0][0]


def test_a_missing_docstore_is_rebuilt_from_the_collection(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    before = _point_ids(engine)
    _docstore(engine).remove()  # another machine, a fresh checkout
    _edit(articles)

    report = run_index(engine, articles)
    assert not report.full and report.embedded == 1 and report.deleted == 1
    assert len(_point_ids(engine) - before) == 1
    again = run_index(engine, articles)  # the rebuilt docstore was persisted and now matches
    assert (again.upserted, again.deleted, again.embedded) == (0, 0, 0)


def test_a_docstore_that_does_not_match_the_collection_is_not_trusted(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    stale = _docstore(engine)
    saved = stale.path.read_bytes(), stale.token_path.read_text()
    _edit(articles)
    run_index(engine, articles)  # the collection moves on (say, indexed from another machine) ...
    stale.path.write_bytes(saved[0])  # ... and this machine still has the old docstore and token
    stale.token_path.write_text(saved[1])

    (articles / "nl" / f"{SUGAR}.md").unlink()
    report = run_index(engine, articles)
    assert report.deleted > 1
    assert SUGAR not in {a.id for a in engine.served.all_articles()}
    assert not [p for p, payload in engine.store.scroll_payloads(engine.settings.collection, ["article_id"])
                if payload.get("article_id") == SUGAR]


def test_a_run_killed_between_chunks_and_records_leaves_no_orphans(make_engine, hash_embedder, monkeypatch,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    before = _point_ids(engine)
    new = articles / "nl" / "kopie.md"
    new.write_text((articles / "nl" / f"{SUGAR}.md").read_text(encoding="utf-8").replace(
        f"id: {SUGAR}", "id: kopie-artikel", 1), encoding="utf-8")

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed after the chunks were written")

    monkeypatch.setattr(KbVectorStore, "finish", die)
    with pytest.raises(KeyboardInterrupt):
        Indexer(engine.settings, engine.store, engine.cached_embedder()).run(iter_article_files(articles),
                                                                            Revision(None, True))
    monkeypatch.undo()
    assert engine.store.metadata(engine.store.resolve_alias(engine.settings.collection) or "")[TOKEN_KEY] == "writing"
    assert len(_point_ids(engine) - before) > 1  # the new article's chunks, without its record

    new.unlink()  # the article goes away before the next run: its chunks must not stay behind
    report = run_index(engine, articles)
    assert _point_ids(engine) == before and report.deleted > 1


def test_chunks_are_written_on_the_writer_thread_while_the_model_embeds(make_engine, hash_embedder,  # type: ignore[no-untyped-def]
                                                                       monkeypatch) -> None:
    import threading

    from indexer import pipeline

    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    monkeypatch.setattr(pipeline, "EMBED_SLICE", 64)  # several slices on the sample KB
    writes: list[tuple[str, int]] = []
    write = KbVectorStore._write

    def recorded(self, nodes):  # type: ignore[no-untyped-def]
        writes.append((threading.current_thread().name, len(nodes)))
        write(self, nodes)

    monkeypatch.setattr(KbVectorStore, "_write", recorded)
    report = run_index(engine, engine.settings.articles_dir)
    early = [n for name, n in writes if name.startswith("kb-index-writer")]
    assert len(early) > 2 and sum(early) == report.chunks  # every chunk, slice by slice, before the final add
    assert [n for name, n in writes if not name.startswith("kb-index-writer")] == [0]


def test_a_failed_early_write_fails_a_rebuild_and_the_old_index_keeps_serving(make_engine, hash_embedder,  # type: ignore[no-untyped-def]
                                                                              monkeypatch) -> None:
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    run_index(engine, engine.settings.articles_dir)
    served, before = engine.store.resolve_alias(engine.settings.collection, fresh=True), _point_ids(engine)

    def broken(self, nodes):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(KbVectorStore, "_write", broken)
    with pytest.raises(OSError, match="disk full"):
        run_index(engine, engine.settings.articles_dir, full=True)
    monkeypatch.undo()
    assert engine.store.resolve_alias(engine.settings.collection, fresh=True) == served
    assert _point_ids(engine) == before
