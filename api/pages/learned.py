"""The editor page of learned phrasings: what agents confirmed, per article, and the editor's say over it.

Proposed phrasings (candidates) and those in force (active by enough distinct agents, or approved), each with its
counts (confirmations, distinct agents, agents who rejected the article for it), when it was first and last seen,
why it is held back (a conflict with confirmed messages for another article) or flagged (its article changed),
and up to three of the masked messages it counted while their texts are kept. Approve, reject (a proposal) and
remove (one in force) go through `api.learned.service.Learning.decide`, as `kb learned` does.

    GET  /editor/learned?status=&article=     the list (editor role)
    POST /editor/learned/decide               phrasing, decision (approve|reject|remove), status?, article?,
                                              csrf -> 303 to the list with those filters
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import EngineDep, LearningDep
from api.errors import PAGE_TAG
from api.pages.render import render
from api.session import CheckedForm, EditorPage
from kb.errors import InvalidInput
from kb.learning import Phrasing, Status

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: The list's status filter: what an editor looks for.
SHOWN = {"": "alles", "proposed": "voorgesteld", "in_force": "in gebruik", "held": "tegengehouden of te herzien",
         "closed": "afgewezen of in het artikel"}
_MAX_ID = 120


def _shown(p: Phrasing, wanted: str) -> bool:
    return {"": True, "proposed": p.status is Status.CANDIDATE and p.held is None,
            "in_force": p.is_evidence, "held": p.held is not None or p.review,
            "closed": p.status in (Status.REJECTED, Status.MERGED)}.get(wanted, True)


@dataclass(frozen=True)
class ArticleGroup:
    article_id: str
    title: str
    phrasings: list[Phrasing]
    examples: dict[str, list[dict[str, Any]]]

    @property
    def in_force(self) -> int:
        return sum(p.is_evidence for p in self.phrasings)


@router.get("/editor/learned")
def learned_page(request: Request, engine: EngineDep, learning: LearningDep, session: EditorPage) -> Response:
    wanted = request.query_params.get("status", "")
    wanted = wanted if wanted in SHOWN else ""
    article = request.query_params.get("article", "")[:_MAX_ID]
    phrasings = [p for p in learning.listing() if _shown(p, wanted) and (not article or p.article_id == article)]
    examples = learning.store.examples([p.id for p in phrasings])
    served = engine.served.get_articles(sorted({p.article_id for p in phrasings}))
    titles = {a.id: a.meta.title for a in served.values()}
    groups: dict[str, list[Phrasing]] = {}
    for p in phrasings:
        groups.setdefault(p.article_id, []).append(p)
    shown = [ArticleGroup(a, titles.get(a, a), ps, {p.id: examples.get(p.id, []) for p in ps})
             for a, ps in sorted(groups.items(), key=lambda g: (-sum(p.is_evidence for p in g[1]), g[0]))]
    return render(request, "editor_learned.html", groups=shown, wanted=wanted, options=SHOWN, article=article,
                  total=len(phrasings), in_force=learning.in_force, min_agents=learning.rules.min_agents,
                  notice=request.query_params.get("done", ""))


@router.post("/editor/learned/decide")
def decide(learning: LearningDep, session: EditorPage, form: CheckedForm) -> Response:
    """Approve, reject or remove one phrasing, then back to the list where it was."""
    phrasing, decision = form.get("phrasing", "")[:_MAX_ID], form.get("decision", "")
    if decision not in ("approve", "reject", "remove"):
        raise InvalidInput(f"decision: unknown '{decision[:20]}'; use approve, reject or remove", field="decision")
    learning.decide(phrasing, decision, session.key.name)
    filters = {"status": form.get("status", ""), "article": form.get("article", "")[:_MAX_ID], "done": decision}
    query = urlencode({k: v for k, v in filters.items() if v and (k != "status" or v in SHOWN)})
    return RedirectResponse(f"/editor/learned?{query}", status_code=303)
