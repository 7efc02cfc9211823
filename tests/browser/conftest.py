"""Browser tests: a real `kb serve` on a test site (sample articles + a hostile and a broken article, a git
history, one evaluation report) and the system Chromium driven by Playwright, one of each for the whole folder.

Chromium comes from Debian (`scripts/install-browser.sh`, run by `make test`); Playwright never downloads one.
Where it truly cannot be installed, every browser test skips with the reason in the `-ra` summary.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.embedding import copy_cache
from tests.api.conftest import make_keys
from tests.browser.site import Site, make_site
from tests.conftest import ROOT
from tests.e2e.test_serve import Service
from tests.infra.processes import free_port

CHROMIUM = Path(os.environ.get("KB_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return (f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing and could not be installed; run "
                "`sudo scripts/install-browser.sh` (Debian packages chromium and chromium-driver)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"BROWSER TESTS NOT RUN: the playwright package is not installed ({e}); run `make setup`"
    return None


class PageService(Service):
    """The e2e `Service`, plus where the test site lives."""

    site: Site

    def feedback_rows(self) -> list[dict[str, Any]]:
        """Feedback as stored on disk, read straight from the service's SQLite file."""
        with sqlite3.connect(self.site.data / "kennisbank.sqlite") as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any) -> Iterator[PageService]:
    base = tmp_path_factory.mktemp("browser")
    site = make_site(base, git=True)
    # The session's embeddings (same model, same texts): indexing costs seconds, not half a minute.
    copy_cache(sample_engine.settings.cache_path, site.data / "embeddings.sqlite")
    port = free_port()
    env = {**os.environ, "KB_DATA_DIR": str(site.data), "KB_ARTICLES_DIR": str(site.articles),
           "KB_REPORTS_DIR": str(site.reports), "KB_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    for name in ("KB_API_KEY", "KB_DATABASE_URL", "KB_QDRANT_URL", "KB_SESSION_SECRET"):
        env.pop(name, None)
    svc = PageService(base, port, env, make_keys(site.data))
    svc.site = site
    indexed = svc.kb("index")
    assert indexed.returncode == 0, indexed.stderr
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def open_as(browser: Any, service: PageService) -> Iterator[Any]:
    """open_as(role) -> a logged-in page in its own context (clipboard allowed); console errors are collected
    in `page.errors` and must stay empty."""
    contexts: list[Any] = []

    def open_page(role: str) -> Any:
        context = browser.new_context(viewport=LAPTOP, permissions=["clipboard-read", "clipboard-write"],
                                      base_url=service.url, locale="nl-NL")
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" and
                "status of 403" not in m.text else None)
        page.goto("/login")
        page.fill("#key", service.keys[role])
        page.press("#key", "Enter")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shoot(page: Any, name: str) -> list[Path]:
    """Full-page screenshots at laptop and phone width: test-artifacts/screenshots/<name>-{laptop,phone}.png;
    the page must fit the width (no sideways scrolling)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")  # sticky parts sit where they would for a reader at the top
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name}: {width} px wide at {label} width, so it scrolls sideways"
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(LAPTOP)
    return paths
