"""Reply templates as untrusted code (kb/template_sandbox.py, kb/drafting.py): files only from `_templates/`,
every render bounded in steps, size, output and time, every problem listed at once, and a draft that still
answers when a template fails on real data. Bounds are counted, not timed: the same template stops at the same
place on any machine."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from kb.channels import Channel
from kb.drafting import Drafter, template_problems
from kb.errors import TemplateError
from kb.parsing import parse_bytes
from kb.template_files import TemplateFolderLoader
from kb.template_sandbox import LIMITS, BoundedSandbox, RenderLimit, render_bounded
from tests.conftest import ARTICLES
from tests.security.conftest import article

pytestmark = pytest.mark.unit

#: Hostile template source -> words of the problem it must give.
HOSTILE = {
    "{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}": "steps",
    "{{ 'x' * 50000000 }}": "50000000",
    "{% set n = 50000 %}{{ 'ab' * n }}": "over 50000",
    "{{ answer|center(100000000) }}": "over the limit",
    "{{ ('x' * 40000)|replace('', 'yyyyyyyyyy') }}": "replace",
    "{{ range(9000)|join('x' * 40000) }}": "join",
    "{{ '{:>999999999}'.format(1) }}": "format string",
    "{{ '%0999999999d' % 1 }}": "format string",
    "{{ 10 ** (10 ** 8) }}": "'**'",
    "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}": "value over",
    "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}":
        "value over",
    "{% set x %}{% for i in range(9000) %}{{ answer }}{{ answer }}{% endfor %}{% endset %}{{ x|length }}":
        "writes more than",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}": "steps",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}": "recursive loops",
    "{% for a in answer %}{% for b in answer %}{% endfor %}{% endfor %}{{ answer }}": "steps",
    "{{ lipsum(9999) }}": "'lipsum' is undefined",
    "{{ answer.__class__.__mro__[1].__subclasses__() }}": "unsafe",
    "{% include '../../../etc/passwd' %}": "passwd",
}


@pytest.mark.parametrize("source", list(HOSTILE))
def test_a_hostile_template_is_one_clear_problem_at_lint(templates: Path, source: str) -> None:
    (templates / "x.en.j2").write_text(source)
    problems = template_problems(templates)
    assert [p.path for p in problems] == [str(templates / "x.en.j2")], problems
    assert HOSTILE[source] in problems[0].message, problems[0]


def test_every_bad_template_is_reported_at_once_and_start_up_names_them_all(templates: Path) -> None:
    (templates / "x.en.j2").write_text("{{ 'x' * 50000000 }}")
    (templates / "whatsapp.nl.j2").write_text("{% for i in range(100000) %}{% endfor %}")
    (templates / "email.en.j2").write_text("{{ no_such_variable }}")
    (templates / "env.txt").symlink_to("/proc/self/environ")
    problems = template_problems(templates)
    assert [Path(p.path).name for p in problems] == ["email.en.j2", "env.txt", "whatsapp.nl.j2", "x.en.j2"]
    with pytest.raises(TemplateError) as raised:
        Drafter(templates)
    assert len(raised.value.problems) == 4
    assert all(Path(p.path).name in str(raised.value) for p in problems)


def test_templates_that_are_links_or_include_links_are_refused_and_nothing_is_read(templates: Path,
                                                                                   tmp_path: Path) -> None:
    secret = tmp_path / "session-secret"
    secret.write_text("the-session-secret")
    (templates / "sig.txt").symlink_to(secret)
    (templates / "email.nl.j2").write_text("{{ answer }}{% include 'sig.txt' %}")
    (templates / "x.nl.j2").unlink()
    (templates / "x.nl.j2").symlink_to(secret)
    problems = [str(p) for p in template_problems(templates)]
    assert any("sig.txt:1: is a symbolic link" in p for p in problems)
    assert any("email.nl.j2:1: template error: template 'sig.txt' is a symbolic link" in p for p in problems)
    assert any("x.nl.j2:1: is a symbolic link" in p for p in problems)
    assert all("the-session-secret" not in p for p in problems)


def test_a_templates_folder_that_is_a_link_is_refused(templates: Path, tmp_path: Path) -> None:
    linked = tmp_path / "articles" / "_templates"
    linked.parent.mkdir()
    linked.symlink_to(templates, target_is_directory=True)
    assert "symbolic link" in template_problems(linked)[0].message


def test_the_loader_opens_only_regular_files_inside_its_folder(templates: Path, tmp_path: Path) -> None:
    env = jinja2.Environment(loader=TemplateFolderLoader(templates))
    (tmp_path / "outside.j2").write_text("outside")
    os.mkfifo(templates / "pipe.j2")
    (templates / "big.j2").write_text("x" * 70_000)
    for name, words in (("../outside.j2", "outside.j2"), ("pipe.j2", "not a regular file"),
                        ("big.j2", "over the limit"), ("missing.j2", "missing.j2")):
        with pytest.raises(jinja2.TemplateNotFound, match=words):
            env.get_template(name)
    assert env.get_template("default.en.j2").render(answer="A", customer_name=None, sources=[],
                                                    signature="S").strip().endswith("S")


def test_the_shipped_templates_render_far_inside_their_bounds() -> None:
    env = BoundedSandbox(loader=TemplateFolderLoader(ARTICLES / "_templates"))
    for name in ("default.nl.j2", "email.en.j2", "x.nl.j2"):
        text = render_bounded(env.get_template(name), {
            "answer": "Antwoord. " * 50, "customer_name": "Sam", "signature": "Team", "initials": "HG",
            "sources": [{"title": "Bron", "url": "https://example.org/"}] * 10, "channel": "x", "language": "nl",
            "article": {"id": "a", "title": "A", "type": "faq", "verdict": None}}, LIMITS)
        assert 0 < len(text) < LIMITS.output / 10


def test_a_render_outside_the_bounded_path_is_refused() -> None:
    template = BoundedSandbox().from_string("{% for i in range(3) %}{{ i }}{% endfor %}")
    with pytest.raises(RenderLimit, match="render_bounded"):
        template.render()
    assert render_bounded(template, {}) == "012"


def test_a_draft_whose_template_fails_on_real_data_falls_back_to_the_approved_answer(templates: Path) -> None:
    """The test renders pass (their samples are not this article), but this article sends the template into a
    loop over its steps: the agent still gets the approved answer, flagged, and never a failed request."""
    (templates / "default.en.j2").write_text(
        "{% if article.id == 'long' %}{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
        "{% endif %}Hi! {{ answer }}")
    drafter = Drafter(templates, strict=False)
    long_article = parse_bytes(article("long", "This goes on. " * 40).encode(), "long.md").article
    assert long_article is not None
    draft = drafter.draft(long_article, Channel.FACEBOOK, customer_name="Sam")
    assert draft.warnings == ("template_error",)
    assert draft.text.startswith("No, baking soda does not cure cancer.") and "Hi!" not in draft.text
