"""What changes for agents between two versions of the knowledge base: the check an editor runs on a pull request.

`articles/` is indexed as of each git revision into its own temporary local Qdrant (the served index is never
touched; embeddings come from the shared cache, so unchanged text is not embedded again), and drafted with that
revision's own reply templates and gated with its own outside list. The golden messages
and every paraphrase then run against both, and every message whose top article, tier or draft changed is listed,
with the tier moves, the messages that newly get no match, and the golden figures of both versions (the test
split's, as the gate reads them). `eval.markdown.diff_markdown` turns the report into a pull-request comment.

    >>> report = run_diff(settings, "main", "HEAD")  # doctest: +SKIP
    >>> [c["id"] for c in report["changed"]]  # doctest: +SKIP
    ['core-014', 'pg-07#3']
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.charts import confusion_svg, histogram_svg
from eval.golden import GoldenItem, GoldenMessage, golden_gate_figures, judge, load_golden, summarise
from eval.paraphrase import Outcome, load_groups, outcome
from eval.report import Section
from indexer.git import GitRepo
from indexer.run import run_index
from kb.channels import Channel
from kb.config import Settings
from kb.embedding import Embedder, copy_cache, load_embedder
from kb.engine import Engine
from kb.outside import OUTSIDE_FILE

Message = tuple[str, str, str | None, str]  # id, text, expected article, channel
NO_MATCH = "no match"


def messages(folder: Path | None = None) -> list[Message]:
    """The golden messages and the paraphrases: the bundled ones, or those in `folder` (`golden_*.jsonl` and,
    when there, `paraphrases.jsonl`)."""
    out: list[Message] = [(m.id, m.text, m.expected, m.channel) for m in load_golden(folder=folder)]
    groups = folder / "paraphrases.jsonl" if folder else None
    for g in load_groups(groups) if groups is None or groups.is_file() else []:
        out += [(f"{g.group}#{i}", t, g.expected, "facebook") for i, t in enumerate(g.texts, 1)]
    return out


def _outcomes(engine: Engine, batch: list[Message], golden: dict[str, GoldenMessage]
              ) -> tuple[dict[str, Outcome], list[GoldenItem]]:
    """Every message's outcome; the golden ones judged as `kb eval golden` does, from the same suggestion."""
    served = {a.id: a for a in engine.served.all_articles()}
    outcomes: dict[str, Outcome] = {}
    items: list[GoldenItem] = []
    for mid, text, _, channel in batch:
        if mid not in golden:
            outcomes[mid] = outcome(engine, text, Channel.parse(channel))
            continue
        item, result = judge(engine, golden[mid], served)
        top = result.suggestions[0] if result.suggestions else None
        outcomes[mid] = Outcome(text, top.article_id if top else None, str(top.confidence) if top else None,
                                top.draft if top else None, item.ranked[0] if item.ranked else None, item.top_score)
        items.append(item)
    return outcomes, items


def editor_files_at(settings: Settings, rev: str, data: Path) -> Path:
    """A folder holding what the service reads beside the articles, as of `rev`: the reply templates
    (`_templates/`) and the outside list (`_outside.md`, kb.outside), so an edit to either shows in the diff (the
    work tree's folder when articles/ is not in git)."""
    repo = GitRepo.find(settings.articles_dir)
    if repo is None:
        return settings.articles_dir
    root = data / "articles"
    root.mkdir(parents=True, exist_ok=True)
    prefix = Path(repo.relative(settings.articles_dir))
    for path in (settings.articles_dir / "_templates", settings.articles_dir / OUTSIDE_FILE):
        for name, blob in repo.tree_at(rev, path):
            target = root / Path(name).relative_to(prefix)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
    return root


def run_diff(settings: Settings, rev_a: str, rev_b: str, *, embedder: Embedder | None = None,
             log: Callable[[str], None] = print, golden_dir: Path | None = None) -> dict[str, Any]:
    embedder = embedder or load_embedder(settings)
    batch = messages(golden_dir)
    golden = {m.id: m for m in load_golden(folder=golden_dir)}
    results: dict[str, dict[str, Outcome]] = {}
    figures: dict[str, dict[str, Any]] = {}
    reports: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="kb-diff-") as tmp:
        seed = settings.cache_path  # the shared cache, then a's: b embeds only the text that a did not have
        for label, rev in (("a", rev_a), ("b", rev_b)):
            data = Path(tmp) / label
            data.mkdir()
            if seed.exists():
                copy_cache(seed, data / "embeddings.sqlite")
            # Drafts come from the revision's own templates and the gate reads its own outside list: an edit to
            # either is a change agents see too.
            rev_settings = settings.model_copy(update={"data_dir": data, "qdrant_url": None,
                                                       "articles_dir": editor_files_at(settings, rev, data)})
            with Engine.open(rev_settings, embedder=embedder) as engine:
                report = run_index(engine, settings.articles_dir, rev=rev)
                reports[label] = {"rev": rev, "commit": report.commit, "articles": report.articles,
                                  "embedded": report.embedded, "errors": [str(p) for p in report.errors]}
                log(f"{rev}: {report.articles} articles indexed ({report.embedded} chunks embedded)")
                results[label], items = _outcomes(engine, batch, golden)
                summary = summarise(items)
                figures[label] = {"split": "test" if "test" in summary else "dev",
                                  **golden_gate_figures(summary)} if items else {}
            if label == "a":
                seed = Path(tmp) / "a-embeddings.sqlite"
                copy_cache(data / "embeddings.sqlite", seed)
            shutil.rmtree(data, ignore_errors=True)
    scores = {label: [results[label][mid].score for mid, *_ in batch] for label in ("a", "b")}
    changed: list[dict[str, Any]] = []
    for mid, text, expected, _ in batch:
        a, b = results["a"][mid], results["b"][mid]
        what = [k for k in ("article", "tier", "draft") if getattr(a, k) != getattr(b, k)]
        if what:
            changed.append({"id": mid, "text": text, "expected": expected, "changed": what,
                            "article_a": a.article, "article_b": b.article, "tier_a": a.tier, "tier_b": b.tier,
                            "right_a": a.article == expected, "right_b": b.article == expected,
                            "draft_a": a.draft, "draft_b": b.draft})
    answerable = [m for m in batch if m[2] is not None]

    def right(label: str) -> float:
        return sum(results[label][mid].article == exp for mid, _, exp, _ in answerable) / max(1, len(answerable))

    tiers = Counter((c["tier_a"] or NO_MATCH, c["tier_b"] or NO_MATCH) for c in changed if "tier" in c["changed"])
    return {"a": reports["a"], "b": reports["b"], "messages": len(batch),
            "golden_a": figures["a"], "golden_b": figures["b"],
            "tier_moves": [{"from": a, "to": b, "messages": n} for (a, b), n in tiers.most_common()],
            "new_no_match": [c["id"] for c in changed if c["article_a"] and not c["article_b"]],
            "no_longer_no_match": [c["id"] for c in changed if c["article_b"] and not c["article_a"]],
            "top_right_a": round(right("a"), 4), "top_right_b": round(right("b"), 4),
            "changed_article": sum("article" in c["changed"] for c in changed),
            "changed_tier": sum("tier" in c["changed"] for c in changed),
            "changed_draft": sum("draft" in c["changed"] for c in changed),
            "better": sum(c["right_b"] and not c["right_a"] for c in changed),
            "worse": sum(c["right_a"] and not c["right_b"] for c in changed),
            "scores": scores, "changed": changed}


def diff_sections(report: dict[str, Any]) -> list[Section]:
    """The report: score distributions of both versions, which answers moved where, every changed message."""
    a, b = report["a"]["rev"], report["b"]["rev"]
    moved = Counter((c["article_a"] or "no match", c["article_b"] or "no match") for c in report["changed"]
                    if "article" in c["changed"])
    rows = [{k: c[k] for k in ("id", "text", "expected", "changed", "article_a", "article_b", "tier_a", "tier_b",
                               "draft_a", "draft_b")} for c in report["changed"]]
    return [Section("Top score distribution", note=f"Best candidate's score for every message, {a} and {b}.",
                    svg=histogram_svg({a: report["scores"]["a"], b: report["scores"]["b"]})),
            Section("Where answers moved", [{a: x, b: y, "messages": n} for (x, y), n in moved.most_common()],
                    svg=confusion_svg(moved, rows_title=a, columns_title=b)),
            Section("Changed answers", rows)]
