"""What the insights need from the running service, made once per app at start-up (`AppState.insights`, reached
through `api.deps.InsightsDep`): the served articles' titles and topics, re-read at most every `CATALOG_SECONDS`,
and the memo of message vectors the groups of unanswered messages are made from (shared by the page, the API and
the alerts).

    >>> context = InsightsContext(engine)  # doctest: +SKIP
    >>> context.catalog()["5g-kanker"].topics  # doctest: +SKIP
    ('5g', 'straling')
"""

from __future__ import annotations

import logging
import threading
import time

from api.grouping import VectorMemo
from api.insights.groups import MEMO_SIZE
from api.insights.report import Catalog, catalog_of
from kb.engine import Engine
from kb.errors import KbError

log = logging.getLogger("kb.insights")
CATALOG_SECONDS = 300.0


class InsightsContext:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.vectors = VectorMemo(engine.embedder, size=MEMO_SIZE)
        self._catalog = Catalog()
        self._read = -CATALOG_SECONDS
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        """Titles and topics by article id; the last one read when the index cannot be read now."""
        with self._lock:
            if time.monotonic() - self._read >= CATALOG_SECONDS:
                try:
                    self._catalog = catalog_of(self.engine.served.all_articles())
                    self._read = time.monotonic()
                except KbError as e:  # no index yet, Qdrant away: counts still come, titles and topics later
                    log.warning("insights: served articles not readable now: %s", e.message)
            return self._catalog
