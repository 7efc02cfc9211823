"""The articles to write next: messages agents marked "no good answer", or answered in their own words instead of
any draft (`ignored`, recorded from Chatwoot), grouped by meaning.

Grouped by `api.grouping` (each message embedded with the service's own model, greedily by cosine to a group's
centroid). Biggest groups first: those are the questions the knowledge base misses most often.

    >>> groups = group_messages(["mag ik zonnen na chemo?", "zonnebank tijdens chemo?", "hoe zeg ik mijn gift op"],
    ...                         embedder)  # doctest: +SKIP
    >>> [len(g.messages) for g in groups]  # doctest: +SKIP
    [2, 1]

    GET /editor/gaps?threshold=0.7   the grouped list (editor role); the threshold defaults to GROUP_THRESHOLD
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import DbDep, StateDep
from api.errors import PAGE_TAG
from api.grouping import (
    GROUP_THRESHOLD,
    MAX_MESSAGES,
    Flagged,
    Group,
    VectorMemo,
    group_messages,
    group_vectors,
)
from api.pages.render import render
from api.session import EditorPage

# The grouping lives in api.grouping (the insights use it too); its names stay importable from here.
__all__ = ["GROUP_THRESHOLD", "MAX_MESSAGES", "Flagged", "Group", "VectorMemo", "flagged_messages",
           "gaps_page", "group_messages", "group_vectors", "router"]

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

def flagged_messages(rows: list[dict[str, Any]]) -> list[Flagged]:
    """One entry per request (an agent may flag the same request twice), newest first."""
    seen: set[str] = set()
    out: list[Flagged] = []
    for row in rows:
        if row["request_id"] in seen or row.get("message") is None:
            continue
        seen.add(row["request_id"])
        offered = json.loads(row["article_ids"]) if row.get("article_ids") else []
        out.append(Flagged(row["request_id"], row["message"], row.get("channel") or "", row["created"], offered))
    return out


@router.get("/editor/gaps")
def gaps_page(request: Request, state: StateDep, db: DbDep, session: EditorPage) -> Response:
    try:
        threshold = min(0.95, max(0.3, float(request.query_params.get("threshold", GROUP_THRESHOLD))))
    except ValueError:
        threshold = GROUP_THRESHOLD
    flagged = flagged_messages(db.no_good_answers(MAX_MESSAGES))
    groups = group_messages(flagged, state.gap_vectors, threshold)  # the memo lives as long as the app
    return render(request, "editor_gaps.html", groups=groups, count=len(flagged), threshold=threshold,
                  max_messages=MAX_MESSAGES)
