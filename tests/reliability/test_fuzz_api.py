"""schemathesis (4.x) over the OpenAPI schema, with an admin key: every operation, no 5xx, and every answer
conforms to the schema (status documented, body and headers as documented). Not skippable: a test checks that
every operation of the app is in the run.

The app serves a small copy of the articles (re-indexing them is part of the run and must stay cheap)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection

from api.db import open_database
from kb.config import Settings
from tests.conftest import ARTICLES

pytestmark = [pytest.mark.e2e]
FEW = ("nl/suiker-voedt-kanker.md", "nl/alkalisch-dieet-kanker.md", "en/fluoride-cancer.md")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Iterator[tuple[Any, str]]:
    from api.app import create_app
    from indexer.run import run_index
    from kb.engine import Engine

    base = tmp_path_factory.mktemp("fuzz")
    articles = base / "articles"
    shutil.copytree(ARTICLES / "_templates", articles / "_templates")
    for name in FEW:
        (articles / name).parent.mkdir(parents=True, exist_ok=True)
        text = (ARTICLES / name).read_text(encoding="utf-8")  # links to articles left out would be errors
        text = re.sub(r"(?m)^translations: .*\n", "", text)
        (articles / name).write_text(re.sub(r"(?m)^related: .*$", "related: []", text), encoding="utf-8")
    # key_rate 0: the fuzzer is one fast client, and 429s would only hide the operations from it.
    settings = Settings(data_dir=base / "data", articles_dir=articles, key_rate=0)
    engine = Engine.open(settings, embedder=real_embedder)
    report = run_index(engine, articles)
    assert not report.errors, report.errors
    db = open_database(Settings(data_dir=settings.data_dir))
    admin = db.add_key("admin", name="fuzzer")[0]
    db.close()
    yield create_app(settings, engine), admin
    engine.close()


def _openapi() -> dict[str, Any]:
    """The document, from an app that is built but not started (no model, no store, no key needed)."""
    from api.app import create_app

    return dict(create_app(Settings()).openapi())


# Built at import (schemathesis' lazy fixture loader does not work with pytest 9); requests go to the
# module's running app, attached to the schema in the test.
schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_answers_as_documented_and_never_5xx(case: Any, fuzz_app: tuple[Any, str]) -> None:
    app, admin = fuzz_app
    case.operation.app = case.operation.schema.app = app  # as from_asgi would; the checks' probes go there too
    response = case.call_and_validate(headers={"Authorization": f"Bearer {admin}"},
                                      excluded_checks=[negative_data_rejection] if _lossy(case) else None)
    assert response.status_code < 500, response.text


def _lossy(case: Any) -> bool:
    """A "negative" case whose only invalid parts are its headers or query: the test sends its own valid key, and
    a query goes out as text (an object, a number or an empty-named parameter that makes it invalid is gone or a
    valid string on the wire), so the request as sent may well be valid. Which such cases hypothesis draws shifts
    with any change to the schema; invalid bodies and paths are still required to be refused."""
    negative = {location for location, part in (case.meta.components if case.meta else {}).items()
                if part.mode.is_negative}
    return bool(negative) and negative <= {ParameterLocation.QUERY, ParameterLocation.HEADER}


def test_the_fuzz_run_covers_every_operation_of_the_app(fuzz_app: tuple[Any, str]) -> None:
    fuzzed = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    documented = {(m.upper(), p) for p, ops in fuzz_app[0].openapi()["paths"].items() for m in ops}
    assert fuzzed == documented and len(fuzzed) >= 8

