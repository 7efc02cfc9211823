"""One error tree for everything Kennisbank raises on purpose.

    KbError                      base: a message a person can act on, and a machine-readable `code`
    ├── ConfigError              a setting is invalid (bad path, placeholder key outside development)
    ├── ArticleError             one article is invalid; carries `Problem`s with path:line
    ├── TemplateError            a reply template does not compile or render; carries every path:line problem
    ├── ReindexRunning           a re-index was asked for while one is running: wait for it, then ask again
    ├── InvalidInput             a request or CLI argument is unusable (empty message, unknown channel)
    ├── NotFound                 an article, key or request id does not exist
    ├── IndexNotReady            no index yet, or built with another model: "run `kb index` first"
    ├── StoreUnavailable         Qdrant cannot be reached or answered with an error
    └── StoreReadOnly            a write through the read-only Qdrant key (the service's): run `kb index` instead

The API maps each class to one HTTP status and one error body (`api.errors`, which adds the branch only a request
can meet: `Refused` -> Unauthorized, Forbidden, CsrfRefused, TooManyRequests); the CLI prints the message and
exits 1 (2 for usage errors). Nothing else should escape to a user as a traceback.

    >>> try:
    ...     raise InvalidInput("channel: unknown 'fax'", field="channel")
    ... except KbError as e:
    ...     (e.code, str(e))
    ('invalid_input', "channel: unknown 'fax'")
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


#: The longest message a Problem keeps: a message quoting hostile input (a YAML bomb's expansion, a huge value)
#: must not turn one bad file into a 35 MB API answer or page.
MAX_PROBLEM_CHARS = 300
MAX_PATH_CHARS = 300


def bounded(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """`text` cut to `limit` characters, saying so.

        >>> bounded("x" * 400).endswith("x… (400 chars in all)"), len(bounded("x" * 400))
        (True, 300)
    """
    if len(text) <= limit:
        return text
    suffix = f"… ({len(text)} chars in all)"
    return text[:limit - len(suffix)] + suffix


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about a file, printed as `path:line: message` (warnings say so). The message and path are
    bounded in length here, the one place every problem is made."""

    path: str
    line: int
    message: str
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", bounded(self.message))
        object.__setattr__(self, "path", bounded(self.path, MAX_PATH_CHARS))

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{self.path}:{self.line}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class KbError(Exception):
    """Base class. `code` is stable and goes into the JSON error body."""

    code = "kb_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(KbError):
    code = "config_error"


class ArticleError(KbError):
    code = "article_error"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems) or "invalid article")


class TemplateError(KbError):
    """`problem` is the first; `problems` all of them (a template check reports every template at once)."""

    code = "template_error"

    def __init__(self, path: str, line: int, message: str, *, more: list[Problem] | None = None) -> None:
        self.problem = Problem(path, line, message)
        self.problems = [self.problem, *(more or [])]
        shown = "; ".join(str(p) for p in self.problems[:10])
        extra = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(shown + extra)


class ReindexRunning(KbError):
    """Answered at once (409) instead of queueing a second re-index behind the first."""

    code = "reindex_running"


class InvalidInput(KbError):
    code = "invalid_input"


class NotFound(KbError):
    code = "not_found"


class IndexNotReady(KbError):
    code = "index_not_ready"


class StoreUnavailable(KbError):
    code = "store_unavailable"


class StoreReadOnly(KbError):
    code = "store_read_only"
