"""The published pre-commit hooks (`.pre-commit-hooks.yaml`) in a scratch articles repository: pre-commit takes
them from this checkout at a commit, as an articles repository takes them from a Kennisbank tag, and a commit
with a broken article or template fails with its path:line, while a good one goes through.

No network: the hooks are `language: system` (they run the `kb` of this virtualenv), and pre-commit clones the
hooks repository from the local path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.browser.site import BROKEN, BROKEN_FILE
from tests.conftest import ARTICLES, ROOT

pytestmark = pytest.mark.slow

MANIFEST = ".pre-commit-hooks.yaml"
GOOD = """---
id: nieuwe-vraag
type: faq
language: nl
title: Kan ik ook contant doneren?
status: published
claims:
  - kan ik contant geld geven
topics: [doneren]
sources:
  - title: Stichting Hoop & Gezondheid – Doneren
    url: https://www.hoopengezondheid.example/doneren
owner: team-webcare
reviewed: 2026-09-05
review_by: 2030-09-05
---

## Antwoord

Ja, dat kan: bij onze collectanten en op ons kantoor. Je krijgt een bewijs van je gift.

## Achtergrond

Collectanten dragen een legitimatiebewijs; contant geld wordt met twee mensen geteld.
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _env(tmp_path: Path) -> dict[str, str]:
    """The virtualenv's `kb` and `pre-commit` first on PATH, this checkout's code, no KB_ setting from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "GIT_"))}
    return env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                  "PYTHONPATH": str(ROOT), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
                  "GIT_AUTHOR_NAME": "Redactie", "GIT_AUTHOR_EMAIL": "redactie@example.org",
                  "GIT_COMMITTER_NAME": "Redactie", "GIT_COMMITTER_EMAIL": "redactie@example.org",
                  "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}


def hooks_at_a_commit(tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    """(repository, rev) holding this checkout's hooks manifest: the checkout at HEAD when the manifest is
    committed as it is on disk; otherwise a throwaway clone with the work tree's manifest committed (what
    `pre-commit try-repo` does with uncommitted changes)."""
    if _run(["git", "rev-parse", "HEAD"], ROOT, env).returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout: pre-commit takes hooks from a commit")
    clean = _run(["git", "diff", "--quiet", "HEAD", "--", MANIFEST], ROOT, env).returncode == 0 and \
        _run(["git", "ls-files", "--error-unmatch", MANIFEST], ROOT, env).returncode == 0
    if clean:
        return str(ROOT), _run(["git", "rev-parse", "HEAD"], ROOT, env).stdout.strip()
    shadow = tmp_path / "hooks-repo"
    assert _run(["git", "clone", "-q", str(ROOT), str(shadow)], tmp_path, env).returncode == 0
    shutil.copy(ROOT / MANIFEST, shadow / MANIFEST)
    _run(["git", "add", MANIFEST], shadow, env)
    assert _run(["git", "commit", "-qm", "hooks from the work tree"], shadow, env).returncode == 0
    return str(shadow), _run(["git", "rev-parse", "HEAD"], shadow, env).stdout.strip()


def test_the_published_hooks_are_a_valid_manifest_that_needs_no_network() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / MANIFEST).read_text(encoding="utf-8"))}
    assert set(hooks) == {"kb-lint", "kb-templates"}
    # system: the installed `kb`; `python` would pip-install Kennisbank and its dependencies on every machine.
    assert {h["language"] for h in hooks.values()} == {"system"}
    assert hooks["kb-lint"]["entry"] == "kb lint" and hooks["kb-templates"]["entry"] == "kb lint --templates"
    checked = _run([sys.executable, "-m", "pre_commit", "validate-manifest", MANIFEST], ROOT, dict(os.environ))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_broken_article_or_template_fails_the_commit_and_a_good_one_passes(tmp_path: Path) -> None:
    env = _env(tmp_path)
    hooks_repo, rev = hooks_at_a_commit(tmp_path, env)
    repo = tmp_path / "artikelen"
    shutil.copytree(ARTICLES, repo / "articles")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [
        {"repo": hooks_repo, "rev": rev, "hooks": [{"id": "kb-lint"}, {"id": "kb-templates"}]}]}))
    assert _run(["git", "init", "-q"], repo, env).returncode == 0
    installed = _run([sys.executable, "-m", "pre_commit", "install"], repo, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        """git commit, with what the hooks printed (git shows it on stderr) in stdout."""
        _run(["git", "add", "-A"], repo, env)
        return subprocess.run(["git", "commit", "-m", message], cwd=repo, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)

    first = commit("de artikelen")
    assert first.returncode == 0, first.stdout
    assert "kb lint (articles and templates)" in first.stdout and "Passed" in first.stdout
    head = _run(["git", "rev-parse", "HEAD"], repo, env).stdout

    broken = repo / "articles" / "nl" / BROKEN_FILE
    broken.write_text(BROKEN, encoding="utf-8")
    refused = commit("een kapot artikel")
    assert refused.returncode != 0
    assert f"articles/nl/{BROKEN_FILE}:" in refused.stdout and "Failed" in refused.stdout, refused.stdout
    assert "(no files to check)Skipped" in refused.stdout  # the template hook: no template changed
    assert _run(["git", "rev-parse", "HEAD"], repo, env).stdout == head  # nothing was committed

    broken.unlink()
    (repo / "articles" / "nl" / "nieuwe-vraag.md").write_text(GOOD, encoding="utf-8")
    accepted = commit("een nieuw artikel")
    assert accepted.returncode == 0, accepted.stdout
    assert _run(["git", "rev-parse", "HEAD"], repo, env).stdout != head

    template = repo / "articles" / "_templates" / "x.nl.j2"
    template.write_text(template.read_text(encoding="utf-8") + "{% if answer %}niet afgesloten\n", encoding="utf-8")
    refused = commit("een kapot sjabloon")
    assert refused.returncode != 0
    assert "articles/_templates/x.nl.j2:" in refused.stdout, refused.stdout
    assert "kb lint --templates (reply templates only)" in refused.stdout
