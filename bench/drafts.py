"""What the hard render bound costs: one draft rendered in this process (the sandbox alone, as before issue 25)
against the same draft rendered in a render process (kb/render_pool.py), interleaved in one run, and the time
to start the processes.

    >>> bench_drafts(Path("articles"), log=print)["ratio"]  # doctest: +SKIP
    2.1
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import paired
from kb.channels import Channel
from kb.corpus import build_corpus, iter_article_files
from kb.drafting import Drafter, draft_context
from kb.render_worker import reply_environment
from kb.template_files import TemplateFolderLoader
from kb.template_sandbox import render_bounded


def bench_drafts(articles_dir: Path, log: Callable[[str], None], *, rounds: int = 5) -> dict[str, Any]:
    """Per-render latency in process and in the render processes, over every served article x channel."""
    templates = articles_dir / "_templates"
    corpus = build_corpus(iter_article_files(articles_dir))
    started = time.perf_counter()
    drafter = Drafter(templates, workers=2)  # start-up: the processes start and every template is checked
    startup_s = time.perf_counter() - started
    try:
        env = reply_environment(TemplateFolderLoader(templates))
        cases = {f"{a.id}/{c}": (drafter._names[(c, a.meta.language)],
                                 draft_context(a, a.sections.answer, c, "Sam", "Anna de Vries"))
                 for a in corpus.served() for c in Channel}
        keys = list(cases) * rounds
        pool = drafter._pool
        assert pool is not None

        def in_process(key: str) -> object:
            name, context = cases[key]
            return render_bounded(env.get_template(name), context)

        def in_render_process(key: str) -> object:
            name, context = cases[key]
            return pool.render(name, [context])

        times = paired({"in_process": in_process, "render_process": in_render_process}, keys)
    finally:
        drafter.close()
    out: dict[str, Any] = {"renders": len(keys), "startup_s": round(startup_s, 3), "in_process": times["in_process"],
           "render_process": times["render_process"],
           "ratio": round(times["render_process"]["p50_ms"] / times["in_process"]["p50_ms"], 3)}
    log(f"drafts: one render p50 {out['in_process']['p50_ms']} ms in process, {out['render_process']['p50_ms']} ms "
        f"in a render process (ratio {out['ratio']}); p95 {out['in_process']['p95_ms']} / "
        f"{out['render_process']['p95_ms']} ms; processes started and templates checked in {out['startup_s']} s")
    return out
