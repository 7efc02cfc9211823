"""Issue 15 end to end: a hostile articles repository (tests/security/conftest.py) through `kb lint`, `kb index`
and a real `kb serve` process, its pages and its API over HTTP. Every hostile entry is refused as one
path:line problem, nothing outside the folder is read, every good article is served, and nothing answers 500."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.git import GitRepo
from kb.corpus import load_corpus
from kb.errors import Problem
from tests.api.conftest import assert_error_shape, make_keys
from tests.conftest import ARTICLES
from tests.reliability.serving import Service, free_port, prepare_data_dir, serve_env
from tests.security.conftest import HOSTILE_ARTICLES, OUTSIDE_SENTENCE, build_repository

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: What must never appear in any answer: /etc/passwd, the outside article, server paths of the data dir.
LEAKS = ("root:x:0", OUTSIDE_SENTENCE)
SAMPLE = load_corpus(ARTICLES)


@dataclass
class Hostile:
    svc: Service
    articles: Path
    data: Path
    index_report: dict[str, Any]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any) -> Iterator[Hostile]:
    base = tmp_path_factory.mktemp("hostile")
    articles = build_repository(base)
    data = prepare_data_dir(base / "data", sample_engine.settings.cache_path)
    port = free_port()
    svc = Service(base, port, serve_env(data, articles, port), make_keys(data))
    indexed = svc.kb("index", "--json")
    assert indexed.returncode == 0, indexed.stderr
    report = json.loads(indexed.stdout)
    svc.start()
    yield Hostile(svc, articles, data, report)
    svc.stop()


def _one_problem_each(lines: list[str], articles: Path) -> None:
    for relative, words in HOSTILE_ARTICLES.items():
        mine = [line for line in lines if line.startswith(f"{articles}/{relative}:")]
        assert len(mine) == 1, (relative, mine)
        assert re.match(rf"^{re.escape(str(articles))}/\S+:[1-9]\d*: ", mine[0]), mine[0]
        assert words in mine[0], mine[0]


def test_kb_lint_reports_every_hostile_entry_as_one_problem_and_still_checks_every_good_article(
        hostile: Hostile) -> None:
    out = hostile.svc.kb("lint")
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    lines = out.stdout.splitlines()
    _one_problem_each(lines, hostile.articles)
    assert all(leak not in out.stdout for leak in LEAKS)
    assert max(map(len, lines)) < 800  # messages are bounded: the alias bomb no longer repeats its expansion
    assert f"{len(SAMPLE.articles)} valid articles" in out.stderr


def test_kb_index_skips_the_hostile_entries_and_indexes_every_good_article(hostile: Hostile) -> None:
    report = hostile.index_report
    _one_problem_each(report["errors"], hostile.articles)
    assert report["articles"] == len(SAMPLE.served())
    assert all(leak not in str(report) for leak in LEAKS)


def test_a_git_revision_of_the_repository_refuses_the_committed_links_too(hostile: Hostile) -> None:
    """`kb index --rev` reads git objects, not the work tree: a committed link is refused there as well."""
    repo = GitRepo.find(hostile.articles)
    assert repo is not None
    entries = dict(repo.files_at("HEAD", hostile.articles))
    for name in ("nl/buiten.md", "nl/passwd.md", "nl/dangling.md"):
        refused = entries[f"articles/{name}"]
        assert isinstance(refused, Problem) and "symbolic link" in refused.message
    assert not any(isinstance(v, bytes) and b"root:x:0" in v for v in entries.values())


def test_the_service_serves_every_good_article_and_nothing_from_outside(hostile: Hostile) -> None:
    svc = hostile.svc
    with httpx.Client(base_url=svc.url, headers=svc.headers("agent"), timeout=30) as client:
        good = client.get("/v1/articles/suiker-voedt-kanker")
        assert good.status_code == 200
        assert_error_shape(client.get("/v1/articles/buiten-geheim"), 404)
        seen, offset = [], 0
        while True:
            page = client.get("/v1/articles", params={"limit": 100, "offset": offset}).json()
            items = page["items"]
            seen += [a["id"] for a in items]
            if len(items) < 100:
                break
            offset += 100
        assert len(seen) == len(SAMPLE.served()) and "buiten-geheim" not in seen
        answer = client.post("/v1/suggest", json={"message": OUTSIDE_SENTENCE, "channel": "email"})
        assert answer.status_code == 200
        assert all(leak not in answer.text for leak in LEAKS)


def test_post_v1_index_answers_200_with_every_problem_bounded(hostile: Hostile) -> None:
    svc = hostile.svc
    response = httpx.post(f"{svc.url}/v1/index", json={"full": False}, headers=svc.headers("editor"), timeout=300)
    assert response.status_code == 200, response.text[:500]
    assert len(response.content) < 100_000  # the alias bomb made this 34.7 MB
    _one_problem_each(response.json()["errors"], hostile.articles)
    assert all(leak not in response.text for leak in LEAKS)


def _login(svc: Service, role: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=svc.url, timeout=120, follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    assert client.post("/login", data={"csrf": token.group(1), "key": svc.keys[role]}).status_code == 303
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/editor").text)
    assert csrf
    return client, csrf.group(1)


def test_the_editor_pages_list_the_hostile_entries_and_reindex_without_a_500(hostile: Hostile) -> None:
    client, csrf = _login(hostile.svc, "editor")
    try:
        page = client.get("/editor")
        assert page.status_code == 200
        assert len(page.content) < 1_000_000  # the alias bomb made this 73 MB
        for relative in HOSTILE_ARTICLES:
            assert relative in page.text, relative
        assert "symbolic link" in page.text and all(leak not in page.text for leak in LEAKS)
        assert client.get("/editor/articles/suiker-voedt-kanker").status_code == 200
        reindexed = client.post("/editor/reindex", data={"csrf": csrf})
        assert reindexed.status_code == 303 and reindexed.headers["location"].startswith("/editor/index")
        index_page = client.get(reindexed.headers["location"])
        assert index_page.status_code == 200 and "Indexeren mislukt" not in index_page.text
    finally:
        client.close()


def test_a_reindex_storm_is_answered_409_at_once_while_suggestions_keep_answering(hostile: Hostile) -> None:
    """45 concurrent re-index requests used to queue in the thread pool for 15 s. Now one runs and every other
    is refused at once with reindex_running; suggestions asked meanwhile all answer."""
    svc = hostile.svc

    def reindex() -> httpx.Response:
        return httpx.post(f"{svc.url}/v1/index", json={"full": True}, headers=svc.headers("editor"), timeout=600)

    with ThreadPoolExecutor(24) as pool, httpx.Client(timeout=60) as client:
        storm = [pool.submit(reindex) for _ in range(24)]
        suggestions = [client.post(f"{svc.url}/v1/suggest", headers=svc.headers("agent"),
                                   json={"message": "klopt het dat suiker kanker voedt?", "channel": "x"})
                       for _ in range(10)]
        answers = [f.result() for f in storm]
    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] >= 1 and statuses[409] >= 1 and statuses[200] + statuses[409] == len(answers), statuses
    for answer in answers:
        if answer.status_code == 409:
            error = assert_error_shape(answer, 409)
            assert error["code"] == "reindex_running" and "already running" in error["message"]
    assert [s.status_code for s in suggestions] == [200] * len(suggestions)
    assert all(s.json()["suggestions"] for s in suggestions)


def test_readyz_and_healthz_answer_without_server_paths(hostile: Hostile) -> None:
    ready = httpx.get(f"{hostile.svc.url}/readyz")
    assert ready.status_code == 200 and str(hostile.data) not in ready.text


def test_hostile_templates_stop_start_up_with_every_problem_listed_and_no_secret_read(
        tmp_path: Path, sample_engine: Any) -> None:
    data = prepare_data_dir(tmp_path / "data", sample_engine.settings.cache_path)
    secret = "s3cr3t-" + "x" * 40
    (data / "session-secret").write_text(secret)
    articles = build_repository(tmp_path, hostile_templates=True, secret_file=data / "session-secret")
    port = free_port()
    svc = Service(tmp_path, port, serve_env(data, articles, port, QDRANT_API_KEY_SENTINEL="qdrant-key-sentinel"),
                  {})
    templates = articles / "_templates"
    expected = {"env.txt": "symbolic link", "sig.txt": "symbolic link", "email.nl.j2": "symbolic link",
                "x.en.j2": "steps", "whatsapp.en.j2": "50000000"}
    for command in (("lint",), ("serve", "--port", str(port))):
        out = svc.kb(*command)
        text = out.stdout + out.stderr
        assert out.returncode == 1, text[-2000:]
        assert "Traceback" not in text
        for name, words in expected.items():  # all at once: one bad template never hides another
            mine = [line for line in text.splitlines() + text.split("; ") if f"{templates}/{name}:" in line]
            assert mine and any(words in line for line in mine), (command, name, text[-3000:])
        assert secret not in text and "qdrant-key-sentinel" not in text and "PATH=" not in text
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{svc.url}/readyz", timeout=2)  # never started


def test_an_outside_list_that_links_elsewhere_is_refused_by_lint_and_start_up_without_reading_it(
        tmp_path: Path, sample_engine: Any) -> None:
    data = prepare_data_dir(tmp_path / "data", sample_engine.settings.cache_path)
    secret = "s3cr3t-" + "y" * 40
    (data / "session-secret").write_text(secret)
    articles = build_repository(tmp_path)
    (articles / "_outside.md").unlink(missing_ok=True)
    (articles / "_outside.md").symlink_to(data / "session-secret")  # kb.outside reads regular files only
    port = free_port()
    svc = Service(tmp_path, port, serve_env(data, articles, port), {})
    for command in (("lint",), ("serve", "--port", str(port))):
        out = svc.kb(*command)
        text = out.stdout + out.stderr
        assert out.returncode == 1 and "Traceback" not in text, text[-2000:]
        assert f"{articles / '_outside.md'}:0: not a regular file" in text, (command, text[-2000:])
        assert secret not in text
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{svc.url}/readyz", timeout=2)  # never started
