"""`kb eval diff --format markdown`: what a change to the articles does to answers, as a pull-request comment.

Short and bounded: the golden figures before and after, how many answers change, and then by message the answers
that change (worse first), the tier moves and the messages that newly get no match. Lists are cut, with a count of
what was left out, until the whole fits `max_chars` (GitHub takes comments up to 65,536 characters; GitLab more).
Text from messages is escaped so it cannot format, mention (`@name`), link an issue (`#12`) or inject HTML.

    >>> text = diff_markdown(run_diff(settings, "main", "HEAD"))  # doctest: +SKIP
    >>> text.startswith(MARKER)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import re
from typing import Any

#: The first line of every comment, so a CI job finds its own earlier comment and updates it.
MARKER = "<!-- kennisbank:eval-diff -->"
DEFAULT_MAX_CHARS = 60_000
#: Golden figures in the order a reviewer reads them, with their names in the comment.
FIGURES = (("hit@1", "hit@1"), ("hit@3", "hit@3"), ("mrr", "MRR"), ("high_correct", "high tier right"),
           ("no_match_precision", "no-match precision"), ("no_match_recall", "no-match recall"))
_MESSAGE_CHARS = 90
_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~!])")
_WORD_JOINER = "\u2060"  # after @ and #: no mention, no issue link, and the text reads the same


def escape(text: str, width: int = _MESSAGE_CHARS) -> str:
    """One line of user text, inert in GitHub and GitLab Markdown, cut to `width` characters.

        >>> escape("<b>*vet*</b> | x")
        '&lt;b&gt;\\\\*vet\\\\*&lt;/b&gt; \\\\| x'
        >>> escape("@ria #12") == "@\\u2060ria #\\u206012"
        True
    """
    line = " ".join(text.split())
    if len(line) > width:
        line = line[:width - 1].rstrip() + "…"
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    line = _SPECIAL.sub(r"\\\1", line)
    return line.replace("@", "@" + _WORD_JOINER).replace("#", "#" + _WORD_JOINER)


def _answer(article: str | None, tier: str | None) -> str:
    return f"`{article}` ({tier})" if article else "no match"


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–" if value is None else str(value)


def _figures(report: dict[str, Any]) -> list[str]:
    before, after = report.get("golden_a") or {}, report.get("golden_b") or {}
    if not before and not after:
        return []
    split = after.get("split") or before.get("split") or "test"
    lines = ["", f"| golden messages ({split} split) | before | after | change |", "|---|---:|---:|---:|"]
    for key, label in FIGURES:
        a, b = before.get(key), after.get(key)
        change = f"{b - a:+.3f}" if isinstance(a, float) and isinstance(b, float) and b != a else ""
        lines.append(f"| {label} | {_fmt(a)} | {_fmt(b)} | {change} |")
    return lines


def _order(change: dict[str, Any]) -> int:
    """Worse first, then better, then other article changes, then tier-only; draft-only changes last."""
    if change["right_a"] and not change["right_b"]:
        return 0
    if change["right_b"] and not change["right_a"]:
        return 1
    return 2 if "article" in change["changed"] else 3 if "tier" in change["changed"] else 4


def _verdict(change: dict[str, Any]) -> str:
    if change["expected"] is None and not change["article_b"]:
        return "no match ✓"
    if change["right_b"]:
        return f"`{change['expected']}` ✓"
    return f"`{change['expected']}` ✗" if change["expected"] else "no match ✗"


def _more(left: int, what: str) -> list[str]:
    return ["", f"_… and {left} more {what}: see the full report (diff.html, diff.json)._"] if left > 0 else []


def _revision(side: dict[str, Any]) -> str:
    """`main` (`1a2b3c4d`), or just the short commit when the revision was given as one."""
    rev, commit = str(side["rev"]), str(side.get("commit") or "")[:8]
    if commit and rev.lower().startswith(commit[:7].lower()):
        return f"`{commit}`"
    return f"`{escape(rev, 40)}`" + (f" (`{commit}`)" if commit else "")


def _render(report: dict[str, Any], limit: int) -> str:
    a, b = report["a"], report["b"]
    changed = report["changed"]
    moved = sorted((c for c in changed if {"article", "tier"} & set(c["changed"])), key=_order)
    draft_only = [c for c in changed if c["changed"] == ["draft"]]
    new_none = report.get("new_no_match", [])
    by_id = {c["id"]: c for c in changed}
    lines = [MARKER, "### What this change does to answers", "",
             f"{_revision(a)} ({a['articles']} articles) → {_revision(b)} ({b['articles']} articles): "
             f"{report['messages']} golden and paraphrase messages asked of both.", ""]
    if not changed:
        lines.append("**No answer changes**: every message gets the same article, tier and draft.")
    else:
        lines.append(f"**{len(changed)} answers change**: {report['changed_article']} to another article, "
                     f"{report['changed_tier']} in tier, {report['changed_draft']} in draft text · "
                     f"{report['better']} better, {report['worse']} worse · {len(new_none)} new no-match"
                     f"{'es' if len(new_none) != 1 else ''}.")
    for side in ("a", "b"):
        if report[side].get("errors"):
            lines.append(f"- ⚠ `{escape(report[side]['rev'], 40)}`: {len(report[side]['errors'])} article "
                         "files not indexed (run `kb lint`).")
    lines += _figures(report)
    if moved:
        lines += ["", "#### Answers that change, by message", "",
                  "| message | before | after | expected |", "|---|---|---|---|"]
        for c in moved[:limit]:
            lines.append(f"| `{c['id']}` {escape(c['text'])} | {_answer(c['article_a'], c['tier_a'])} | "
                         f"{_answer(c['article_b'], c['tier_b'])} | {_verdict(c)} |")
        lines += _more(len(moved) - limit, "changed answers")
    if report.get("tier_moves"):
        moves = report["tier_moves"]
        lines += ["", "#### Tier moves", "", "| before | after | messages |", "|---|---|---:|"]
        lines += [f"| {m['from']} | {m['to']} | {m['messages']} |" for m in moves[:limit]]
        lines += _more(len(moves) - limit, "tier moves")
    if new_none:
        lines += ["", "#### New no-matches", ""]
        for mid in new_none[:limit]:
            c = by_id[mid]
            lines.append(f"- `{mid}` {escape(c['text'])} (was {_answer(c['article_a'], c['tier_a'])})")
        lines += _more(len(new_none) - limit, "new no-matches")
    if draft_only:
        lines += ["", f"_Only the draft text changes for {len(draft_only)} more messages (templates or answer "
                  "text)._"]
    return "\n".join(lines) + "\n"


def diff_markdown(report: dict[str, Any], *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The comment for a `run_diff` report, at most `max_chars` characters: lists are shortened until it fits.

        >>> len(diff_markdown(report, max_chars=4000)) <= 4000  # doctest: +SKIP
        True
    """
    limit = 50
    text = _render(report, limit)
    while len(text) > max_chars and limit > 0:
        limit //= 2
        text = _render(report, limit)
    if len(text) > max_chars:  # even the lists' heads do not fit: cut, and say so
        notice = "\n\n_… cut to fit a comment: see the full report (diff.html, diff.json)._\n"
        text = text[:max(0, max_chars - len(notice))].rsplit("\n", 1)[0] + notice
    return text
