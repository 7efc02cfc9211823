"""Agent-consistency reports keep (masked) customer messages and agents' replies. Like the service's database they
keep them only `KB_RETENTION_DAYS`: after that, counted from when the report was written, the texts are removed
from its JSON and HTML (the flags, figures and charts stay), and the report says so. Run by the service's
retention job and by `kb retention run`, over `KB_REPORTS_DIR`.

    >>> remove_expired_report_texts(Path("reports"), days=90)  # doctest: +SKIP
    2
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

from eval.agents_report import agents_sections
from eval.report import write_report

log = logging.getLogger("kb.retention")

#: What a removed message or reply reads as.
REMOVED = "[removed after the retention period]"
_SHOWN = ("title", "created", "headline")


def remove_expired_report_texts(root: Path, days: int, *, now: dt.datetime | None = None) -> int:
    """Remove the texts of every agent-consistency report (`agents.json` + `.html`) below `root` written more than
    `days` days before `now`; the number of reports changed. `days` 0 keeps them, as it keeps the database's."""
    if days <= 0 or not root.is_dir():
        return 0
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    changed = 0
    for path in sorted(root.rglob("agents.json")):
        data = _read(path)
        if data is None or "texts_removed" in data or not isinstance(data.get("checked"), list):
            continue
        created = _when(data.get("created"))
        if created is None or created >= cutoff:
            continue
        _strip(data, now or dt.datetime.now(dt.UTC))
        rest = {k: v for k, v in data.items() if k not in _SHOWN}
        written = path.stat()
        html = write_report(path.parent, "agents", str(data.get("title", "agents")),
                            headline=data.get("headline") or {}, data=rest, sections=agents_sections(data),
                            created=str(data["created"]))
        for rewritten in (path, html):  # still written when it was: the QA page reads the newest reports first
            os.utime(rewritten, (written.st_atime, written.st_mtime))
        changed += 1
    return changed


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        log.warning("report retention: cannot read %s: %s", path, e)
        return None
    return data if isinstance(data, dict) else None


def _when(value: object) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _strip(data: dict[str, Any], now: dt.datetime) -> None:
    for reply in [*data.get("checked", []), *data.get("outliers", [])]:
        if isinstance(reply, dict):
            reply.update({"message": REMOVED, "reply": REMOVED, "links": [], "reasons": []})
    periods = [p for p in data.get("per_period") or [] if isinstance(p, dict)]
    for reply in [r for p in periods for r in p.get("flagged_replies") or []]:
        if isinstance(reply, dict):
            reply.update({"reply": REMOVED, "why": ""})
    data["texts_removed"] = now.isoformat(timespec="seconds")
