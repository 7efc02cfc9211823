"""Issue 25, point 7: 3,600 failed logins in 8 s all answered 401. Failed logins and bad keys are now throttled per
client address and per key id (api/throttle.py), with 429 and Retry-After, and the right key still works from
elsewhere while an attacker hammers wrong ones, also on that key's own id. Over HTTP, on the real app; each
client is its own address (TestClient's `client`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import assert_error_shape, make_keys

pytestmark = pytest.mark.e2e

App = tuple[Callable[[str], TestClient], dict[str, str]]


@pytest.fixture()
def app(sample_engine: Any, tmp_path: Path) -> Iterator[App]:
    keys = make_keys(tmp_path)
    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path, "key_rate": 0.0, "auth_failures": 5,
                                                         "auth_failure_seconds": 60.0})
    made = create_app(settings, sample_engine)
    clients: list[TestClient] = []

    def client(address: str) -> TestClient:
        c = TestClient(made, raise_server_exceptions=False, follow_redirects=False, client=(address, 40000))
        clients.append(c)
        return c

    with TestClient(made):  # one lifespan for all the addresses
        yield client, keys
    for c in clients:
        c.close()


def _login(client: TestClient, key: str) -> Any:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    return client.post("/login", data={"csrf": token.group(1), "key": key})


def _api(client: TestClient, key: str) -> Any:
    return client.get("/v1/articles?limit=1", headers={"Authorization": f"Bearer {key}"})


def test_failed_logins_from_one_address_get_429_and_the_right_key_works_from_another(app: App) -> None:
    client, keys = app
    attacker, holder = client("198.51.100.7"), client("203.0.113.20")
    statuses = [_login(attacker, f"kb_00000000_guess{i}").status_code for i in range(30)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    refused = _login(attacker, keys["editor"])  # not even checked now: the address is throttled
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Wacht" in refused.text  # the login page says, in Dutch, to wait before trying again
    assert _login(holder, keys["editor"]).status_code == 303


def test_bad_api_keys_from_one_address_get_429_with_the_error_body(app: App) -> None:
    client, keys = app
    attacker = client("198.51.100.8")
    statuses = [_api(attacker, f"kb_deadbeef_{i}").status_code for i in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    error = assert_error_shape(_api(attacker, "anything"), 429)
    assert error["code"] == "too_many_requests"
    assert _api(client("203.0.113.21"), keys["agent"]).status_code == 200


def test_an_attack_on_one_key_id_from_many_addresses_never_locks_out_its_holder(app: App) -> None:
    client, keys = app
    key_id = keys["qa"].split("_")[1]
    wrong = f"kb_{key_id}_not-the-secret"
    first = [_api(client(f"198.51.100.{i}"), wrong).status_code for i in range(10, 20)]
    assert set(first) == {401}  # each address's first try is checked (and fails)
    again = [_api(client(f"198.51.100.{i}"), wrong).status_code for i in range(10, 20)]
    assert set(again) == {429}, again  # the id is under attack: those that failed on it wait
    assert _api(client("203.0.113.22"), keys["qa"]).status_code == 200  # the holder, elsewhere
    assert _login(client("203.0.113.23"), keys["qa"]).status_code == 303
    assert _api(client("203.0.113.24"), wrong).status_code == 401  # a new address: one try, checked
