"""The indexer on the real model and real local Qdrant: incremental, git-aware, never half-served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from indexer.build import Indexer
from indexer.git import GitRepo, Revision
from indexer.run import run_index
from kb.chunking import chunk_article
from kb.corpus import iter_article_files, load_corpus
from kb.normalize import normalize
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES, FIXTURES, ROOT

pytestmark = pytest.mark.e2e


def top(engine, message: str) -> str | None:  # type: ignore[no-untyped-def]
    result = engine.suggester.suggest(SuggestQuery(message=message))
    return result.suggestions[0].article_id if result.suggestions else None


def test_sample_kb_indexes_every_published_article_with_no_errors(sample_engine) -> None:  # type: ignore[no-untyped-def]
    corpus = load_corpus(ARTICLES)
    info = sample_engine.ready()
    assert info.articles == len(corpus.served()) >= 60
    assert info.chunks == sum(len(chunk_article(a)) for a in corpus.served())
    served_ids = {a.id for a in sample_engine.served.all_articles()}
    assert served_ids == {a.id for a in corpus.served()}
    assert not {a.id for a in corpus.articles.values() if not a.is_served} & served_ids


def test_editing_one_article_embeds_exactly_its_changed_chunks(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, warm=True)
    articles = engine.settings.articles_dir
    first = run_index(engine, articles)
    assert first.full and (first.embedded, first.reused) == (0, first.chunks)  # the session's cache knows them all

    path = articles / "nl" / "suiker-voedt-kanker.md"
    text = path.read_text(encoding="utf-8")
    before = {c.text for c in chunk_article(load_corpus(path).articles["suiker-voedt-kanker"])}
    path.write_text(text.replace("## Achtergrond\n", "## Achtergrond\n\nNieuwe alinea voor de test.\n\n", 1),
                    encoding="utf-8")
    after = {c.text for c in chunk_article(load_corpus(path).articles["suiker-voedt-kanker"])}
    changed = after - before
    assert len(changed) == 1  # only the background chunk changed

    second = run_index(engine, articles)
    assert not second.full
    assert second.embedded_texts == [normalize(t) for t in changed]
    assert second.deleted == 1  # the old background chunk; the article record is overwritten in place
    assert second.reused == 0


def test_editing_only_the_front_matter_refreshes_every_chunk_of_the_article(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, warm=True)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    nl, en = articles / "nl" / "anbi-belastingaftrek.md", articles / "en" / "tax-deductible-gifts-en.md"
    for path, twin in ((nl, "tax-deductible-gifts-en"), (en, "anbi-belastingaftrek")):  # no text changes
        path.write_text(path.read_text(encoding="utf-8").replace(f"translations: [{twin}]\n", ""), encoding="utf-8")
    report = run_index(engine, articles)
    assert not report.full and report.embedded == 0 and not report.errors

    def payloads(article_id: str) -> list[dict[str, object]]:
        collection = engine.store.resolve_alias(engine.settings.collection)
        return [p for _, p in engine.store.scroll_payloads(collection, ["article_id", "kind", "translations"])
                if p["article_id"] == article_id and p["kind"] != "article"]  # its chunks, not its record

    chunks = payloads("anbi-belastingaftrek")
    assert len(chunks) > 1 and all(p["translations"] == [] for p in chunks)  # once stale: kept chunks kept the pair
    assert all(p["translations"] == [] for p in payloads("tax-deductible-gifts-en"))


def test_deleted_and_unpublished_articles_stop_being_served(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(copy_articles=True, warm=True)
    articles = engine.settings.articles_dir
    run_index(engine, articles)
    question = "klopt het dat je kanker krijgt van deodorant met aluminium"
    assert top(engine, question) == "deodorant-borstkanker"

    deo = articles / "nl" / "deodorant-borstkanker.md"
    deo.write_text(deo.read_text(encoding="utf-8").replace("status: published", "status: retired"), encoding="utf-8")
    (articles / "nl" / "zonnebank-vitamine-d.md").unlink()
    report = run_index(engine, articles)
    assert not report.full
    served = {a.id for a in engine.served.all_articles()}
    assert "deodorant-borstkanker" not in served and "zonnebank-vitamine-d" not in served
    assert top(engine, question) != "deodorant-borstkanker"


def test_bad_articles_are_reported_and_the_rest_indexed(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    report = run_index(engine, FIXTURES / "mixed")
    assert report.articles == 4  # bad-related, good-faq (from dup-id.md), good-rebuttal, stale-faq
    assert len(report.errors) == 12
    assert all(":" in str(p) and str(p).startswith(str(FIXTURES / "mixed")) for p in report.errors)


def test_a_change_of_chunking_or_model_forces_a_full_rebuild(make_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine()
    first = run_index(engine, FIXTURES / "mixed")
    monkeypatch.setattr("kb.served.CHUNKER_VERSION", "chunks-test")
    second = run_index(engine, FIXTURES / "mixed")
    assert second.full and "chunker" in second.reason
    assert second.collection != first.collection
    assert second.dropped_collections == [first.collection]
    assert second.embedded == 0  # the cache still knows every text


def test_index_at_a_git_revision_leaves_the_work_tree_alone(make_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    (repo / "articles").mkdir(parents=True)
    src = FIXTURES / "mixed"
    for name in ("good-faq.md", "good-rebuttal.md"):
        (repo / "articles" / name).write_bytes((src / name).read_bytes())
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "two articles"], check=True)
    first_commit = GitRepo(repo).resolve("HEAD")
    (repo / "articles" / "good-faq.md").unlink()
    subprocess.run([*git, "commit", "-qam", "remove one"], check=True)
    (repo / "articles" / "stale-faq.md").write_bytes((src / "stale-faq.md").read_bytes())  # untracked: dirty

    engine = make_engine()
    report = run_index(engine, repo / "articles", rev="HEAD~1")
    assert report.commit == first_commit and not report.dirty
    assert {a.id for a in engine.served.all_articles()} == {"good-faq", "good-rebuttal"}
    assert not (repo / "articles" / "good-faq.md").exists()  # work tree untouched

    head = GitRepo(repo).head(repo / "articles")
    assert head.dirty
    assert GitRepo(repo).changed_since(first_commit, repo / "articles") == ["articles/good-faq.md",
                                                                          "articles/stale-faq.md"]


def test_killed_rebuild_keeps_serving_the_old_index(tmp_path: Path, real_embedder, sample_engine) -> None:  # type: ignore[no-untyped-def]
    """kill -9 in the middle of `kb index --full`: the alias and answers are unchanged; the next run cleans up."""
    from kb.config import Settings
    from kb.engine import Engine
    from tests.infra.warm import warm_data_dir

    data = warm_data_dir(tmp_path / "data", sample_engine.settings.cache_path)  # the first build is not the point
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_ARTICLES_DIR": str(ARTICLES)}
    kb = [sys.executable, "-m", "kb.cli"]
    subprocess.run([*kb, "index"], env=env, check=True, capture_output=True, cwd=ROOT)
    settings = Settings(data_dir=data, articles_dir=ARTICLES)
    questions = ["zuiveringszout geneest kanker toch?", "hoe stop ik mijn maandelijkse donatie",
                 "does wifi give you cancer"]
    with Engine.open(settings, embedder=real_embedder) as engine:
        served_before = engine.store.resolve_alias(settings.collection)
        answers_before = [asdict(engine.suggester.suggest(SuggestQuery(message=q))) for q in questions]

    for cache in data.glob("embeddings.sqlite*"):  # a cold cache makes the rebuild long enough to interrupt
        cache.unlink()
    proc = subprocess.Popen([*kb, "index", "--full"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    collections = data / "qdrant" / "collection"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len([p for p in collections.iterdir() if p.name.startswith("kb_articles__")]) > 1:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # well into writing the new collection
    assert proc.poll() is None, "the rebuild finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    with Engine.open(settings, embedder=real_embedder) as engine:
        assert engine.store.resolve_alias(settings.collection) == served_before
        assert len(engine.store.collections("kb_articles__")) == 2  # the leftover is still there
        assert [asdict(engine.suggester.suggest(SuggestQuery(message=q))) for q in questions] == answers_before
        report = Indexer(settings, engine.store, engine.cached_embedder()).run(
            iter_article_files(ARTICLES), Revision(None, True))
        assert engine.store.collections("kb_articles__") == [served_before]
        assert report.dropped_collections and not report.full
