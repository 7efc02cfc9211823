"""Rendering for the pages: one autoescaping Jinja2 environment, safe Markdown, and the headers every page gets.

Everything a user or an article supplies reaches HTML only through Jinja2 with autoescape on, or through
markdown-it with raw HTML off and links limited to http(s) and mailto. The Content-Security-Policy allows
scripts only from our own static folder, so even a mistake in escaping would not run an injected script.

    >>> str(article_html("[x](javascript:alert(1)) <script>alert(1)</script>"))
    '<p>[x](javascript:alert(1)) &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup
from mdit_py_plugins.front_matter import front_matter_plugin

from api.pages.labels import label
from api.pages.wording import findings, nl_date, nl_datetime
from api.session import PageSession

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"

#: autoescape=True for every template, whatever its file name (a plain Environment() would escape nothing).
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
env.filters["label"] = label
env.filters["nl_date"] = nl_date
env.filters["nl_datetime"] = nl_datetime
env.filters["findings"] = findings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}

#: (label, path, role needed): the navigation, shown only for what the session's role may open.
NAV: Sequence[tuple[str, str, str]] = (
    ("Agent", "/agent", "agent"),
    ("Artikelen", "/editor", "editor"),
    ("Index", "/editor/index", "editor"),
    ("Te schrijven", "/editor/gaps", "editor"),
    ("QA", "/qa", "qa"),
    ("Inzichten", "/insights", "insights"),
)
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _safe_link(url: str) -> bool:
    """Only http(s) and mailto links become links; anything else (javascript:, data:, relative) stays text."""
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    rendered: str = self.renderToken(tokens, idx, options, env)
    return rendered


_md = MarkdownIt("commonmark", {"html": False}).use(front_matter_plugin)
_md.validateLink = _safe_link  # type: ignore[method-assign]
_md.add_render_rule("link_open", _link_open)


def article_html(markdown: str) -> Markup:
    """An article (front matter and all) as HTML that cannot run script: raw HTML is shown as text."""
    return Markup(_md.render(markdown))  # markdown-it escapes all text (html=False)


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A full page or a fragment, with the security headers; `session` and `nav` come from the request."""
    session: PageSession | None = getattr(request.state, "page_session", None)
    nav = [(label, path) for label, path, role in NAV if session is not None and session.key.may(role)]
    html = env.get_template(template).render(session=session, nav=nav, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def json_ok(data: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})
