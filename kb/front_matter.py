"""Editing an article file's front matter in place: what `kb learned export` does to add approved phrasings, as an
ordinary change an editor reviews in git (every other line, comment and quote stays as the editor wrote it).

The list goes under `learned_phrasings:` as a block list of double-quoted strings (a JSON string is a valid YAML
double-quoted scalar, so any text, emoji and quotes included, is written exactly); the key is added before the
closing `---` when the file has none. The result is parsed again: if it is not a valid article with exactly the
old front matter plus the new phrasings, nothing is written and `ArticleError` says why.

    >>> raw = b"---\\nid: a\\nclaims: [x]\\n---\\n## Antwoord\\n"
    >>> print(add_learned_phrasings(raw, "a.md", ["is dit waar?"], check=False).decode())
    ---
    id: a
    claims: [x]
    learned_phrasings:
      - "is dit waar?"
    ---
    ## Antwoord
    <BLANKLINE>
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from kb.errors import ArticleError, Problem
from kb.parsing import parse_bytes

KEY = "learned_phrasings"
_KEY_LINE = re.compile(rf"^{KEY}\s*:\s*(?P<rest>.*?)\s*$")
_TOP_LEVEL = re.compile(r"^[^\s#-][^:]*:")


def flat(text: str) -> str:
    """A phrasing as the front matter holds it: on one line, runs of blanks made one space (the suggestion path
    normalises them the same way)."""
    return " ".join(text.split())


def _item(text: str) -> str:
    return "  - " + json.dumps(flat(text), ensure_ascii=False)


def add_learned_phrasings(raw: bytes, path: str, phrasings: Sequence[str], *, check: bool = True) -> bytes:
    """`raw` (an article file) with `phrasings` added to its `learned_phrasings` (those it already has are left
    out); `check`: parse the result and refuse (ArticleError) unless it is the same article plus them."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    if not lines or lines[0].strip() != "---":
        raise ArticleError([Problem(path, 1, "no front matter to add learned phrasings to")])
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ArticleError([Problem(path, 1, "front matter is not closed with a '---' line")]) from None
    before = parse_bytes(raw, path).article if check else None
    if check and before is None:
        raise ArticleError([Problem(path, 1, "the article does not parse now; fix it (kb lint) before exporting")])
    have = {" ".join(p.lower().split()) for p in (before.meta.learned_phrasings if before else ())}
    new = [p for p in dict.fromkeys(flat(p) for p in phrasings if p.strip())
           if " ".join(p.lower().split()) not in have]
    if not new:
        return raw
    key = next((i for i in range(1, end) if _KEY_LINE.match(lines[i])), None)
    if key is None:
        lines[end:end] = [f"{KEY}:", *map(_item, new)]
    else:
        rest = _KEY_LINE.match(lines[key]).group("rest")  # type: ignore[union-attr]
        if rest in ("", "[]"):
            last = key
            while last + 1 < end and not _TOP_LEVEL.match(lines[last + 1]):
                last += 1
            lines[key] = f"{KEY}:"
            lines[last + 1:last + 1] = list(map(_item, new))
        else:
            raise ArticleError([Problem(path, key + 1, f"{KEY}: write it as a block list ('- \"…\"' lines) so "
                                                       "phrasings can be added")])
    out = newline.join(lines).encode("utf-8")
    out = b"\xef\xbb\xbf" + out if bom else out
    if check:
        _same_plus(before, out, path, new)
    return out


def _same_plus(before: object, out: bytes, path: str, new: list[str]) -> None:
    result = parse_bytes(out, path)
    after = result.article
    if after is None or before is None:
        raise ArticleError(result.problems or [Problem(path, 1, "the edited file does not parse")])
    old_meta = before.meta.model_dump()  # type: ignore[attr-defined]
    new_meta = after.meta.model_dump()
    added = new_meta.pop(KEY)[len(old_meta.pop(KEY)):]
    if old_meta != new_meta or added != new:
        raise ArticleError([Problem(path, 1, "adding the phrasings would change more of the front matter than "
                                             "learned_phrasings; add them by hand")])
