"""The articles to write next: messages agents marked "no good answer", grouped by meaning.

Grouped by `api.grouping` (each message embedded with the service's own model, greedily by cosine to a group's
centroid). Biggest groups first: those are the questions the knowledge base misses most often.

    >>> groups = group_messages(["mag ik zonnen na chemo?", "zonnebank tijdens chemo?", "hoe zeg ik mijn gift op"],
    ...                         embedder)  # doctest: +SKIP
    >>> [len(g.messages) for g in groups]  # doctest: +SKIP
    [2, 1]

    GET  /editor/gaps?grouping=loose|normal|strict   the grouped list (editor role)
    POST /editor/gaps/dismiss                        ids (space-separated), csrf -> 303: the group is noise
    POST /editor/gaps/restore                        batch, csrf -> 303: undo a dismissal

Editors choose how strictly messages are grouped in words ("ruim", "standaard", "streng"), not as a cosine; the
numbers behind those words are measured in api.grouping. Noise ("lol", a football score) is dismissed a group at a
time and stays dismissed (`api.dismissals`, in the database), with the last dismissals listed to undo.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api import dismissals
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
from api.session import CheckedForm, EditorPage

# The grouping lives in api.grouping (the insights use it too); its names stay importable from here.
__all__ = ["GROUPINGS", "GROUP_THRESHOLD", "MAX_MESSAGES", "Flagged", "Group", "VectorMemo", "flagged_messages",
           "gaps_page", "group_messages", "group_vectors", "router"]

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: How strictly to group, as editors choose it: (words on the page, cosine to a group's centroid). Measured on the
#: paraphrase groups (api.grouping): standard keeps rewordings of one question together best; loose merges
#: related questions, strict keeps only near-identical ones together.
GROUPINGS = {"loose": ("ruim: verwante vragen samen", GROUP_THRESHOLD - 0.03),
             "normal": ("standaard", GROUP_THRESHOLD),
             "strict": ("streng: alleen bijna dezelfde vraag samen", GROUP_THRESHOLD + 0.03)}


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
    grouping = request.query_params.get("grouping", "normal")
    if grouping not in GROUPINGS:
        grouping = "normal"
    flagged = flagged_messages(db.no_good_answers(MAX_MESSAGES))
    hidden = dismissals.dismissed(db, [f.request_id for f in flagged])
    shown = [f for f in flagged if f.request_id not in hidden]
    groups = group_messages(shown, state.gap_vectors, GROUPINGS[grouping][1])  # the memo lives as long as the app
    notice = {"dismissed": request.query_params.get("dismissed", ""), "restored": request.query_params.get(
        "restored", ""), "batch": request.query_params.get("batch", "")}
    return render(request, "editor_gaps.html", groups=groups, count=len(shown), hidden=len(hidden),
                  grouping=grouping, groupings=GROUPINGS, max_messages=MAX_MESSAGES, notice=notice,
                  batches=dismissals.recent_batches(db))


@router.post("/editor/gaps/dismiss")
def dismiss_group(db: DbDep, session: EditorPage, form: CheckedForm) -> Response:
    """Dismiss the group's messages as noise; the page says how many, with a button to undo it."""
    ids = dismissals.clean_ids(form.get("ids", "").split())
    batch = dismissals.dismiss(db, ids, key_id=session.key.id)
    grouping = form.get("grouping", "normal") if form.get("grouping") in GROUPINGS else "normal"
    return RedirectResponse(f"/editor/gaps?grouping={grouping}&dismissed={len(ids)}&batch={batch}#melding",
                            status_code=303)


@router.post("/editor/gaps/restore")
def restore_group(db: DbDep, session: EditorPage, form: CheckedForm) -> Response:
    """Undo a dismissal: its messages are listed again."""
    restored = dismissals.restore(db, form.get("batch", ""))
    return RedirectResponse(f"/editor/gaps?restored={restored}#melding", status_code=303)
