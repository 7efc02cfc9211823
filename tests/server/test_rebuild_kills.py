"""kill -9 of `kb index --full` against a Qdrant server at ten random points of the rebuild: what is served never
changes, and the next run completes and removes what the killed runs left behind.

tests/e2e/test_indexer.py kills one local-mode rebuild; here the store is a server (where other processes keep
serving while the indexer dies) and the kill points are drawn with a seeded random delay across the build. Each
trial runs the `kb index --full` command in a process forked from this one, with the model and libraries already
imported (a fresh interpreter spends ~5-10 s importing before it writes anything), and kills it with SIGKILL;
the run that finishes the job is a real `kb index --full` subprocess.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from eval.golden import load_golden
from indexer.run import run_index
from kb.channels import Channel
from kb.config import Settings
from kb.engine import Engine
from kb.language import detect_language
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES, ROOT
from tests.infra.qdrant import QdrantNode
from tests.infra.warm import warm_data_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRIALS = 10
SEED = 20261124
ALIAS = "kb_kill"


def _index_full(env: dict[str, str]) -> None:
    """The body of a forked indexer process: exactly `kb index --full`, output discarded."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.update(env)
    from indexer.cli import index

    index.main(["--full"], standalone_mode=False)


def _builds(node: QdrantNode) -> set[str]:
    """Build collections, read over REST (no store, so no cache between the kill and the check)."""
    names = (c["name"] for c in node.rest("GET", "/collections").json()["result"]["collections"])
    return {n for n in names if n.startswith(f"{ALIAS}__")}


def _alias(node: QdrantNode) -> str | None:
    aliases = node.rest("GET", "/aliases").json()["result"]["aliases"]
    return next((a["collection_name"] for a in aliases if a["alias_name"] == ALIAS), None)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - started


def test_killing_the_indexer_anywhere_in_a_full_rebuild_never_changes_what_is_served(
        qdrant_server: QdrantNode, tmp_path: Path, sample_engine: Any, memo_embedder: Any) -> None:
    data = warm_data_dir(tmp_path / "data", sample_engine.settings.cache_path)
    settings = Settings(data_dir=data, articles_dir=ARTICLES, qdrant_url=qdrant_server.url, collection=ALIAS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(data), KB_ARTICLES_DIR=str(ARTICLES), KB_QDRANT_URL=qdrant_server.url,
               KB_COLLECTION=ALIAS, HF_HUB_OFFLINE="1")
    # Every third golden message (209, every topic): asked twelve times, the whole set was most of this test's time.
    messages = load_golden()[::3]
    queries = [SuggestQuery(message=m.text, channel=Channel.parse(m.channel), language=detect_language(m.text).language,
                            limit=3) for m in messages]

    def look() -> tuple[str | None, list[str], list[dict[str, Any]]]:
        """The served build, every build collection, and the answers to every golden message (a fresh store:
        nothing cached from before the kill)."""
        with Engine.open(settings, embedder=memo_embedder) as engine, ThreadPoolExecutor(4) as pool:
            # Threads: most of a suggestion is waiting for Qdrant, and this runs twelve times.
            answers = list(pool.map(lambda q: asdict(engine.suggester.suggest(q)), queries))
            return engine.store.resolve_alias(ALIAS), engine.store.collections(f"{ALIAS}__"), answers

    fork = multiprocessing.get_context("fork")

    def start_rebuild(known: set[str]) -> Any:
        """Fork `kb index --full` and return once its new build collection exists."""
        process = fork.Process(target=_index_full, args=(env,))
        process.start()
        _wait(lambda: not process.is_alive() or bool(_builds(qdrant_server) - known),
              "the rebuild to create its collection")
        assert process.is_alive(), f"the rebuild ended (exit {process.exitcode}) before it could be killed"
        return process

    with Engine.open(settings, embedder=memo_embedder) as engine:
        assert not run_index(engine, ARTICLES).errors
    served, builds, answers = look()
    assert served is not None and builds == [served]

    # One rebuild left to finish measures the window from its new collection to the alias swap.
    process = start_rebuild(set(builds))
    window = _wait(lambda: _alias(qdrant_server) != served, "the alias swap")
    process.join(60)
    assert process.exitcode == 0
    started = time.monotonic()
    served, builds, reference = look()
    look_seconds = time.monotonic() - started
    assert reference == answers and builds == [served]

    rng = random.Random(SEED)
    outcomes: list[tuple[float, str, int]] = []
    kill_window, finished = window, 0
    while len(outcomes) < TRIALS:
        trial = len(outcomes)
        process = start_rebuild(set(builds))
        delay = rng.uniform(0, kill_window)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.join(30)
        if process.exitcode == 0:  # this run was faster than the measured one and finished first: no kill
            finished += 1
            assert finished <= TRIALS, "the rebuilds keep finishing before the kill"
            kill_window *= 0.8
            served, builds = _alias(qdrant_server), sorted(_builds(qdrant_server))
            continue
        assert process.exitcode == -signal.SIGKILL
        now_served, now_builds, now_answers = look()
        swapped = now_served != served
        outcomes.append((round(delay, 2), "swapped" if swapped else "unchanged", len(now_builds)))
        if swapped:  # killed after the swap: the new build is complete and marked ready
            with Engine.open(settings, embedder=memo_embedder) as engine:
                assert now_served is not None and engine.store.metadata(now_served)["state"] == "ready"
            served = now_served
        assert now_answers == answers, f"trial {trial}: answers changed after a kill {delay:.2f} s into the build"
        builds = now_builds
    print(f"\nrebuild window {window:.2f} s; golden check {look_seconds:.1f} s; {finished} runs finished before "
          f"their kill; kills (delay s, alias, build collections left): {outcomes}")
    assert any(outcome == "unchanged" for _, outcome, _ in outcomes)  # at least one died mid-build...
    assert any(left > 1 for _, _, left in outcomes)  # ...and left a half-written build behind

    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", "--full"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    final_served, final_builds, final_answers = look()
    assert final_builds == [final_served] and final_served not in builds  # every leftover and the old build gone
    assert final_answers == answers
