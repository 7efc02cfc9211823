"""Where agent replies for the consistency check come from: a CSV or JSONL export of the webcare tool (a file, or
bytes uploaded on the QA page), or the replies agents sent through the service (feedback `used`/`edited` with
their `final_text`).

Bad input is refused whole, with the line and column, before anything is checked: a QA lead fixes the export
and uploads it again. Nothing read here is written anywhere; the run's report is the only trace.

    >>> [r.agent for r in parse_replies_csv(b"agent;message;reply\\nSanne;suiker?;Nee hoor\\n")]
    ['Sanne']
    >>> parse_replies_csv(b"agent,message\\nSanne,suiker?\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kb.errors.InvalidInput: upload:1: no column 'reply' (columns: agent, message); the export needs ...
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kb.errors import InvalidInput

#: An upload of a few months of replies; beyond it, split the export by period.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_REPLIES = 5000
MAX_TEXT_CHARS = 5000  # as KB_MAX_MESSAGE_CHARS: the longest message the service accepts
MAX_NAME_CHARS = 200
#: Header names as webcare tools export them (lower case), mapped to ours.
ALIASES = {
    "agent": "agent", "medewerker": "agent", "author": "agent",
    "message": "message", "incoming": "message", "bericht": "message",
    "reply": "reply", "reply_text": "reply", "antwoord": "reply",
    "channel": "channel", "kanaal": "channel",
    "time": "time", "created": "time", "datum": "time", "date": "time",
    "id": "id",
}
REQUIRED = ("agent", "message", "reply")
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Reply:
    """One reply an agent sent to an incoming message; `time` is ISO text or empty."""

    id: str
    agent: str
    channel: str
    message: str
    reply: str
    time: str = ""


def _fail(name: str, line: int, message: str) -> InvalidInput:
    return InvalidInput(f"{name}:{line}: {message}", line=line)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise _fail(name, line, f"column {column}: byte 0x{data[e.start]:02x} is not UTF-8; save the export as "
                    "UTF-8 (CSV UTF-8 in Excel)") from None


def normal_time(value: str) -> str | None:
    """An ISO date or date-time (`2026-11-30`, `2026-11-30T09:12:00Z`) or a Dutch one (`30-11-2026 09:12`), as
    ISO text; None when it is neither.

        >>> normal_time("30-11-2026 09:12"), normal_time("2026-11-30T09:12:00Z"), normal_time("gisteren")
        ('2026-11-30T09:12:00', '2026-11-30T09:12:00+00:00', None)
    """
    text = value.strip()
    for parse in (dt.datetime.fromisoformat,
                  lambda t: dt.datetime.strptime(t, "%d-%m-%Y %H:%M"),
                  lambda t: dt.datetime.strptime(t, "%d-%m-%Y")):
        try:
            return parse(text).isoformat()
        except ValueError:
            continue
    return None


def _reply(fields: Mapping[str, str], where: Callable[[str], str], name: str, line: int) -> Reply:
    """One row as a Reply, every field checked; errors name the line and, through `where`, the column."""
    for field in REQUIRED:
        if not fields[field].strip():
            raise _fail(name, line, f"{where(field)}: empty; every reply needs agent, message and reply")
    for field, limit in (("agent", MAX_NAME_CHARS), ("message", MAX_TEXT_CHARS), ("reply", MAX_TEXT_CHARS),
                         ("channel", MAX_NAME_CHARS), ("id", MAX_NAME_CHARS)):
        if field in fields and len(fields[field]) > limit:
            raise _fail(name, line, f"{where(field)}: {len(fields[field])} characters, at most {limit}")
    time = fields.get("time", "").strip()
    if time:
        normal = normal_time(time)
        if normal is None:
            raise _fail(name, line, f"{where('time')}: '{time[:40]}' is not a date; use 2026-11-30 (or "
                        "2026-11-30T09:12) or 30-11-2026")
        time = normal
    return Reply(fields.get("id", "").strip() or f"line-{line}", fields["agent"].strip(),
                 fields.get("channel", "").strip(), fields["message"], fields["reply"], time)


def parse_replies_csv(data: bytes, *, name: str = "upload", max_replies: int = MAX_REPLIES) -> list[Reply]:
    """Replies from a CSV export (comma, semicolon or tab separated; header row with at least agent, message and
    reply, optionally channel, time and id). Raises InvalidInput naming `name:line` and the column."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _fail(name, 1, f"{len(data)} bytes, at most {MAX_UPLOAD_BYTES}; split the export by period")
    text = _decode(data, name)
    if not text.strip():
        raise _fail(name, 1, "the file is empty; export the replies with a header row")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _fail(name, line, "a NUL character: this is not a text export")
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    end = 0  # the last line of the last row read
    try:
        header = next(reader)
        wanted = [ALIASES.get(h.strip().lower(), "") for h in header]
        columns = {field: i for i, field in reversed(list(enumerate(wanted))) if field}
        for field in REQUIRED:
            if field not in columns:
                found = ", ".join(h.strip() for h in header) or "none"
                raise _fail(name, 1, f"no column '{field}' (columns: {found}); the export needs agent, message "
                            "and reply")
        replies: list[Reply] = []
        end = reader.line_num
        for row in reader:
            line, end = end + 1, reader.line_num  # a quoted field may span lines: report where the row starts
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise _fail(name, line, f"{len(row)} fields where the header has {len(header)} (a {delimiter!r} "
                            "inside a value needs quotes)")
            if len(replies) == max_replies:
                raise _fail(name, line, f"more than {max_replies} replies; split the export by period")
            replies.append(_reply({f: row[i] for f, i in columns.items()},
                                  lambda f: f"column {columns[f] + 1} ({f})", name, line))
    except csv.Error as e:  # the row that starts after the last good one: a quote left open, typically
        raise _fail(name, end + 1,
                    f"unreadable CSV ({e}); is a quote (\") in this row left open?") from None
    if not replies:
        raise _fail(name, 2, "no replies below the header")
    return replies


def parse_replies_jsonl(data: bytes, *, name: str = "log", max_replies: int | None = None) -> list[Reply]:
    """Replies from JSON lines (`{"agent", "message" | "incoming", "reply" | "reply_text", "channel"?, "time"?,
    "id"?}`), with the same checks and `name:line` errors as the CSV."""
    replies: list[Reply] = []
    for line, raw in enumerate(_decode(data, name).splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise _fail(name, line, "each line must be a JSON object")
            fields = {ALIASES[k.lower()]: str(v) for k, v in row.items() if k.lower() in ALIASES and v is not None}
        except json.JSONDecodeError as e:
            raise _fail(name, line, f"column {e.colno}: not JSON ({e.msg})") from None
        except RecursionError:  # [[[[… 100,000 deep: the decoder gives up by raising, not by a JSON error
            raise _fail(name, line, "nested too deeply to be a reply") from None
        fields = {f: fields.get(f, "") for f in REQUIRED} | fields
        if max_replies is not None and len(replies) == max_replies:
            raise _fail(name, line, f"more than {max_replies} replies; split the log by period")
        replies.append(_reply(fields, lambda f: f"field '{f}'", name, line))
    return replies


def load_replies(path: Path) -> list[Reply]:
    """A log file: CSV by its suffix, JSON lines otherwise."""
    data = path.read_bytes()
    if path.suffix.lower() == ".csv":
        return parse_replies_csv(data, name=str(path), max_replies=10**9)
    return parse_replies_jsonl(data, name=str(path))


def replies_from_feedback(rows: Iterable[Mapping[str, Any]]) -> list[Reply]:
    """What agents really sent: feedback rows (`api.db.Database.sent_replies`) as Replies, the agent being the
    name of the key that gave the feedback."""
    return [Reply(f"feedback-{r['id']}", str(r.get("agent") or r.get("key_id") or "unknown"),
                  str(r.get("channel") or ""), str(r["message"]), str(r["final_text"]), str(r["created"]))
            for r in rows if r.get("final_text") and r.get("message")]


class SentReplies(Protocol):
    """What `sent_replies` needs of the service's database (`api.db.Database`)."""

    def sent_replies(self, start: str, end: str, limit: int = ...) -> list[dict[str, Any]]: ...


def sent_replies(db: SentReplies, start: dt.date, end: dt.date, *, max_replies: int = MAX_REPLIES) -> list[Reply]:
    """The replies agents sent through the service from `start` to `end`, both days included (UTC); a clear
    error when there are none, or more than `max_replies` (choose a shorter period).

        >>> sent_replies(db, dt.date(2026, 11, 1), dt.date(2026, 11, 30))[0].agent  # doctest: +SKIP
        'Anna'
    """
    rows = db.sent_replies(start.isoformat(), (end + dt.timedelta(days=1)).isoformat(), limit=max_replies + 1)
    if not rows:
        raise InvalidInput(f"no replies sent through the service from {start} to {end} (feedback 'used' or "
                           "'edited'): nothing to compare; choose another period or upload an export")
    if len(rows) > max_replies:
        raise InvalidInput(f"more than {max_replies} replies from {start} to {end}: choose a shorter period")
    return replies_from_feedback(rows)
