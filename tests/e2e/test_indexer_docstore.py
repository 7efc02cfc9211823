"""The indexer's LlamaIndex docstore is the build's article records: unchanged articles are skipped without parsing
them (one read of the records is all), nothing is kept beside the collection, and a killed run leaves nothing the
next run does not clean up.

The hashing embedder keeps these fast; what they check does not depend on the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import Indexer
from indexer.git import Revision
from indexer.pipeline import KbVectorStore
from indexer.records import WRITING_KEY
from indexer.run import run_index
from kb.chunking import article_record_id
from kb.corpus import iter_article_files, load_corpus
from kb.engine import Engine
from kb.parsing import parse_bytes

pytestmark = pytest.mark.e2e
SUGAR = "suiker-voedt-kanker"


def _edit(articles: Path, name: str = f"nl/{SUGAR}.md") -> None:
    path = articles / name
    path.write_text(path.read_text(encoding="utf-8").replace("## Achtergrond\n", "## Achtergrond\n\nNieuw.\n\n", 1),
                    encoding="utf-8")


def _served(engine: Engine) -> str:
    served = engine.store.resolve_alias(engine.settings.collection, fresh=True)
    assert served is not None
    return served


def _point_ids(engine: Engine) -> set[str]:
    return {pid for pid, _ in engine.store.scroll_payloads(engine.settings.collection, ["kind"])}


def _unlisted(engine: Engine) -> set[str]:
    """Chunks that no article record lists (what a killed run may leave)."""
    points = dict(engine.store.scroll_payloads(engine.settings.collection, ["kind", "chunk_ids"]))
    listed = {c for p in points.values() if p.get("kind") == "article" for c in p["chunk_ids"]}
    return {pid for pid, p in points.items() if p.get("kind") != "article" and pid not in listed}


def test_a_rerun_on_unchanged_files_parses_and_writes_nothing(make_engine, hash_embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    first = run_index(engine, engine.settings.articles_dir)
    assert first.full and first.upserted == first.chunks + first.articles

    parsed: list[str] = []
    reads: list[object] = []
    scroll = engine.store.scroll_payloads
    monkeypatch.setattr("indexer.records.parse_bytes", lambda raw, path: parsed.append(path) or parse_bytes(raw, path))
    monkeypatch.setattr(engine.store, "scroll_payloads",
                        lambda *a, **k: reads.append(k.get("where")) or scroll(*a, **k))
    second = run_index(engine, engine.settings.articles_dir)
    assert (second.full, second.upserted, second.deleted, second.embedded) == (False, 0, 0, 0)
    assert second.articles == first.articles and second.chunks == first.chunks
    unserved = {a.path for a in load_corpus(engine.settings.articles_dir).articles.values() if not a.is_served}
    assert unserved and set(parsed) == unserved  # drafts and retired articles are not in the index: parsed again
    assert reads == [{"kind": "article"}]  # the records, once; no chunk is read


def test_parse_warnings_are_reported_on_every_run(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    path = articles / "nl" / f"{SUGAR}.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n## Extra\n\nnog iets\n", encoding="utf-8")
    warnings = [[str(p) for p in run_index(engine, articles).problems if "unknown section" in p.message]
                for _ in range(2)]
    assert warnings[0] == warnings[1] and len(warnings[0]) == 1 and str(path) in warnings[0][0]


def test_the_collection_alone_says_what_is_indexed(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    legacy = engine.settings.data_dir / "docstores" / "kb_articles__old.json"  # what earlier versions kept
    legacy.parent.mkdir(parents=True)
    legacy.write_text("{}")
    run_index(engine, articles)
    assert not legacy.parent.exists()  # nothing is kept beside the collection
    record = engine.store.get(_served(engine), [article_record_id(SUGAR)])[article_record_id(SUGAR)]
    assert record["doc_hash"] and record["chunk_ids"] and record["warnings"] == []

    # Another machine indexed other content for this article into the shared collection: its record says so, and
    # this run believes the record (the article goes through again; its chunks are the same, so none is embedded).
    engine.store.set_payload(_served(engine), [article_record_id(SUGAR)], {"doc_hash": "from-another-machine"})
    report = run_index(engine, articles)
    assert (report.upserted, report.embedded, report.deleted) == (1, 0, 0)
    again = run_index(engine, articles)
    assert (again.upserted, again.deleted, again.embedded) == (0, 0, 0)


def test_a_record_written_by_an_earlier_version_is_completed_once_without_embedding(  # type: ignore[no-untyped-def]
        make_engine, hash_embedder) -> None:
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    record_id = article_record_id(SUGAR)
    engine.store.set_payload(_served(engine), [record_id], {"warnings": None})  # as records were before this version

    report = run_index(engine, articles)
    assert (report.upserted, report.embedded, report.deleted) == (1, 0, 0)
    assert engine.store.get(_served(engine), [record_id])[record_id]["warnings"] == []
    again = run_index(engine, articles)  # complete now: skipped, and answered from the parse cache again
    assert (again.upserted, again.embedded, again.deleted) == (0, 0, 0)


def test_an_edit_replaces_exactly_the_chunks_its_record_listed(make_engine, hash_embedder) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    before = _point_ids(engine)
    _edit(articles)

    report = run_index(engine, articles)
    assert not report.full and report.embedded == 1 and report.deleted == 1
    assert len(_point_ids(engine) - before) == 1 and not _unlisted(engine)
    assert (articles / "nl" / f"{SUGAR}.md").unlink() is None
    gone = run_index(engine, articles)
    assert gone.deleted > 1 and SUGAR not in {a.id for a in engine.served.all_articles()}
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
    assert engine.store.metadata(_served(engine))[WRITING_KEY] is True
    assert len(_point_ids(engine) - before) > 1  # the new article's chunks, without its record

    new.unlink()  # the article goes away before the next run: its chunks must not stay behind
    report = run_index(engine, articles)
    assert _point_ids(engine) == before and report.deleted > 1
    assert engine.store.metadata(_served(engine))[WRITING_KEY] is False


def test_a_run_killed_between_records_and_deletes_leaves_no_stale_chunks(make_engine, hash_embedder,  # type: ignore[no-untyped-def]
                                                                       monkeypatch) -> None:
    engine = make_engine(copy_articles=True, embedder=hash_embedder)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    _edit(articles)

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed after the records were written")

    monkeypatch.setattr(KbVectorStore, "finish", die)
    with pytest.raises(KeyboardInterrupt):
        run_index(engine, articles)
    monkeypatch.undo()
    assert len(_unlisted(engine)) == 1  # the edited article's old chunk: its new record no longer lists it

    report = run_index(engine, articles)  # the article does not change again, and still its old chunk goes
    assert not _unlisted(engine) and report.deleted == 1 and report.upserted == 0


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
