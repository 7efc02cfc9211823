"""Reply drafts: an article's approved answer put into the editor-owned template of a channel and language.

Templates live in `articles/_templates/` as `<channel>.<language>.j2` with `default.<language>.j2` as the
fallback. They are compiled and test-rendered when a `Drafter` is made (start-up, `kb lint`), never first at
request time, and every problem of every template is reported at once. Jinja2 runs sandboxed, reads only regular
files inside the templates folder and renders within bounds of work, size and time (kb/template_sandbox.py), at
the test render and for every draft; templates ending in `.html.j2` are autoescaped. A draft whose template goes
over a bound falls back to the approved answer alone, with the warning `template_error`.

Only the template's own words, the article's text and its sources, and the names passed in (customer, agent)
can appear in a draft: nothing is generated. The agent's sign-off goes in exactly as the agent gave it (`^SA`
stays `^SA`, `Sanne` stays `Sanne`); a template chooses its own default for when none is given.

    >>> from kb.parsing import parse_article
    >>> article = parse_article(Path("articles/nl/suiker-voedt-kanker.md")).article
    >>> drafter = Drafter(Path("articles/_templates"))
    >>> drafter.draft(article, Channel.X, customer_name="Sam").text
    'Hoi Sam! ... https://... ^HG'
    >>> drafter.draft(article, Channel.X, signature="^SA").text
    '... https://... ^SA'
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from kb.article import Article, Language
from kb.channels import Channel
from kb.errors import KbError, Problem, TemplateError
from kb.template_sandbox import BoundedSandbox, TemplateFolderLoader, render_bounded

log = logging.getLogger("kb.drafting")

DEFAULT_SIGNATURE = "Team Hoop & Gezondheid"
#: As long as the API lets a name or sign-off be (api.schemas), so nothing an agent typed is cut off unseen.
_NAME_MAX = 80
_BLANK_LINES = re.compile(r"\n{3,}")
_UNSAFE_NAME = re.compile(r"https?://|www\.|[<>{}\[\]\\]|[\x00-\x1f\x7f]", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    """A rendered reply and what the agent should know about it."""

    text: str
    length: int
    used_short_answer: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)


def clean_name(value: str | None) -> str | None:
    """A customer or agent name fit to put in a reply: one line, bounded, no links or markup characters.

        >>> clean_name("  ^SA "), clean_name(" Anna  de Vries"), clean_name("www.spam.example")
        ('^SA', 'Anna de Vries', None)
    """
    if not value:
        return None
    value = unicodedata.normalize("NFC", " ".join(value.split()))[:_NAME_MAX]
    if _UNSAFE_NAME.search(value):
        return None
    return value or None


def name_problem(value: str | None) -> str | None:
    """Why `value` cannot go into a reply as a name or sign-off, or None when it can (or is empty): for the
    request models, which refuse an agent's sign-off rather than silently sign with another.

        >>> name_problem("^SA") is None, name_problem("<b>SA</b>") is None
        (True, False)
    """
    if value is None or not value.strip() or clean_name(value) is not None:
        return None
    return "has a link or one of the characters < > { } [ ] \\ or a control character"


def initials(signature: str | None) -> str:
    """For templates written before `agent_signature` existed (`^{{ initials }}`): a sign-off that already is
    one comes out unchanged ('^SA' and 'SA' -> 'SA', so `^{{ initials }}` gives '^SA'); a full name gives its
    initials ('Anna de Vries' -> 'AV', Dutch name particles skipped); none gives 'HG'.

        >>> initials("^SA"), initials("SA"), initials("Anna van der Berg"), initials(None)
        ('SA', 'SA', 'AB', 'HG')
    """
    sign = (signature or "").strip()
    if sign.startswith("^") and len(sign) > 1:
        return sign[1:]
    if sign and " " not in sign and len(sign) <= 4 and sign.isupper():
        return sign
    particles = {"de", "van", "der", "den", "het", "ter", "ten", "te", "op", "in", "'t"}
    words = [w for w in sign.split() if w.lower() not in particles and w[:1].isalpha()]
    return "".join(w[0].upper() for w in words)[:3] or "HG"


class Drafter:
    """Compiles every template once; `draft()` only renders.

    `strict` (the default, for start-up): any template problem raises `TemplateError` carrying all of them.
    `Drafter(folder, strict=False).problems` lists them instead (`kb lint`, the editor page)."""

    def __init__(self, templates_dir: Path, *, strict: bool = True) -> None:
        self.templates_dir = templates_dir
        self._env = BoundedSandbox(
            loader=TemplateFolderLoader(templates_dir),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._templates: dict[tuple[Channel, Language], jinja2.Template] = {}
        self.problems = self.check()
        if self.problems and strict:
            first, *rest = self.problems
            raise TemplateError(first.path, first.line, first.message, more=rest)

    def check(self) -> list[Problem]:
        """Compile and test-render every channel x language; every problem of every template, as path:line."""
        if self.templates_dir.is_symlink():
            return [Problem(str(self.templates_dir), 1, "the templates folder is a symbolic link: refused")]
        if not self.templates_dir.is_dir():
            return [Problem(str(self.templates_dir), 1, "templates folder not found")]
        problems = self._odd_entries()
        for language in Language:
            for channel in Channel:
                name = self._template_name(channel, language)
                path = str(self.templates_dir / name) if name else str(self.templates_dir)
                if name is None:
                    problems.append(Problem(path, 1, f"no template for {channel}/{language}: add "
                                            f"{channel}.{language}.j2 or default.{language}.j2"))
                    continue
                try:
                    template = self._env.get_template(name)
                    for sample in (_sample_context(channel, language), _large_sample(channel, language)):
                        render_bounded(template, sample)
                except jinja2.TemplateSyntaxError as e:
                    problems.append(Problem(path, e.lineno or 1, f"template syntax error: {e.message}"))
                    continue
                except Exception as e:  # undefined variable, sandbox violation, a bound exceeded, a missing include
                    problems.append(Problem(path, _render_error_line(e, name), f"template error: {e}"))
                    continue
                self._templates[(channel, language)] = template
        return sorted(set(problems))  # a template used for several channels is reported once

    def _odd_entries(self) -> list[Problem]:
        """Every entry of the folder that is not a regular file (a link, a device, a folder is fine): refused."""
        problems = []
        try:
            entries = sorted(os.scandir(self.templates_dir), key=lambda e: e.name)
        except OSError as e:
            return [Problem(str(self.templates_dir), 1, f"cannot list the templates folder: {e.strerror or e}")]
        for entry in entries:
            if entry.is_symlink():
                problems.append(Problem(entry.path, 1, "is a symbolic link: refused (templates are read only as "
                                                       "regular files inside _templates/)"))
            elif not entry.is_dir(follow_symlinks=False) and not entry.is_file(follow_symlinks=False):
                problems.append(Problem(entry.path, 1, "is not a regular file: refused"))
        return problems

    def _template_name(self, channel: Channel, language: Language) -> str | None:
        """The first candidate that exists (a link or a folder counts, so that it is refused, not skipped)."""
        for candidate in (f"{channel}.{language}.j2", f"{channel}.{language}.html.j2", f"default.{language}.j2"):
            if os.path.lexists(self.templates_dir / candidate):
                return candidate
        return None

    def draft(self, article: Article, channel: Channel, *, customer_name: str | None = None,
              signature: str | None = None) -> Draft:
        """Render the full answer; if it does not fit the channel, the short answer; else warn `too_long`."""
        template = self._templates[(channel, article.meta.language)]
        name, sign = clean_name(customer_name), clean_name(signature)
        try:
            return self._fitted(template, article, channel, name, sign)
        except _DraftFailed:  # the approved answer alone: what an agent may send, and a warning to check it
            text = _tidy(article.sections.answer)
            return Draft(text, channel.length(text), warnings=("template_error",))

    def _fitted(self, template: jinja2.Template, article: Article, channel: Channel, name: str | None,
                sign: str | None) -> Draft:
        full = self._render(template, article, article.sections.answer, channel, name, sign)
        if channel.length(full) <= channel.max_length:
            return Draft(full, channel.length(full))
        short = article.sections.short_answer
        if short:
            text = self._render(template, article, short, channel, name, sign)
            if channel.length(text) <= channel.max_length:
                return Draft(text, channel.length(text), used_short_answer=True)
            return Draft(text, channel.length(text), used_short_answer=True, warnings=("too_long",))
        return Draft(full, channel.length(full), warnings=("too_long",))

    def _render(self, template: jinja2.Template, article: Article, answer: str, channel: Channel,
                name: str | None, sign: str | None) -> str:
        context = {
            "answer": answer,
            "customer_name": name,
            "agent_signature": sign,  # exactly as the agent gave it, or None: the template picks its default
            "signature": sign or DEFAULT_SIGNATURE,
            "initials": initials(sign),
            "sources": [{"title": s.title, "url": s.href} for s in article.meta.sources],
            "article": {"id": article.id, "title": article.meta.title, "type": str(article.meta.type),
                        "verdict": str(article.meta.verdict) if article.meta.verdict else None},
            "channel": str(channel),
            "language": str(article.meta.language),
        }
        try:
            return _tidy(render_bounded(template, context))
        except Exception as e:  # data the test render did not cover: never a failed request
            log.warning("template for %s/%s failed on article %s: %s", channel, article.meta.language, article.id, e)
            raise _DraftFailed from e


class _DraftFailed(Exception):
    pass


def template_problems(templates_dir: Path) -> list[Problem]:
    """Every problem of the templates folder, for `kb lint` and the editor page; never raises.

        >>> template_problems(Path("articles/_templates"))
        []
    """
    try:
        return Drafter(templates_dir, strict=False).problems
    except KbError as e:
        return [Problem(str(templates_dir), 1, e.message)]
    except Exception as e:  # one broken folder must not take the lint run or the page down
        return [Problem(str(templates_dir), 1, f"cannot check the templates: {type(e).__name__}: {e}")]


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


def _sample_context(channel: Channel, language: Language) -> dict[str, Any]:
    return {
        "answer": "Voorbeeldantwoord.", "customer_name": "Sam", "agent_signature": None,
        "signature": DEFAULT_SIGNATURE, "initials": "HG",
        "sources": [{"title": "Bron", "url": "https://www.example.org/"}],
        "article": {"id": "voorbeeld", "title": "Voorbeeld", "type": "faq", "verdict": None},
        "channel": str(channel), "language": str(language),
    }


def _large_sample(channel: Channel, language: Language) -> dict[str, Any]:
    """A sample at the size of a long article: a template whose work grows with its data shows it at start-up,
    not first on a real article."""
    sample = _sample_context(channel, language)
    sample["answer"] = ("Een lang voorbeeldantwoord met genoeg woorden om op een echt artikel te lijken. " * 40).strip()
    sample["sources"] = [{"title": f"Bron {i} met een langere titel", "url": f"https://www.example.org/bron/{i}"}
                         for i in range(10)]
    sample["customer_name"] = "Alexandra van der Berg-Jansen"
    sample["agent_signature"] = sample["signature"] = "Alexandra van der Berg-Jansen, team webcare"
    return sample


def _render_error_line(error: Exception, name: str) -> int:
    """Walk the traceback to the frame Jinja compiled from the template, for its line number."""
    tb = error.__traceback__
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
