"""The QA harness on the real stack: reports written and safe, paraphrase figures, agent-log findings, KB diff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTICLES, EVAL_DATA, SHARED, load_jsonl
from tests.infra.warm import warm_data_dir

AGENT_LOG = EVAL_DATA / "agents_sample.jsonl"
PLANTED = EVAL_DATA / "agents_sample_planted.jsonl"


def test_golden_set_is_big_realistic_and_points_at_served_articles(sample_engine: Any, golden: list[dict]) -> None:
    served = {a.id for a in sample_engine.served.all_articles()}
    assert len(golden) >= 300
    assert sum(g["language"] == "nl" for g in golden) / len(golden) >= 0.6
    assert sum(g["expected"] is None for g in golden) / len(golden) >= 0.15
    assert {g["expected"] for g in golden if g["expected"]} <= served
    assert len({g["text"] for g in golden}) == len(golden)


def test_golden_report_lists_figures_and_misses_with_markup_escaped(sample_engine: Any, tmp_path: Path) -> None:
    from eval.golden import GoldenMessage, golden_headline, golden_sections, run_golden, summarise
    from eval.report import write_report

    messages = [GoldenMessage("t-1", "klopt het dat suiker kanker voedt", "nl", "x", "suiker-voedt-kanker"),
                GoldenMessage("t-2", "<script>alert(1)</script> wie wint de derby", "nl", "x", "5g-kanker")]
    summary = summarise(run_golden(sample_engine, messages))
    html = write_report(tmp_path, "golden", "Golden", headline=golden_headline(summary), data=summary,
                        sections=golden_sections(summary)).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert summary["dev"]["hit@1"] == 0.5 and [m["id"] for m in summary["misses"]] == ["t-2"]
    assert json.loads((tmp_path / "golden.json").read_text())["headline"]["misses"] == 1


def test_paraphrase_groups_mostly_get_one_answer(sample_engine: Any) -> None:
    from eval.paraphrase import load_groups, run_groups

    groups = load_groups()
    assert len(groups) >= 40 and all(len(g.texts) >= 5 for g in groups)
    report = run_groups(sample_engine, groups)
    # Measured: 39% of groups get one article for all six phrasings, 14% also one tier (short messages are
    # never high); per text, most land on the expected article. Floors sit a little under those figures.
    assert report["same_article"] >= 0.3 and report["texts_expected"] >= 0.7, report


def test_perturbed_golden_messages_mostly_keep_their_answer(sample_engine: Any) -> None:
    from eval.golden import load_golden
    from eval.paraphrase import run_perturbations

    messages = [m for m in load_golden() if m.expected][:40]
    report = run_perturbations(sample_engine, messages)
    assert report["n"] >= 150 and report["unchanged"] >= 0.85, report["by_kind"]
    assert report["by_kind"]["emoji"]["unchanged"] >= 0.95 and report["by_kind"]["url"]["unchanged"] >= 0.95


@pytest.mark.skipif(not (SHARED / "data" / "sick-nl" / "pairs.jsonl").exists(), reason="../shared data missing")
def test_sick_paraphrase_pairs_agree_more_often_than_contradictions(sample_engine: Any) -> None:
    from eval.paraphrase import run_sick

    report = run_sick(sample_engine, SHARED / "data" / "sick-nl" / "pairs.jsonl", limit=300)
    assert report["paraphrase_more_stable"], report


def test_agent_harness_finds_every_planted_inconsistency(sample_engine: Any) -> None:
    from eval.agents import load_log, run_agents
    from kb.corpus import build_corpus, iter_article_files

    replies = load_log(AGENT_LOG)
    assert len(replies) >= 200 and len({r.agent for r in replies}) >= 8
    report = run_agents(sample_engine, replies, build_corpus(iter_article_files(ARTICLES)))
    flags = {o["id"]: set(o["flags"]) for o in report["outliers"]}
    planted = load_jsonl(PLANTED)
    missed = [(p["id"], p["kind"], sorted(flags.get(p["id"], ()))) for p in planted
              if p["kind"] not in flags.get(p["id"], ())]
    assert not missed, missed
    clean = {r.id for r in replies} - {p["id"] for p in planted}
    false_alarms = [i for i in clean if flags.get(i, set()) - {"low_agreement"}]
    assert len(false_alarms) <= 0.1 * len(clean), false_alarms
    low, high = report["alpha"]["ci"]
    assert -1 <= low <= report["alpha"]["value"] <= high <= 1


def test_agent_log_reads_csv_as_well_as_jsonl(tmp_path: Path) -> None:
    from eval.agents import load_log

    csv_path = tmp_path / "log.csv"
    csv_path.write_text("agent,channel,message,reply,time\nSanne,x,\"suiker, kanker?\",Nee hoor,2026-10-01T10:00\n")
    [reply] = load_log(csv_path)
    assert (reply.agent, reply.message, reply.reply) == ("Sanne", "suiker, kanker?", "Nee hoor")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_kb_diff_lists_exactly_the_messages_an_edit_changes(tmp_path: Path, sample_engine: Any,
                                                           memo_embedder: Any) -> None:
    from eval.diff import run_diff
    from kb.config import Settings

    repo = tmp_path / "repo"
    shutil.copytree(ARTICLES, repo / "articles")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "a")
    (repo / "articles" / "nl" / "suiker-voedt-kanker.md").unlink()  # the editor retires a topic
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "b")

    # The session's embedding cache: the diff then embeds only the messages (each once, remembered across both).
    data = warm_data_dir(tmp_path / "data", sample_engine.settings.cache_path)
    settings = Settings(data_dir=data, articles_dir=repo / "articles")
    report = run_diff(settings, "HEAD~1", "HEAD", embedder=memo_embedder, log=lambda _: None)
    assert report["a"]["embedded"] == 0 and report["b"]["embedded"] == 0
    assert report["a"]["articles"] == report["b"]["articles"] + 1
    changed = {c["id"] for c in report["changed"] if "article" in c["changed"]}
    sugar = {c["id"] for c in report["changed"] if c["article_a"] == "suiker-voedt-kanker"}
    assert sugar and sugar <= changed
    # Removing a document shifts corpus statistics (IDF) a little, so a few unrelated messages (about one in 400:
    # 3 of 1,201 when this was written) may move to another article; never more than one in a hundred.
    unrelated = [c for c in report["changed"] if "article" in c["changed"] and "suiker-voedt-kanker" not in
                 (c["article_a"], c["article_b"])]
    assert len(unrelated) <= report["messages"] // 100, (report["messages"], unrelated)
    assert report["worse"] >= 1

    from eval.diff import diff_sections
    from eval.report import write_report

    html = write_report(tmp_path / "out", "diff", "diff", headline={}, data=report,
                        sections=diff_sections(report)).read_text()
    assert html.count("<svg") == 2 and "suiker-voedt-kanker" in html  # score distributions, where answers moved


@pytest.mark.skipif(not (SHARED / "data" / "checkthat2020-en").exists(), reason="../shared data missing")
def test_checkthat_run_scores_every_mode_on_a_slice(tmp_path: Path) -> None:
    from eval.datasets import run_checkthat
    from kb.config import Settings

    src = SHARED / "data" / "checkthat2020-en"
    queries = load_jsonl(src / "queries.jsonl")[:12]
    dev = load_jsonl(src / "queries_dev.jsonl")[:8]
    wanted = {i for q in [*queries, *dev] for i in q["relevant_ids"]}
    targets = [t for t in load_jsonl(src / "targets.jsonl") if t["id"] in wanted or int(t["id"]) % 97 == 0]
    root = tmp_path / "ct"
    root.mkdir()
    for name, rows in (("targets", targets), ("queries", queries), ("queries_dev", dev)):
        (root / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    report = run_checkthat(root, Settings(data_dir=tmp_path / "data"), log=lambda _: None)
    assert set(report["test"]) == {"dense", "lexical", "hybrid", "hybrid_tuned", "hybrid_rrf"}
    assert {"recall@1", "recall@5", "recall@10"} <= set(report["test"]["hybrid"])
    assert report["test"]["hybrid"]["n"] == 12 and report["test"]["hybrid"]["map@5"] >= 0.6
    # Every target went through the real indexer as an article: title, claim, answer and background chunks.
    assert report["indexed"] == len(targets) and report["chunks"] == 4 * len(targets)


def test_kb_eval_agents_reads_what_agents_sent_through_the_service(make_engine: Any, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`--sent-from` opens the service's database through the `kb.sent_replies` entry point (eval is below api)."""
    import datetime as dt

    from api.db import open_database
    from indexer.run import run_index
    from kb.cli import main

    engine = make_engine(warm=True)
    run_index(engine, engine.settings.articles_dir)
    engine.close()  # local mode: one client per folder, and the command opens its own
    db = open_database(engine.settings)
    agents = {name: db.add_key("agent", name=name)[1] for name in ("Anna", "Bram")}
    sent = [("Anna", "suiker-voedt-kanker", "Nee, suiker voedt kanker niet. Bron: KWF"),
            ("Bram", "suiker-voedt-kanker", "Klopt, suiker voedt kanker."),
            ("Anna", "suiker-voedt-kanker", "Suiker voedt kanker niet; je lichaam maakt zelf glucose.")]
    for n, (agent, article, reply) in enumerate(sent):
        db.record_request(f"r{n}", agents[agent].id, "Voedt suiker kanker?", "x", [article])
        db.record_feedback(f"r{n}", article, "used", reply, agents[agent].id, source="api")
    db.close()
    monkeypatch.setenv("KB_DATA_DIR", str(engine.settings.data_dir))
    monkeypatch.setenv("KB_ARTICLES_DIR", str(engine.settings.articles_dir))

    today = dt.datetime.now(dt.UTC).date().isoformat()
    main(["eval", "agents", "--sent-from", today])
    out = capsys.readouterr().out
    assert "3 replies, 2 agents, 1 topics" in out
    # One topic: alpha would be 0 by construction, so the command says why it shows none.
    assert "Krippendorff's alpha not shown: only one topic has two replies" in out
    assert "Anna" in out and "Bram" in out
