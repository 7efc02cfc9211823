"""Parse one article file into an `Article`, or into `Problem`s that name the file and line.

Markdown is parsed with markdown-it-py (front matter via its plugin, sections from heading tokens and their
`.map` line ranges); YAML positions come from PyYAML's node marks. No regular expressions touch Markdown.

Front matter is untrusted: before it is composed, one pass over libyaml's events refuses anchors and aliases
(a 522-byte alias bomb expands ninefold per level) and nesting deeper than `MAX_YAML_DEPTH` (libyaml's composer
recurses in C: 100,000 nested `[` crash the process).

    >>> from kb.parsing import parse_article
    >>> result = parse_article(Path("articles/nl/suiker-voedt-kanker.md"))
    >>> result.article.meta.verdict, result.problems
    (<Verdict.MISLEADING: 'misleading'>, [])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin
from pydantic import ValidationError

from kb.article import Article, FrontMatter, Sections
from kb.errors import Problem, Severity
from kb.files import read_inside

#: Heading text (lower case) -> section field. Dutch and English both work.
SECTION_HEADINGS: dict[str, str] = {
    "antwoord": "answer",
    "goedgekeurd antwoord": "answer",
    "answer": "answer",
    "approved answer": "answer",
    "kort antwoord": "short_answer",
    "short answer": "short_answer",
    "achtergrond": "background",
    "background": "background",
    "tips voor de medewerker": "guidance",
    "aanwijzingen": "guidance",
    "guidance": "guidance",
    "agent guidance": "guidance",
}
REQUIRED_SECTIONS = {"answer": "## Antwoord / ## Answer", "background": "## Achtergrond / ## Background"}

_MD = MarkdownIt("commonmark", {"html": False}).use(front_matter_plugin)


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 booleans: `verdict: false` must stay the string 'false' (and `no` stay 'no')."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """The same loader over libyaml's scanner when PyYAML has it: ten times faster (the pure-Python scanner was
    90% of parsing a KB, 4 s of 1,000 articles). Invalid YAML is parsed again by `_Loader` for its messages."""


_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


@dataclass
class ParseResult:
    """What parsing one file gave: an article when it is valid, and every problem found either way."""

    path: str
    article: Article | None
    problems: list[Problem] = field(default_factory=list)


def parse_article(path: Path, *, display_path: str | None = None) -> ParseResult:
    """Read (a regular file, not through a link: kb/files.py) and parse one file; never raises for bad content."""
    shown = display_path or str(path)
    raw = read_inside(path, path.parent, shown=shown)
    if isinstance(raw, Problem):
        return ParseResult(shown, None, [raw])
    return parse_bytes(raw, shown)


def parse_bytes(raw: bytes, path: str) -> ParseResult:
    """Parse file content (bytes, so that encoding errors get a line number)."""
    try:
        # utf-8-sig: editors on Windows save a byte-order mark, which would hide the opening '---'.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return ParseResult(path, None, [Problem(path, line, "not valid UTF-8 (save the file as UTF-8)")])
    if "\x00" in text:  # valid UTF-8 with NUL bytes: a binary file saved as .md, not an article
        line = text[: text.index("\x00")].count("\n") + 1
        return ParseResult(path, None, [Problem(path, line, "a binary file (NUL bytes), not a Markdown article")])
    return _parse_text(text, path, hashlib.sha256(raw).hexdigest())


def _parse_text(text: str, path: str, content_hash: str) -> ParseResult:
    tokens = _MD.parse(text)
    if not tokens or tokens[0].type != "front_matter":
        return ParseResult(path, None, [Problem(path, 1, "missing front matter: start the file with a '---' line")])
    fm_token = tokens[0]
    problems: list[Problem] = []
    meta, lines = _front_matter(fm_token.content, path, problems)
    sections, section_lines = _sections(tokens[1:], text.splitlines(), path, fm_end=(fm_token.map or [0, 1])[1],
                                        problems=problems)
    lines.update(section_lines)
    if meta is None or sections is None or any(p.is_error for p in problems):
        return ParseResult(path, None, problems)
    article = Article(meta=meta, sections=sections, path=path, content_hash=content_hash, lines=lines)
    return ParseResult(path, article, problems)


# --- front matter -------------------------------------------------------------------------------------------

_FM_FIRST_LINE = 2  # the YAML starts on the line after the opening '---'
#: Front matter is a flat mapping with a few lists and `sources` entries: depth 3. Far more is hostile.
MAX_YAML_DEPTH = 20
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _structure_problem(source: str, path: str) -> Problem | None:
    """Refuse anchors, aliases and deep nesting before anything is composed (events only: no recursion)."""
    depth = 0
    for event in yaml.parse(source, Loader=_FastLoader):
        line = _FM_FIRST_LINE + (event.start_mark.line if event.start_mark else 0)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            return Problem(path, line, "YAML anchors and aliases (&name, *name) are not allowed in front matter: "
                                       "write the value out")
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return Problem(path, line, f"front matter is nested more than {MAX_YAML_DEPTH} levels deep")
        elif isinstance(event, _CLOSE):
            depth -= 1
    return None


def _front_matter(source: str, path: str, problems: list[Problem]) -> tuple[FrontMatter | None, dict[str, int]]:
    try:
        try:
            refused = _structure_problem(source, path)
            if refused is not None:
                problems.append(refused)
                return None, {}
            root = yaml.compose(source, Loader=_FastLoader)
            data = yaml.load(source, Loader=_FastLoader)
        except yaml.YAMLError:
            root = yaml.compose(source, Loader=_Loader)
            data = yaml.load(source, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = _FM_FIRST_LINE + (mark.line if mark else 0)
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        problems.append(Problem(path, line, f"invalid YAML in front matter: {reason}"))
        return None, {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        problems.append(Problem(path, 1, "front matter must be a YAML mapping of `key: value` lines"))
        return None, {}
    lines = {str(k.value): _FM_FIRST_LINE + k.start_mark.line for k, _ in root.value}
    try:
        return FrontMatter.model_validate(data), lines
    except ValidationError as e:
        for err in e.errors():
            problems.append(Problem(path, _error_line(root, err, lines), _error_message(err)))
        return None, lines


def _error_line(root: yaml.MappingNode, err: Any, lines: dict[str, int]) -> int:
    loc = tuple(err.get("loc") or ())
    if not loc:  # a model-level rule; its message starts with the key it is about
        key = str(err.get("msg", "")).removeprefix("Value error, ").split(":", 1)[0]
        return lines.get(key) or lines.get("type", 1)
    if err.get("type") == "missing":
        return 1
    return _node_line(root, loc) or lines.get(str(loc[0]), 1)


def _node_line(node: yaml.Node, loc: tuple[Any, ...]) -> int | None:
    """Line of the YAML node at a pydantic error location, as deep as the location goes."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = _FM_FIRST_LINE + node.start_mark.line
    return line


def _error_message(err: Any) -> str:
    loc = [str(p) for p in err.get("loc") or ()]
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing":
        return f"missing required field: {loc[-1]}"
    if err.get("type") == "extra_forbidden":
        return f"unknown field: {'.'.join(loc)}"
    if not loc:
        return msg
    where = loc[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
    if err.get("type") == "enum":
        return f"{where}: unknown value {err.get('input')!r}; {msg[0].lower()}{msg[1:]}"
    return f"{where}: {msg}"


# --- body ---------------------------------------------------------------------------------------------------


def _sections(tokens: list[Token], source_lines: list[str], path: str, *, fm_end: int,
              problems: list[Problem]) -> tuple[Sections | None, dict[str, int]]:
    """Split the body at `##` headings and render each recognised section to plain text."""
    found: dict[str, str] = {}
    lines: dict[str, int] = {}
    current: str | None = None
    buffer: list[Token] = []

    def flush() -> None:
        if current is not None:
            found[current] = plain_text(buffer)

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open" and tok.tag in ("h1", "h2"):
            flush()
            heading = tokens[i + 1].content.strip()
            line = (tok.map or [0])[0] + 1
            current, buffer = None, []
            if tok.tag == "h2":
                key = SECTION_HEADINGS.get(heading.lower().rstrip(":"))
                if key is None:
                    problems.append(Problem(path, line, f"unknown section heading '{heading}' (ignored); expected "
                                            "Antwoord, Kort antwoord, Achtergrond, Tips voor de medewerker "
                                            "(or Answer, Short answer, Background, Guidance)", Severity.WARNING))
                elif key in found or f"section:{key}" in lines:
                    problems.append(Problem(path, line, f"section '{heading}' appears twice"))
                else:
                    current = key
                    lines[f"section:{key}"] = line
            i += 3  # heading_open, inline, heading_close
            continue
        if current is not None:
            buffer.append(tok)
        i += 1
    flush()

    body_line = fm_end + 1
    for key, headings in REQUIRED_SECTIONS.items():
        if key not in found:
            problems.append(Problem(path, body_line, f"missing section: {headings}"))
        elif not found[key]:
            problems.append(Problem(path, lines[f"section:{key}"], f"section {headings} is empty"))
    for key in ("short_answer", "guidance"):
        if key in found and not found[key]:
            problems.append(Problem(path, lines[f"section:{key}"], "section is empty (remove the heading or fill it)"))
    if any(p.is_error for p in problems):
        return None, lines
    return Sections(**{k: v for k, v in found.items() if v}), lines


def plain_text(tokens: list[Token]) -> str:
    """Block tokens -> plain text: paragraphs separated by a blank line, list items as '- item'.

    Emphasis markers are dropped and a link keeps its text: drafts are plain text on every channel.
    """
    blocks: list[str] = []
    depth = 0
    for tok in tokens:
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif tok.type == "inline":
            text = _inline_text(tok)
            if not text:
                continue
            if depth > 0:
                text = "  " * (depth - 1) + "- " + text
                if blocks and blocks[-1].lstrip().startswith("- "):
                    blocks[-1] += "\n" + text
                    continue
            blocks.append(text)
        elif tok.type in ("fence", "code_block"):
            blocks.append(tok.content.strip())
    return "\n\n".join(b for b in blocks if b).strip()


def _inline_text(tok: Token) -> str:
    parts: list[str] = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" " if child.type == "softbreak" else "\n")
    return "".join(parts).strip()
