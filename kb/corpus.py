"""The knowledge base as a whole: every article file parsed, plus the checks that span files.

A corpus is built from (path, bytes) pairs so that the same code reads a work tree or a git revision. One bad
file never stops the others: it is reported and left out. An entry that could not be read safely (a symbolic
link, a folder with an article's name, an unreadable file: see kb/files.py) comes as a `Problem` instead of bytes
and is reported as it is.

    >>> corpus = load_corpus(Path("articles"))
    >>> corpus.errors, "suiker-voedt-kanker" in corpus.articles
    ([], True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kb.article import Article
from kb.errors import Problem, Severity
from kb.files import FileEntry, read_inside, walk_files
from kb.parsing import ParseResult, parse_bytes


def is_article_path(relative: Path) -> bool:
    """Markdown files, except READMEs and anything under a folder or file starting with `_` or `.`."""
    return (
        relative.suffix == ".md"
        and relative.name.lower() != "readme.md"
        and not any(part.startswith(("_", ".")) for part in relative.parts)
    )


def iter_article_files(root: Path) -> Iterator[FileEntry]:
    """(display path, bytes) for every article file below `root`, in a stable order; (display path, Problem)
    for an entry that is refused (a link, a folder named like an article, unreadable, too large).

    A single file given as `root` is read the same way: not through a link."""
    if root.is_symlink() or root.is_file():
        yield str(root), read_inside(root, root.parent)
        return
    yield from walk_files(root, keep=is_article_path)


@dataclass
class Corpus:
    """Valid articles by id, and every problem found (errors and warnings)."""

    articles: dict[str, Article] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    def served(self) -> list[Article]:
        """The published articles: the only ones ever suggested."""
        return [a for a in self.articles.values() if a.is_served]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def problems_by_path(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.path, []).append(p)
        return out


def build_corpus(files: Iterable[FileEntry], *, today: dt.date | None = None,
                 parse: Callable[[bytes, str], ParseResult] = parse_bytes) -> Corpus:
    """Parse every file and run the cross-file checks (duplicate ids, unknown `related`, stale reviews).

    `parse` may answer from a cache of earlier parses (the indexer's docstore does, for unchanged files)."""
    today = today or dt.date.today()
    corpus = Corpus()
    for path, raw in files:
        corpus.files += 1
        if isinstance(raw, Problem):
            corpus.problems.append(raw)
            continue
        result = _parse_safely(parse, raw, path)
        corpus.problems.extend(result.problems)
        article = result.article
        if article is None:
            continue
        first = corpus.articles.get(article.id)
        if first is not None:
            corpus.problems.append(Problem(path, article.lines.get("id", 1),
                                           f"duplicate id '{article.id}' (also used by {first.path})"))
            continue
        corpus.articles[article.id] = article
    for article in corpus.articles.values():
        for rel in article.meta.related:
            if rel not in corpus.articles:
                corpus.problems.append(Problem(article.path, article.lines.get("related", 1),
                                               f"related: no article with id '{rel}'"))
        corpus.problems.extend(_translation_problems(article, corpus.articles))
        if article.is_served and article.is_stale(today):
            corpus.problems.append(Problem(article.path, article.lines.get("review_by", 1),
                                           f"review_by {article.meta.review_by} is in the past: review this article",
                                           Severity.WARNING))
    corpus.problems.sort()
    return corpus


def _translation_problems(article: Article, articles: dict[str, Article]) -> list[Problem]:
    """A translation must exist, be in another language and name this article back (one pair, two ends)."""
    problems = []
    line = article.lines.get("translations", 1)
    for other_id in article.meta.translations:
        other = articles.get(other_id)
        if other is None:
            problems.append(Problem(article.path, line, f"translations: no article with id '{other_id}'"))
        elif other.meta.language == article.meta.language:
            problems.append(Problem(article.path, line, f"translations: '{other_id}' is in the same language "
                                                        f"({article.meta.language})"))
        elif article.id not in other.meta.translations:
            problems.append(Problem(article.path, line, f"translations: '{other_id}' does not list "
                                                        f"'{article.id}' back in its translations"))
    return problems


def _parse_safely(parse: Callable[[bytes, str], ParseResult], raw: bytes, path: str) -> ParseResult:
    """A parser bug on one hostile file is that file's problem, not the end of the run."""
    try:
        return parse(raw, path)
    except Exception as e:  # reported with the file's path, never swallowed
        return ParseResult(path, None, [Problem(path, 1, f"cannot parse this file ({type(e).__name__})")])


def load_corpus(root: Path, *, today: dt.date | None = None) -> Corpus:
    """Build the corpus from a folder (or a single file) on disk."""
    return build_corpus(iter_article_files(root), today=today)
