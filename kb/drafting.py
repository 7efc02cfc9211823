"""Reply drafts: an article's approved answer put into the editor-owned template of a channel and language.

Templates live in `articles/_templates/` as `<channel>.<language>.j2` with `default.<language>.j2` as the
fallback. They are compiled and test-rendered when a `Drafter` is made (start-up, `kb lint`), never first at
request time, and every problem of every template is reported at once. Jinja2 runs sandboxed, reads only regular
files inside the templates folder and renders within bounds of work, size and time (kb/template_sandbox.py), in
render processes that are killed when a render passes its deadline (kb/render_pool.py), at the test render and
for every draft; templates ending in `.html.j2` are autoescaped. A draft whose template goes over a bound falls
back to the approved answer alone, with the warning `template_error`; a template stopped at the deadline on an
article is not tried on that article again (the same answer would come, a second later).

Only the template's own words, the article's text and its sources, and the names passed in (customer, agent)
can appear in a draft: nothing is generated. The agent's sign-off goes in exactly as the agent gave it (`^SA`
stays `^SA`, `Sanne` stays `Sanne`); a template chooses its own default for when none is given.

    >>> from kb.parsing import parse_article
    >>> article = parse_article(Path("articles/nl/suiker-voedt-kanker.md")).article
    >>> with Drafter(Path("articles/_templates")) as drafter:
    ...     drafter.draft(article, Channel.X, customer_name="Sam").text
    ...     drafter.draft(article, Channel.X, signature="^SA").text
    'Hoi Sam! ... https://... ^HG'
    '... https://... ^SA'
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import unicodedata
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kb.article import Article, Language
from kb.channels import Channel
from kb.errors import KbError, Problem, TemplateError
from kb.render_pool import RenderFailed, RenderPool, read_templates

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
    """Checks every template once in its render processes; `draft()` only renders. Close it (or use `with`)
    to stop the processes.

    `strict` (the default, for start-up): any template problem raises `TemplateError` carrying all of them.
    `Drafter(folder, strict=False).problems` lists them instead (`kb lint`, the editor page). `workers`: render
    processes (KB_RENDER_WORKERS)."""

    def __init__(self, templates_dir: Path, *, strict: bool = True, workers: int = 2) -> None:
        self.templates_dir = templates_dir
        self._names: dict[tuple[Channel, Language], str] = {}
        self._pool: RenderPool | None = None
        self._workers = workers
        self._stopped: OrderedDict[str, None] = OrderedDict()  # renders killed at the deadline, by draft key
        self._lock = threading.Lock()
        self.problems = self.check()
        if self.problems and strict:
            self.close()
            first, *rest = self.problems
            raise TemplateError(first.path, first.line, first.message, more=rest)

    def check(self) -> list[Problem]:
        """Compile and test-render every channel x language; every problem of every template, as path:line."""
        if self.templates_dir.is_symlink():
            return [Problem(str(self.templates_dir), 1, "the templates folder is a symbolic link: refused")]
        if not self.templates_dir.is_dir():
            return [Problem(str(self.templates_dir), 1, "templates folder not found")]
        problems = self._odd_entries()
        wanted: dict[str, list[tuple[Channel, Language]]] = {}
        for language in Language:
            for channel in Channel:
                name = self._template_name(channel, language)
                if name is None:
                    problems.append(Problem(str(self.templates_dir), 1, f"no template for {channel}/{language}: "
                                            f"add {channel}.{language}.j2 or default.{language}.j2"))
                else:
                    wanted.setdefault(name, []).append((channel, language))
        if self._pool is None:
            self._pool = RenderPool(read_templates(self.templates_dir), workers=self._workers)
        with ThreadPoolExecutor(max_workers=self._workers) as checks:  # each hostile template costs its deadline
            found = dict(zip(wanted, checks.map(self._test_render, wanted, wanted.values()), strict=True))
        for name, problem in found.items():
            if problem is None:
                self._names.update(dict.fromkeys(wanted[name], name))
            else:
                problems.append(problem)
        return sorted(set(problems))

    def _test_render(self, name: str, uses: list[tuple[Channel, Language]]) -> Problem | None:
        """The template's first problem with both samples (a short and a long article) for every channel and
        language it serves (a template may branch on `channel`), or None."""
        assert self._pool is not None
        for channel, language in uses:
            try:
                self._pool.render(name, [_sample_context(channel, language), _large_sample(channel, language)],
                                  seconds=2 * self._pool.seconds)
            except RenderFailed as e:
                what = "template syntax error" if e.kind == "syntax" else "template error"
                return Problem(str(self.templates_dir / name), e.line, f"{what}: {e.message}")
        return None

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
        name = self._names.get((channel, article.meta.language))
        clean, sign = clean_name(customer_name), clean_name(signature)
        try:
            if name is None:  # its template failed the check (a lint run): nothing to render with
                raise _DraftFailed
            return self._fitted(name, article, channel, clean, sign)
        except _DraftFailed:  # the approved answer alone: what an agent may send, and a warning to check it
            text = _tidy(article.sections.answer)
            return Draft(text, channel.length(text), warnings=("template_error",))

    def render_template(self, name: str, context: dict[str, Any]) -> str:
        """Any template of the folder (a kind template: `kinds/thanks.default.nl.j2`) rendered in the render
        processes under their hard deadline, untidied; RenderFailed when it fails or is killed.

            >>> drafter.render_template("kinds/thanks.default.nl.j2", context)  # doctest: +SKIP
        """
        if self._pool is None:
            raise RenderFailed("crashed", "the render processes are closed")
        return self._pool.render(name, [context])[0]

    def _fitted(self, name: str, article: Article, channel: Channel, customer: str | None,
                sign: str | None) -> Draft:
        full = self._render(name, article, article.sections.answer, channel, customer, sign)
        if channel.length(full) <= channel.max_length:
            return Draft(full, channel.length(full))
        short = article.sections.short_answer
        if short:
            text = self._render(name, article, short, channel, customer, sign)
            if channel.length(text) <= channel.max_length:
                return Draft(text, channel.length(text), used_short_answer=True)
            return Draft(text, channel.length(text), used_short_answer=True, warnings=("too_long",))
        return Draft(full, channel.length(full), warnings=("too_long",))

    def _render(self, name: str, article: Article, answer: str, channel: Channel, customer: str | None,
                sign: str | None) -> str:
        context = draft_context(article, answer, channel, customer, sign)
        key = _draft_key(name, article.id, answer)
        if key in self._stopped:  # stopped at the deadline before: it would be again
            raise _DraftFailed
        assert self._pool is not None
        try:
            return _tidy(self._pool.render(name, [context])[0])
        except RenderFailed as e:  # data the test render did not cover: never a failed request
            log.warning("template %s failed on article %s: %s", name, article.id, e.message)
            if e.kind == "timeout":
                self._remember_stopped(key)
            raise _DraftFailed from e

    def _remember_stopped(self, key: str) -> None:
        with self._lock:
            self._stopped[key] = None
            while len(self._stopped) > _STOPPED_KEPT:
                self._stopped.popitem(last=False)

    def close(self) -> None:
        """Stop the render processes (idempotent)."""
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> Drafter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


#: Drafts remembered as stopped at the deadline (template, article, answer): bounded, oldest forgotten first.
_STOPPED_KEPT = 1024


def _draft_key(name: str, article_id: str, answer: str) -> str:
    return hashlib.sha256("\x00".join((name, article_id, answer)).encode()).hexdigest()


class _DraftFailed(Exception):
    pass


def template_problems(templates_dir: Path) -> list[Problem]:
    """Every problem of the templates folder, for `kb lint` and the editor page; never raises.

        >>> template_problems(Path("articles/_templates"))
        []
    """
    try:
        with Drafter(templates_dir, strict=False) as drafter:
            return drafter.problems
    except KbError as e:
        return [Problem(str(templates_dir), 1, e.message)]
    except Exception as e:  # one broken folder must not take the lint run or the page down
        return [Problem(str(templates_dir), 1, f"cannot check the templates: {type(e).__name__}: {e}")]


def draft_context(article: Article, answer: str, channel: Channel, customer: str | None,
                  sign: str | None) -> dict[str, Any]:
    """What a reply template sees for one article on one channel (the variables README documents).

        >>> context = draft_context(article, article.sections.answer, Channel.X, "Sam", "^SA")  # doctest: +SKIP
        >>> context["agent_signature"]  # doctest: +SKIP
        '^SA'
    """
    return {
        "answer": answer,
        "customer_name": customer,
        "agent_signature": sign,  # exactly as the agent gave it, or None: the template picks its default
        "signature": sign or DEFAULT_SIGNATURE,
        "initials": initials(sign),
        "sources": [{"title": s.title, "url": s.href} for s in article.meta.sources],
        "article": {"id": article.id, "title": article.meta.title, "type": str(article.meta.type),
                    "verdict": str(article.meta.verdict) if article.meta.verdict else None},
        "channel": str(channel),
        "language": str(article.meta.language),
    }


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
