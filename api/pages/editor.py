"""Editor pages: the articles on disk with their lint problems, one article rendered safely, what changed since the
indexed commit, and the re-index button.

The list reads the articles folder with kb's own corpus code (the same parse and checks as `kb lint`), so drafts,
retired articles and broken files show too; the index page uses `GitRepo.changed_since` as `kb status` does and
re-indexes through `api.service.reindex`, as `POST /v1/index` does (same `run_index`, same lock).

    GET  /editor?type=&language=&status=&review=&lint=&q=&sort=   the list (sort: due, review, title, id)
    GET  /editor/articles/{article_id}                       one article
    GET  /editor/index                                       served commit, changes since, last re-index
    POST /editor/reindex                                     full?, csrf -> 303 /editor/index
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api import service
from api.deps import EngineDep, SettingsDep, StateDep
from api.errors import PAGE_TAG
from api.pages.labels import label
from api.pages.render import article_html, render
from api.schemas import IndexIn
from api.session import CheckedForm, EditorPage
from indexer.git import GitRepo
from kb.article import Article, ArticleType, Language, Status
from kb.corpus import Corpus, load_corpus
from kb.drafting import template_problems
from kb.errors import KbError, NotFound, Problem, ReindexRunning
from kb.files import read_inside
from kb.kind_templates import kind_template_problems

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: "Review due" on the list: past `review_by`, or within this many days of it.
REVIEW_SOON_DAYS = 30
_MAX_Q = 200


@dataclass(frozen=True)
class Row:
    """One line of the article list: a valid article, or a file that does not parse."""

    path: str
    article: Article | None
    problems: list[Problem]
    review: str  # "overdue" | "soon" | "ok" | ""
    shown_path: str = ""  # relative to the articles folder, for display

    @property
    def errors(self) -> int:
        return sum(p.is_error for p in self.problems)


class CorpusCache:
    """Parsing ~70 files costs about half a second: reparse only when a file's size or mtime changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._value: tuple[Corpus, list[Problem]] | None = None

    def get(self, root: Path) -> tuple[Corpus, list[Problem]]:
        key = (str(root), dt.date.today(), _stats(root))
        with self._lock:
            if key != self._key or self._value is None:
                templates = root / "_templates"
                exists = templates.is_dir() or templates.is_symlink()
                found = [*template_problems(templates), *kind_template_problems(templates)] if exists else []
                self._value = (load_corpus(root), found)
                self._key = key
            return self._value


def _stats(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    """(path, mode, mtime, size) of every entry, links not followed: a dangling link or an unreadable entry is
    part of the key like any file (and is reported by the corpus, not raised here)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # .git: never an article, often large
        for name in (*dirnames, *filenames):
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            out.append((os.path.join(dirpath, name), info.st_mode, info.st_mtime_ns, info.st_size))
    return tuple(sorted(out))


_cache = CorpusCache()


def _review(article: Article, today: dt.date) -> str:
    if article.meta.review_by < today:
        return "overdue"
    return "soon" if article.meta.review_by <= today + dt.timedelta(days=REVIEW_SOON_DAYS) else "ok"


def shown(path: str, root: Path) -> str:
    """`nl/x.md` rather than the full path the corpus was read with."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def rows(corpus: Corpus, today: dt.date, root: Path) -> list[Row]:
    """Every article file: valid ones by id, broken ones by path, each with its own problems."""
    by_path = corpus.problems_by_path()
    out = [Row(a.path, a, by_path.get(a.path, []), _review(a, today), shown(a.path, root))
           for a in corpus.articles.values()]
    valid = {a.path for a in corpus.articles.values()}
    out += [Row(path, None, problems, "", shown(path, root)) for path, problems in by_path.items()
            if path not in valid]
    return sorted(out, key=lambda r: (r.article is not None, r.article.id if r.article else r.path))


#: How the list can be ordered; the first is the default: what needs an editor first.
SORTS = {"due": "eerst verlopen review", "review": "reviewdatum (oudste eerst)", "title": "titel", "id": "id"}
_REVIEW_ORDER = {"overdue": 0, "soon": 1, "": 2, "ok": 3}


def sort_rows(rows: list[Row], by: str) -> list[Row]:
    """`due` (the default): overdue reviews first, oldest first, then those due soon, then files that do not
    parse, then the rest by id; `review`: by review date, oldest first (broken files last); `title`, `id`."""
    if by == "review":
        return sorted(rows, key=lambda r: (r.article is None, r.article.meta.review_by if r.article else dt.date.max,
                                           r.path))
    if by == "title":
        return sorted(rows, key=lambda r: (r.article.meta.title.lower() if r.article else "", r.path))
    if by == "id":
        return sorted(rows, key=lambda r: (r.article is not None, r.article.id if r.article else r.path))
    return sorted(rows, key=lambda r: (_REVIEW_ORDER[r.review], r.article.meta.review_by if r.article and
                                       r.review in ("overdue", "soon") else dt.date.max,
                                       r.article.id if r.article else r.path))


def matches(row: Row, f: dict[str, str]) -> bool:
    """Whether a row passes the filters (an empty filter lets everything through)."""
    lint_ok = {"": True, "problems": bool(row.problems), "errors": bool(row.errors), "clean": not row.problems}
    if not lint_ok.get(f["lint"], True):
        return False
    a = row.article
    if a is None:  # a file that does not parse only shows when no article filter is set
        return not any(f[k] for k in ("type", "language", "status", "review", "q"))
    wanted = {"type": a.meta.type, "language": a.meta.language, "status": a.meta.status}
    if any(f[k] and f[k] != v for k, v in wanted.items()):
        return False
    review_ok = {"": True, "due": row.review in ("overdue", "soon"), "overdue": row.review == "overdue"}
    if not review_ok.get(f["review"], True):
        return False
    needle = f["q"].lower()
    return not needle or needle in a.meta.title.lower() or needle in a.id or \
        any(needle in c.lower() for c in a.meta.claims)


FILTERS: dict[str, list[tuple[str, str]]] = {
    "type": [(t.value, label(t.value, "type")) for t in ArticleType],
    "language": [(lang.value, label(lang.value, "language")) for lang in Language],
    "status": [(s.value, label(s.value, "status")) for s in Status],
    "review": [("due", "binnenkort of verlopen"), ("overdue", "verlopen")],
    "lint": [("problems", "met meldingen"), ("errors", "met fouten"), ("clean", "zonder meldingen")],
}


@router.get("/editor")
def article_list(request: Request, settings: SettingsDep, session: EditorPage) -> Response:
    filters = {k: request.query_params.get(k, "")[:_MAX_Q] for k in (*FILTERS, "q")}
    for name, options in FILTERS.items():  # an unknown filter value is ignored, not an error page
        if filters[name] not in {v for v, _ in options}:
            filters[name] = ""
    sort = request.query_params.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    corpus, template_problems = _cache.get(settings.articles_dir)
    today = dt.date.today()
    all_rows = rows(corpus, today, settings.articles_dir)
    shown = sort_rows([r for r in all_rows if matches(r, filters)], sort)
    return render(request, "editor_list.html", rows=shown, total=len(all_rows), filters=filters, options=FILTERS,
                  sort=sort, sorts=SORTS, overdue=sum(r.review == "overdue" for r in all_rows),
                  query_without_sort="".join(f"{urlencode({k: v})}&" for k, v in filters.items() if v),
                  template_problems=template_problems, files=corpus.files, served=len(corpus.served()),
                  errors=len(corpus.errors), warnings=len(corpus.warnings), today=today)


@router.get("/editor/articles/{article_id}")
def article_view(request: Request, article_id: str, settings: SettingsDep, session: EditorPage) -> Response:
    corpus, _ = _cache.get(settings.articles_dir)
    article = corpus.articles.get(article_id)
    if article is None:
        raise NotFound(f"geen artikel met id '{article_id[:200]}' in de artikelenmap")  # no server path
    raw = read_inside(Path(article.path), settings.articles_dir)  # as the corpus read it: never through a link
    if isinstance(raw, Problem):
        raise NotFound(f"{shown(article.path, settings.articles_dir)}: {raw.message}")
    text = raw.decode("utf-8-sig", errors="replace")
    problems = corpus.problems_by_path().get(article.path, [])
    today = dt.date.today()
    return render(request, "editor_article.html", article=article, body=article_html(text), problems=problems,
                  review=_review(article, today), file_path=shown(article.path, settings.articles_dir))


def _index_state(settings: Any, engine: Any) -> dict[str, Any]:
    """What `kb status` shows: served build, and the article files changed since its commit."""
    try:
        info = engine.served.info()
    except KbError as e:
        return {"info": None, "error": e.message, "changed": [], "git": False}
    repo = GitRepo.find(settings.articles_dir)
    changed: list[str] = []
    error = ""
    if repo is not None and info.commit:
        try:
            changed = repo.changed_since(info.commit, settings.articles_dir)
        except KbError as e:
            error = e.message
    return {"info": info, "error": error, "changed": changed, "git": repo is not None}


@router.get("/editor/index")
def index_page(request: Request, state: StateDep, settings: SettingsDep, engine: EngineDep,
               session: EditorPage) -> Response:
    last = state.last_reindex
    busy = request.query_params.get("busy") == "1"
    return render(request, "editor_index.html", last=last, busy=busy, articles_prefix=f"{settings.articles_dir}/",
                  **_index_state(settings, engine))


@router.post("/editor/reindex")
def reindex(state: StateDep, settings: SettingsDep, engine: EngineDep, session: EditorPage,
            form: CheckedForm) -> Response:
    """Re-index now (the same function and lock as POST /v1/index), then show the outcome on the index page;
    while another re-index runs, say so at once instead of waiting for it."""
    full = form.get("full") in ("1", "true", "on")
    started = dt.datetime.now(dt.UTC)
    try:
        report = service.reindex(IndexIn(full=full), engine=engine, settings=settings)
        state.last_reindex = {"ok": True, "report": report, "by": session.key.name,
                              "at": started.isoformat(timespec="seconds")}
    except ReindexRunning:  # the running one's outcome lands here when it is done; this one changes nothing
        return RedirectResponse("/editor/index?busy=1", status_code=303)
    except KbError as e:
        state.last_reindex = {"ok": False, "error": e.message, "by": session.key.name,
                              "at": started.isoformat(timespec="seconds")}
    return RedirectResponse("/editor/index", status_code=303)
