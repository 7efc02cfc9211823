"""The pull-request check recipes in docs/ci, run as written: their commands, in a scratch articles repository
with two commits (the second retires an article), on the real model and Qdrant.

GitHub Actions: every step whose id starts with `kb-`, in order, with the step's `env` (its `${{ }}` expressions
filled in as GitHub would) under `bash -eo pipefail`, as a runner does. GitLab CI: the job's `script` lines as one
`bash -eo pipefail` script, as the runner does. Installing Kennisbank and posting the comment need a real
forge and are left out; the comment they would post is checked instead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kb.embedding import copy_cache
from tests.conftest import ARTICLES, EVAL_DATA, ROOT, load_jsonl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCS = ROOT / "docs" / "ci"
RETIRED = "suiker-voedt-kanker"
MARKER = "<!-- kennisbank:eval-diff -->"
PASSING = '[golden]\n"hit@1" = 0.30\nno_match_recall = 0.10\n'
FAILING = '[golden]\n"hit@1" = 0.99\n'


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=r@example.org", "-c", "user.name=Redactie",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _golden_folder(folder: Path) -> None:
    """A small golden set of the repository's own, as docs/pull-request-checks.md describes: every message about
    the article the change retires, and a few others; a few paraphrase groups; passing minimums."""
    folder.mkdir()
    for split in ("dev", "test"):
        rows = [r for path in sorted(EVAL_DATA.glob(f"golden_{split}_*.jsonl")) for r in load_jsonl(path)]
        others = [r for r in rows if r.get("expected") != RETIRED]
        keep = [r for r in rows if r.get("expected") == RETIRED] + others[:20]
        _write_jsonl(folder / f"golden_{split}_eigen.jsonl", keep)
    groups = load_jsonl(EVAL_DATA / "paraphrases.jsonl")
    _write_jsonl(folder / "paraphrases.jsonl", [g for g in groups if g.get("expected") == RETIRED] +
                 [g for g in groups if g.get("expected") != RETIRED][:2])
    (folder / "thresholds.toml").write_text(PASSING)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any) -> tuple[Path, str, str]:
    """(repository, base commit, head commit): the sample articles, then the same with one article retired."""
    repo = tmp_path_factory.mktemp("pr") / "artikelen"
    shutil.copytree(ARTICLES, repo / "articles")
    _golden_folder(repo / "golden")
    (repo / ".gitignore").write_text(".kb/\nreports/\ncomment.md\n")
    (repo / ".kb").mkdir()  # the recipes' data dir; the session's embeddings spare the test the embedding time
    copy_cache(sample_engine.settings.cache_path, repo / ".kb" / "embeddings.sqlite")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "de artikelen")
    base = _git(repo, "rev-parse", "HEAD")
    article = repo / "articles" / "nl" / f"{RETIRED}.md"
    article.write_text(article.read_text(encoding="utf-8").replace("status: published", "status: retired", 1),
                       encoding="utf-8")
    _git(repo, "commit", "-qam", "suiker-artikel ingetrokken")
    return repo, base, _git(repo, "rev-parse", "HEAD")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                  "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"} | extra


def _bash(script: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=1800)


def _check_comment(repo: Path) -> str:
    comment = (repo / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith(MARKER) and len(comment) <= 60_000
    assert "answers change" in comment and "| golden messages (test split) | before | after | change |" in comment
    # The retired article's messages now get another article or none (which, is the no-match line's call): the
    # comment lists them by message either way, saying what they had before.
    moved = comment.split("#### Answers that change, by message", 1)[-1].split("#### Tier moves", 1)[0]
    new_none = comment.split("#### New no-matches", 1)[1] if "#### New no-matches" in comment else ""
    assert "| `suiker-voedt-kanker`" in moved or "(was `suiker-voedt-kanker`" in new_none, comment
    report = _strict((repo / "reports" / "diff" / "diff.json").read_text(encoding="utf-8"))
    assert report["a"]["articles"] == report["b"]["articles"] + 1
    assert report["changed_article"] or report["new_no_match"]
    assert report["golden_a"]["hit@1"] > report["golden_b"]["hit@1"]
    assert (repo / "reports" / "diff" / "diff.md").read_text(encoding="utf-8") == comment
    return comment


def test_the_github_recipe_lints_gates_and_writes_the_comment(scratch: tuple[Path, str, str], tmp_path: Path
                                                              ) -> None:
    repo, base, head = scratch
    workflow = yaml.safe_load((DOCS / "github-actions.yml").read_text(encoding="utf-8"))
    steps = [s for s in workflow["jobs"]["check"]["steps"] if str(s.get("id", "")).startswith("kb-")]
    assert [s["id"] for s in steps] == ["kb-lint", "kb-gate", "kb-diff"]
    expressions = {"${{ github.event.pull_request.base.sha }}": base}
    summary = tmp_path / "step-summary.md"
    for step in steps:
        env = {}
        for name, value in (step.get("env") or {}).items():
            assert value in expressions, f"{step['id']}: unknown expression {value}"
            env[name] = expressions[value]
        done = _bash(step["run"], repo, _env(GITHUB_STEP_SUMMARY=str(summary), **env))
        assert done.returncode == 0, (step["id"], done.stdout[-3000:], done.stderr[-3000:])
    comment = _check_comment(repo)
    assert summary.read_text(encoding="utf-8") == comment  # shown on the run's page too (forks get no comment)
    golden = _strict((repo / "reports" / "golden" / "golden.json").read_text(encoding="utf-8"))
    assert golden["headline"]["hit@1"] >= 0.30  # the gate passed on the head revision's served index
    assert _git(repo, "rev-parse", "HEAD") == head


def test_the_gitlab_recipe_still_comments_when_the_gate_fails(scratch: tuple[Path, str, str]) -> None:
    repo, base, _ = scratch
    job = yaml.safe_load((DOCS / "gitlab-ci.yml").read_text(encoding="utf-8"))["kennisbank"]
    (repo / "comment.md").unlink(missing_ok=True)
    (repo / "golden" / "thresholds.toml").write_text(FAILING)  # a minimum this change cannot meet
    try:
        done = _bash("\n".join(job["script"]), repo, _env(CI_MERGE_REQUEST_DIFF_BASE_SHA=base))
    finally:
        (repo / "golden" / "thresholds.toml").write_text(PASSING)
    assert done.returncode == 1, (done.stdout[-3000:], done.stderr[-3000:])
    assert "below threshold: hit@1" in done.stderr
    _check_comment(repo)  # the diff ran after the gate failed, so the reviewer sees why
