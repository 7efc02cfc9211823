"""Kind templates (issue 27) are editor-written code like the article templates (issue 25): the same allow-list of
calls refuses a slow call by name at lint, and in the service they render in the same killable processes, so a
render that never returns costs the kind's reply its deadline, never the request."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import render_pool
from kb.article import Language
from kb.channels import Channel
from kb.drafting import Drafter
from kb.kind_templates import KindTemplates, sample_context, tidy
from kb.kinds import Kind
from kb.render_pool import RenderFailed
from kb.template_sandbox import render_bounded
from tests.security.test_render_processes import PUNYCODE

pytestmark = pytest.mark.unit

NAME = "kinds/thanks.default.nl.j2"


@pytest.fixture()
def drafter(templates: Path) -> Iterator[Drafter]:
    with Drafter(templates, workers=1) as made:
        yield made


def test_a_kind_template_calling_off_the_allow_list_is_refused_by_name_at_lint(templates: Path) -> None:
    (templates / NAME).write_text("Dank je! " + PUNYCODE)
    started = time.monotonic()
    problems = KindTemplates(templates, strict=False).problems
    assert [Path(p.path).name for p in problems] == ["thanks.default.nl.j2"], problems
    assert "'encode'" in problems[0].message
    assert time.monotonic() - started < 5  # refused before the quadratic call, not after it


def test_kind_replies_render_in_the_processes_exactly_as_in_process(templates: Path, drafter: Drafter) -> None:
    kinds = KindTemplates(templates, render_in=drafter.render_template)
    plain = KindTemplates(templates)
    for kind in (Kind.THANKS, Kind.COMPLAINT, Kind.STORY):
        for channel in Channel:
            name = kinds.reply_name(kind, channel, Language.NL)
            assert name is not None
            context = sample_context(kind, channel, Language.NL)
            assert kinds.render(name, context) == plain.render(name, context)
            assert kinds.render(name, context) == tidy(render_bounded(plain._compiled[name], context))


def test_a_kind_render_that_never_returns_is_killed_at_the_deadline(templates: Path, drafter: Drafter,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_pool, "STARVED", 1.0)  # the stopped process meets the limit itself (as if it burnt it)
    kinds = KindTemplates(templates, render_in=drafter.render_template)
    assert drafter._pool is not None
    stopped = drafter._pool.pids()
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)  # as a call that never returns: it cannot yield to anything
    started = time.monotonic()
    with pytest.raises(RenderFailed):
        kinds.render(NAME, sample_context(Kind.THANKS, Channel.X, Language.NL))
    assert time.monotonic() - started < drafter._pool.seconds + 3
    assert not set(stopped) & set(drafter._pool.pids())  # killed and replaced
    assert kinds.render(NAME, sample_context(Kind.THANKS, Channel.X, Language.NL))  # the replacement renders
