"""The editor-owned replies per message kind: Jinja2 templates in `_templates/kinds/`, compiled and test-rendered
at start-up and by `kb lint`, rendered in the same bounded sandbox as the article templates (kb.template_sandbox).

Files (plain text, never `.html.j2`):

- `<kind>.<channel>.<language>.j2`, falling back to `<kind>.default.<language>.j2`: the reply to a message of
  that kind (complaint, thanks, story, offtopic; abuse and spam only if a team wants drafts for them). When a
  complaint or a story is about a subject the knowledge base covers, the same template is rendered with the
  article's approved `answer` (and its `sources`), so the acknowledgement and the next step frame the facts.
- `<kind>.guideline.<language>.j2`: what the agent should do with such a message (for abuse and spam: the
  moderation guideline that takes the place of a draft). Shown to the agent, never sent.

Every kind in `REQUIRED_REPLIES` needs a reply template and every kind in `REQUIRED_GUIDELINES` a guideline, per
language; a reply without an answer must fit every channel it is used for (an acknowledgement is never cut).

    >>> templates = KindTemplates(Path("articles/_templates"))
    >>> templates.reply_name(Kind.THANKS, Channel.X, Language.NL)
    'kinds/thanks.x.nl.j2'
    >>> kind_template_problems(Path("articles/_templates"))
    []
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from kb.article import Language
from kb.channels import Channel
from kb.errors import KbError, Problem, TemplateError
from kb.kinds import Kind
from kb.template_files import TemplateFolderLoader, error_line
from kb.template_sandbox import BoundedSandbox, render_bounded

FOLDER = "kinds"
REQUIRED_REPLIES = (Kind.COMPLAINT, Kind.THANKS, Kind.STORY)
REQUIRED_GUIDELINES = (Kind.ABUSE, Kind.SPAM)
_NAME = re.compile(r"^(?P<kind>[a-z]+)\.(?P<channel>[a-z]+)\.(?P<language>[a-z]{2})\.j2$")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Trailing blanks and runs of blank lines out: what a template's optional parts leave behind."""
    return _BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in text.strip().splitlines()))


def sample_context(kind: Kind, channel: Channel, language: Language, *, answer: str | None = None,
                   name: str | None = "Sam") -> dict[str, Any]:
    """What a test render passes: the variables every kind template may use (see articles/_templates/README.md)."""
    return {"kind": str(kind), "channel": str(channel), "language": str(language), "customer_name": name,
            "agent_signature": None, "signature": "Team Hoop & Gezondheid", "initials": "HG", "answer": answer,
            "sources": [{"title": "Bron", "url": "https://www.example.org/"}] if answer else [],
            "article": {"id": "voorbeeld", "title": "Voorbeeld", "type": "faq", "verdict": None} if answer else None}


class KindTemplates:
    """Compiles every kind template once; `render` and `guideline` only render.

    `strict` (start-up): any problem raises TemplateError carrying all of them; otherwise `.problems` lists them."""

    def __init__(self, templates_dir: Path, *, strict: bool = True,
                 render_in: Callable[[str, dict[str, Any]], str] | None = None) -> None:
        self.folder = templates_dir / FOLDER
        # The service renders in the drafter's killable processes (Drafter.render_template), as article drafts
        # are: the sandbox's step counter alone cannot stop one long call. Without it (lint, tests): in process.
        self._render_in = render_in
        self._env = BoundedSandbox(loader=TemplateFolderLoader(templates_dir), undefined=jinja2.StrictUndefined,
                                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
        self._names = self._discover()
        self._compiled: dict[str, jinja2.Template] = {}
        self.problems = self.check()
        if self.problems and strict:
            first, *rest = self.problems
            raise TemplateError(first.path, first.line, first.message, more=rest)

    def _discover(self) -> set[str]:
        if not self.folder.is_dir() or self.folder.is_symlink():
            return set()
        return {e.name for e in os.scandir(self.folder) if e.is_file(follow_symlinks=False) and _NAME.match(e.name)}

    def reply_name(self, kind: Kind, channel: Channel, language: Language) -> str | None:
        for candidate in (f"{kind}.{channel}.{language}.j2", f"{kind}.default.{language}.j2"):
            if candidate in self._names:
                return f"{FOLDER}/{candidate}"
        return None

    def guideline_name(self, kind: Kind, language: Language) -> str | None:
        candidate = f"{kind}.guideline.{language}.j2"
        return f"{FOLDER}/{candidate}" if candidate in self._names else None

    def check(self) -> list[Problem]:
        """Every problem of the kinds folder as path:line: odd entries, unknown names, missing required templates,
        templates that do not compile or render, and replies whose acknowledgement alone does not fit a channel."""
        if not self.folder.exists() and not self.folder.is_symlink():
            return [Problem(str(self.folder), 1, f"no kind templates: add {FOLDER}/<kind>.default.<language>.j2 "
                                                 "(see _templates/README.md)")]
        if self.folder.is_symlink() or not self.folder.is_dir():
            return [Problem(str(self.folder), 1, "is not a folder (or is a symbolic link): refused")]
        problems = self._odd_entries()
        for name in sorted(self._names):
            problems.extend(self._check_name(name))
        for language in Language:
            for kind in REQUIRED_REPLIES:
                if self.reply_name(kind, Channel.FACEBOOK, language) is None and not all(
                        self.reply_name(kind, c, language) for c in Channel):
                    problems.append(Problem(str(self.folder), 1, f"no reply for {kind}/{language}: add "
                                                                 f"{kind}.default.{language}.j2"))
            for kind in REQUIRED_GUIDELINES:
                if self.guideline_name(kind, language) is None:
                    problems.append(Problem(str(self.folder), 1, f"no moderation guideline for {kind}/{language}: "
                                                                 f"add {kind}.guideline.{language}.j2"))
        for language in Language:
            for kind in Kind:
                for channel in Channel:
                    problems.extend(self._fits(kind, channel, language))
        return sorted(set(problems))

    def _odd_entries(self) -> list[Problem]:
        problems = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            path = entry.path
            if entry.is_symlink():
                problems.append(Problem(path, 1, "is a symbolic link: refused (templates are read only as regular "
                                                 "files inside _templates/)"))
            elif not entry.is_file(follow_symlinks=False):
                problems.append(Problem(path, 1, "is not a regular file: refused"))
            elif not _NAME.match(entry.name):
                problems.append(Problem(path, 1, "not a kind template name: <kind>.<channel|default|guideline>."
                                                 "<language>.j2"))
            else:
                m = _NAME.match(entry.name)
                assert m is not None
                kind, channel, language = m["kind"], m["channel"], m["language"]
                if kind not in {k.value for k in Kind} - {Kind.QUESTION.value}:
                    problems.append(Problem(path, 1, f"unknown kind '{kind}': use one of "
                                                     f"{', '.join(k for k in Kind if k is not Kind.QUESTION)}"))
                elif channel not in {c.value for c in Channel} | {"default", "guideline"}:
                    problems.append(Problem(path, 1, f"unknown channel '{channel}': use a channel, default or "
                                                     "guideline"))
                elif language not in {lang.value for lang in Language}:
                    problems.append(Problem(path, 1, f"unknown language '{language}'"))
        return problems

    def _check_name(self, name: str) -> list[Problem]:
        path = str(self.folder / name)
        m = _NAME.match(name)
        assert m is not None
        try:
            kind, language = Kind(m["kind"]), Language(m["language"])
        except ValueError:
            return []  # reported by _odd_entries
        channel = Channel.X if m["channel"] in ("default", "guideline") else Channel(m["channel"])
        try:
            template = self._env.get_template(f"{FOLDER}/{name}")
            for answer in (None, "Een voorbeeldantwoord. " * 40):
                for customer in ("Alexandra van der Berg-Jansen", None):
                    render_bounded(template, sample_context(kind, channel, language, answer=answer, name=customer))
        except jinja2.TemplateSyntaxError as e:
            return [Problem(path, e.lineno or 1, f"template syntax error: {e.message}")]
        except Exception as e:  # an undefined variable, a sandbox violation, a bound exceeded
            return [Problem(path, error_line(e, name), f"template error: {e}")]
        self._compiled[f"{FOLDER}/{name}"] = template
        return []

    def _fits(self, kind: Kind, channel: Channel, language: Language) -> list[Problem]:
        name = self.reply_name(kind, channel, language)
        if name is None or name not in self._compiled:
            return []
        text = self.render(name, sample_context(kind, channel, language, name="Alexandra van der Berg-Jansen"))
        if channel.length(text) > channel.max_length:
            return [Problem(str(self.folder / name.split("/", 1)[1]), 1,
                            f"the {kind} reply without an answer is {channel.length(text)} characters on {channel}, "
                            f"over its {channel.max_length}: the acknowledgement is never cut, so shorten it")]
        return []

    def render(self, name: str, context: dict[str, Any]) -> str:
        """The template `name` (from reply_name/guideline_name) rendered and tidied; raises on a render error."""
        if self._render_in is not None:
            return tidy(self._render_in(name, context))
        return tidy(render_bounded(self._compiled[name], context))


def kind_template_problems(templates_dir: Path) -> list[Problem]:
    """Every problem of the kind templates, for `kb lint` and the editor page; never raises."""
    try:
        return KindTemplates(templates_dir, strict=False).problems
    except KbError as e:
        return [Problem(str(templates_dir / FOLDER), 1, e.message)]
    except Exception as e:  # one broken folder must not take the lint run or the page down
        return [Problem(str(templates_dir / FOLDER), 1, f"cannot check the kind templates: {type(e).__name__}: {e}")]
