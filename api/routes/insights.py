"""What the request log says: `GET /v1/insights` (JSON) and `GET /v1/insights.csv` (the same as a table), for
editors and QA leads. Parameters are bounded (`InsightsQuery`); the work is in `api.insights.report`.

    curl -s 'localhost:8000/v1/insights?period=day&periods=14&channel=x' -H "Authorization: Bearer $KEY"
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import DbDep, InsightsDep, InsightsKey
from api.insights.export import csv_response
from api.insights.models import InsightsOut, InsightsQuery
from api.insights.report import build

router = APIRouter(prefix="/v1", tags=["insights"])


@router.get("/insights")
def insights(db: DbDep, context: InsightsDep, key: InsightsKey,
             query: Annotated[InsightsQuery, Query()]) -> InsightsOut:
    """Volume, no-match share and tiers per day or week; the articles and topics asked about most; the subjects
    rising against their own recent history; the feedback mix per article; unanswered messages grouped by meaning.
    Filter by channel and language."""
    return build(db, context.catalog(), query, embedder=context.vectors)


@router.get("/insights.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "One row per period and subject, then the feedback, then the groups."}})
def insights_csv(db: DbDep, context: InsightsDep, key: InsightsKey,
                 query: Annotated[InsightsQuery, Query()]) -> Response:
    """The insights as CSV, for a spreadsheet (same parameters as `GET /v1/insights`)."""
    out = build(db, context.catalog(), query, embedder=context.vectors)
    return csv_response(out)

