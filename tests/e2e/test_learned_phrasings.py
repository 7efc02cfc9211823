"""Learned phrasings end to end: the real model, real local Qdrant (an index of its own, on a copy of the sample
articles) and the real app over HTTP, with several agents' keys and an editor's.

What agents confirm is learned only under the rules (kb/learning.py), counts only for near-repeats, and editors
decide what becomes article content."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.db import Database, open_database
from api.insights.retention import remove_expired_texts
from api.pages.agent_errors import CHOSEN_GONE, UNKNOWN_REQUEST
from api.state import state_of
from kb.config import Settings
from kb.learning import Status
from tests.api.test_pages import csrf_of, login
from tests.conftest import ARTICLES, ROOT
from tests.infra.warm import warm_data_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# About deleting one's data, and near-repeats of it (a surge). Before issue 24 the sample KB offered a story-sharing
# article first; since its ranking the privacy article may already come first: what learning must add shows on the
# copies (tier, `learned`), and what one agent's wrong choice must not do, whichever article comes first.
PRIVACY = "How can I get you to delete my details? I don't want to be on any of your lists anymore."
PRIVACY_COPIES = ("RT @annie: How can I get you to delete my details? I don't want to be on any of your lists "
                  "anymore!!",
                  "How can I get you to delete my details?? I really don't want to be on any of your lists anymore",
                  "how can i get you to delete my detials? I don't want to be on any of your lists anymore 😡")
UNRELATED = ("mijn moeder heeft borstkanker en eet geen suiker meer, ook geen fruit. hongert ze de tumor zo uit?",
             "Is it safe to heat food in plastic containers in the microwave, or does that give you cancer?")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, memo_embedder: Any, sample_engine: Any) -> Iterator[Any]:
    """The sample articles (a copy, to edit) indexed into a local Qdrant of their own."""
    from indexer.run import run_index
    from kb.engine import Engine

    base = tmp_path_factory.mktemp("learned")
    shutil.copytree(ARTICLES, base / "articles")
    data = warm_data_dir(base / "engine", sample_engine.settings.cache_path)
    settings = Settings(data_dir=data, articles_dir=base / "articles")
    with Engine.open(settings, embedder=memo_embedder) as opened:
        assert not run_index(opened, settings.articles_dir).errors
        yield opened


@dataclass
class Service:
    client: Any
    app: Any
    keys: dict[str, str]
    settings: Settings

    def suggest(self, who: str, message: str) -> dict[str, Any]:
        response = self.client.post("/v1/suggest", json={"message": message, "channel": "x"},
                                    headers={"Authorization": f"Bearer {self.keys[who]}"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def feedback(self, who: str, request_id: str, article_id: str | None, action: str) -> None:
        response = self.client.post("/v1/feedback", json={"request_id": request_id, "article_id": article_id,
                                                          "action": action},
                                    headers={"Authorization": f"Bearer {self.keys[who]}"})
        assert response.status_code == 201, response.text

    def confirm(self, who: str, message: str, article_id: str) -> dict[str, Any]:
        """Ask, then use `article_id` when it was offered, or choose it by search when it was not."""
        out = self.suggest(who, message)
        offered = article_id in [s["article_id"] for s in out["suggestions"]]
        self.feedback(who, out["request_id"], article_id, "used" if offered else "chosen")
        return out

    @property
    def db(self) -> Database:
        return state_of(self.app).db

    @property
    def learning(self) -> Any:
        return state_of(self.app).learning


@pytest.fixture()
def service(engine: Any, tmp_path: Path) -> Iterator[Service]:
    """The app on the shared engine with a fresh database: three agents and an editor."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = engine.settings.model_copy(update={"data_dir": tmp_path / "data", "key_rate": 0.0})
    db = open_database(settings)
    try:
        keys = {name: db.add_key(role, name=name)[0] for name, role in
                (("anna", "agent"), ("bram", "agent"), ("cleo", "agent"), ("eva", "editor"))}
    finally:
        db.close()
    app = create_app(settings, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client, app, keys, settings)


def _top(out: dict[str, Any]) -> dict[str, Any]:
    assert out["suggestions"], out
    return dict(out["suggestions"][0])


def test_one_agents_mistakes_never_push_a_wrong_article_to_high_for_everyone(service: Service) -> None:
    before = service.suggest("bram", PRIVACY_COPIES[2])
    wrong = "persoonlijk-verhaal-delen"  # what the privacy message is mistaken for
    for message in (PRIVACY, *PRIVACY_COPIES[:2], PRIVACY, PRIVACY_COPIES[0]):  # anna, again and again
        asked = service.suggest("anna", message)  # she picks the wrong article, suggested or searched for
        service.feedback("anna", asked["request_id"], wrong, "chosen")
    after = service.suggest("bram", PRIVACY_COPIES[2])
    assert [(s["article_id"], s["confidence"], s["learned"]) for s in after["suggestions"]] == \
        [(s["article_id"], s["confidence"], False) for s in before["suggestions"]]
    [phrasing] = service.learning.listing()
    assert (phrasing.article_id, phrasing.status, phrasing.confirmations, set(phrasing.confirmers)) == \
        (wrong, Status.CANDIDATE, 5, {service.db.check_key(service.keys["anna"]).id})  # type: ignore[union-attr]
    assert len(service.app.state.kb.engine.learned) == 0


def test_a_near_repeat_after_two_distinct_agents_is_answered_from_the_learned_phrasing(service: Service) -> None:
    service.confirm("anna", PRIVACY, "privacy-data-en")
    one = service.suggest("cleo", PRIVACY_COPIES[1])
    assert not _top(one)["learned"]  # one agent: nothing changes
    service.confirm("bram", PRIVACY_COPIES[0], "privacy-data-en")
    out = service.suggest("cleo", PRIVACY_COPIES[2])
    top = _top(out)
    assert (top["article_id"], top["learned"], top["confidence"]) == ("privacy-data-en", True, "high")
    [phrasing] = service.learning.listing()
    assert phrasing.status is Status.ACTIVE and len(phrasing.confirmers) == 2
    # a third agent rejecting it for a copy counts against it: back to one net agent, out of force
    service.feedback("cleo", out["request_id"], "privacy-data-en", "rejected")
    assert not _top(service.suggest("cleo", PRIVACY_COPIES[1]))["learned"]


def test_learning_counts_the_choice_that_stands_per_suggestion_a_change_of_mind_or_an_undo_replaces_it(
        service: Service) -> None:
    annas = service.confirm("anna", PRIVACY, "privacy-data-en")
    brams = service.confirm("bram", PRIVACY_COPIES[0], "privacy-data-en")
    assert _top(service.suggest("cleo", PRIVACY_COPIES[2]))["learned"]
    ids = {who: service.db.check_key(service.keys[who]).id for who in ("anna", "bram")}  # type: ignore[union-attr]

    def counted() -> tuple[int, dict[str, int], dict[str, int], Status]:
        [phrasing] = service.learning.listing()
        return phrasing.confirmations, dict(phrasing.confirmers), dict(phrasing.rejecters), phrasing.status

    # bram changes his mind on the same suggestion: he rejected it, he did not confirm and reject it
    service.feedback("bram", brams["request_id"], "privacy-data-en", "rejected")
    assert counted() == (1, {ids["anna"]: 1}, {ids["bram"]: 1}, Status.CANDIDATE)
    assert not _top(service.suggest("cleo", PRIVACY_COPIES[2]))["learned"]
    service.feedback("bram", brams["request_id"], "privacy-data-en", "used")  # and back again
    assert counted() == (2, {ids["anna"]: 1, ids["bram"]: 1}, {}, Status.ACTIVE)
    assert _top(service.suggest("cleo", PRIVACY_COPIES[2]))["learned"]
    # anna takes hers back on the agent page (clicking the pressed choice again): her support goes with it
    agent = login(service.app, service.keys["anna"])
    undone = agent.post("/agent/feedback", data={"csrf": csrf_of(agent.get("/agent").text),
                                                 "request_id": annas["request_id"], "article_id": "privacy-data-en",
                                                 "action": "used", "undo": "1"}, headers={"Accept": "application/json"})
    assert undone.status_code == 200 and undone.json()["withdrawn"] is True
    assert counted() == (1, {ids["bram"]: 1}, {}, Status.CANDIDATE)
    assert not _top(service.suggest("cleo", PRIVACY_COPIES[2]))["learned"]
    # what learning counts is what the feedback table holds: one row per suggestion, the last choice
    assert [(r["request_id"], r["action"]) for r in service.db.feedback(50)] == [(brams["request_id"], "used")]


def test_an_unrelated_message_is_not_affected_by_learned_phrasings(service: Service) -> None:
    before = [service.suggest("cleo", m)["suggestions"] for m in UNRELATED]
    service.confirm("anna", PRIVACY, "privacy-data-en")
    service.confirm("bram", PRIVACY_COPIES[0], "privacy-data-en")
    assert _top(service.suggest("cleo", PRIVACY_COPIES[1]))["learned"]
    after = [service.suggest("cleo", m)["suggestions"] for m in UNRELATED]
    assert after == before


def _learned_pair(service: Service) -> tuple[str, str]:
    """Two phrasings: one approved by the editor, one proposed by one agent. Their ids."""
    service.confirm("anna", PRIVACY, "privacy-data-en")
    service.confirm("anna", UNRELATED[0], "suiker-voedt-kanker")
    by_article = {p.article_id: p.id for p in service.learning.listing()}
    editor = login(service.app, service.keys["eva"])
    page = editor.get("/editor/learned")
    assert page.status_code == 200 and "voorgesteld" in page.text and "How can I get you" in page.text
    refused = editor.post("/editor/learned/decide", data={"phrasing": by_article["privacy-data-en"],
                                                         "decision": "approve", "csrf": "wrong"})
    assert refused.status_code == 403
    done = editor.post("/editor/learned/decide", data={"phrasing": by_article["privacy-data-en"],
                                                      "decision": "approve", "csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"].startswith("/editor/learned?done=approve")
    return by_article["privacy-data-en"], by_article["suiker-voedt-kanker"]


def test_retention_removes_unapproved_phrasings_and_keeps_approved_ones(service: Service) -> None:
    approved, proposed = _learned_pair(service)
    assert _top(service.suggest("bram", PRIVACY_COPIES[1]))["learned"]
    result = remove_expired_texts(service.db, 90, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=91))
    assert result.phrasings == 1
    service.learning.refresh()
    phrasings = {p.id: p for p in service.learning.book.phrasings.values()}
    assert phrasings[proposed].status is Status.EXPIRED and phrasings[proposed].text == ""
    assert phrasings[approved].status is Status.APPROVED and phrasings[approved].text == PRIVACY
    [row] = service.db.read(__import__("sqlalchemy").text(
        "SELECT text, vector FROM learned_phrasings WHERE id = :id"), id=proposed)
    assert row["text"] is None and row["vector"] is None
    assert _top(service.suggest("bram", PRIVACY_COPIES[1]))["learned"]  # approved: still in force


def _kb(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KB_DATA_DIR": str(settings.data_dir), "KB_ARTICLES_DIR": str(settings.articles_dir)}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_export_writes_front_matter_that_kb_lint_accepts_and_the_markdown_takes_over(service: Service) -> None:
    approved, _ = _learned_pair(service)
    path = service.settings.articles_dir / "en" / "privacy-data-en.md"
    original = path.read_bytes()
    try:
        dry = _kb(["learned", "export", "--dry-run"], service.settings)
        assert dry.returncode == 0 and '+  - "How can I get you to delete my details?' in dry.stdout
        assert path.read_bytes() == original
        done = _kb(["learned", "export"], service.settings)
        assert done.returncode == 0, done.stderr
        assert "learned_phrasings:" in path.read_text(encoding="utf-8")
        lint = _kb(["lint", str(service.settings.articles_dir)], service.settings)
        assert lint.returncode == 0, lint.stdout + lint.stderr
        reindex = service.client.post("/v1/index", json={},
                                      headers={"Authorization": f"Bearer {service.keys['eva']}"})
        assert reindex.status_code == 200, reindex.text
        assert service.learning.book.phrasings[approved].status is Status.MERGED
        top = _top(service.suggest("bram", PRIVACY_COPIES[1]))  # now from the article's own front matter
        assert (top["article_id"], top["learned"], top["confidence"]) == ("privacy-data-en", True, "high")
    finally:
        path.write_bytes(original)
        service.client.post("/v1/index", json={}, headers={"Authorization": f"Bearer {service.keys['eva']}"})


def test_reindexing_keeps_phrasings_flags_changed_articles_and_drops_removed_ones(service: Service) -> None:
    approved, proposed = _learned_pair(service)
    articles = service.settings.articles_dir
    privacy, sugar = articles / "en" / "privacy-data-en.md", articles / "nl" / "suiker-voedt-kanker.md"
    saved = {privacy: privacy.read_bytes(), sugar: sugar.read_bytes()}
    auth = {"Authorization": f"Bearer {service.keys['eva']}"}
    try:
        assert service.client.post("/v1/index", json={}, headers=auth).status_code == 200
        assert service.learning.book.phrasings[approved].is_evidence  # kept
        privacy.write_text(saved[privacy].decode("utf-8") + "\nOne more sentence from the editors.\n", "utf-8")
        sugar.unlink()
        assert service.client.post("/v1/index", json={}, headers=auth).status_code == 200
        book = service.learning.book.phrasings
        assert book[approved].is_evidence and book[approved].review  # changed article: kept, flagged
        assert book[proposed].status is Status.DROPPED and book[proposed].text == ""  # removed article
        editor = login(service.app, service.keys["eva"])
        assert "Het artikel is veranderd" in editor.get("/editor/learned?status=held").text
    finally:
        for path, raw in saved.items():
            path.write_bytes(raw)
        service.client.post("/v1/index", json={}, headers=auth)


# Coffee enemas in words no article uses: the sample KB does not even offer the Gerson article.
COFFEE = "koffie via je achterwerk tegen kanker... mn collega zweert erbij. iemand ervaring mee of is het kwakzalverij?"
COFFEE_COPIES = ("RT @joke: koffie via je achterwerk tegen kanker... mn collega zweert erbij. iemand ervaring mee of "
                 "is het kwakzalverij? #gezondheid",
                 "koffie via je achterwerk tegen kanker!! mn collega zweert erbij. iemand ervaring mee of is het "
                 "gewoon kwakzalverij?")
GERSON = "gerson-therapy-coffee-enemas"


def test_an_agent_can_search_and_choose_an_article_that_was_not_suggested(service: Service) -> None:
    out = service.suggest("anna", COFFEE)
    assert GERSON not in [s["article_id"] for s in out["suggestions"]]
    agent = login(service.app, service.keys["anna"])
    page = agent.get("/agent")
    found = agent.get("/agent/choose", params={"request_id": out["request_id"], "q": "koffie klysma"},
                      headers={"X-Fragment": "1"})
    assert found.status_code == 200 and f'value="{GERSON}"' in found.text and 'value="chosen"' in found.text
    chosen = agent.post("/agent/feedback", data={"csrf": csrf_of(page.text), "request_id": out["request_id"],
                                                 "article_id": GERSON, "action": "chosen"},
                        headers={"Accept": "application/json"})
    assert chosen.status_code == 201, chosen.text
    [row] = [r for r in service.db.feedback(10) if r["request_id"] == out["request_id"]]
    assert (row["article_id"], row["action"]) == (GERSON, "chosen")
    gone = agent.post("/agent/feedback", data={"csrf": csrf_of(page.text), "request_id": out["request_id"],
                                               "article_id": "no-such-article", "action": "chosen"},
                      headers={"Accept": "application/json"})
    assert gone.status_code == 422 and gone.json()["error"]["message"] == CHOSEN_GONE  # in Dutch, saying what to do
    unknown = agent.get("/agent/choose", params={"request_id": "nope", "q": "koffie"},
                        headers={"X-Fragment": "1", "Accept": "text/html, application/json"})  # as agent.js asks
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == UNKNOWN_REQUEST


def test_the_api_accepts_chosen_for_a_served_article_only(service: Service) -> None:
    out = service.suggest("anna", COFFEE)
    auth = {"Authorization": f"Bearer {service.keys['anna']}"}
    for body, status in (({"article_id": "no-such-article"}, 422), ({}, 422), ({"article_id": GERSON}, 201)):
        response = service.client.post("/v1/feedback", headers=auth,
                                       json={"request_id": out["request_id"], "action": "chosen", **body})
        assert response.status_code == status, response.text
        if status == 422:
            assert "article_id" in response.json()["error"]["message"]


def test_articles_two_agents_chose_answer_the_next_copy_from_the_learned_phrasing(service: Service) -> None:
    for who, message in (("anna", COFFEE), ("bram", COFFEE_COPIES[0])):
        out = service.suggest(who, message)
        service.feedback(who, out["request_id"], _top(out)["article_id"], "rejected")
        service.feedback(who, out["request_id"], GERSON, "chosen")
    top = _top(service.suggest("cleo", COFFEE_COPIES[1]))
    assert (top["article_id"], top["learned"], top["confidence"]) == (GERSON, True, "high")
