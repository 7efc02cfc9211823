"""Files fitted for one encoder: the confidence calibration, the kinds model, the answerability gate, the
near-repeat measure and the re-ranker. Each is bundled per model id (or given by a setting) and each must refuse a
file fitted for another model, whose weights would read the wrong vectors; this module is that rule, once.

    >>> load_fitted("re-ranker", "m", Path("no-such-file.json"), parse=lambda text, where: None) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from kb.errors import ConfigError


class Fitted(Protocol):
    @property
    def model_id(self) -> str: ...


F = TypeVar("F", bound=Fitted)


def load_fitted(what: str, model_id: str, bundled: Path, *, parse: Callable[[str, str], F],
                given: Path | None = None, refit: str = "") -> F | None:
    """`given` (a setting) if set, else the `bundled` file; None when there is no bundled one.

    A `given` file that does not exist, and a file fitted for another model id, are configuration errors naming
    the file (`refit` says how to make a right one)."""
    source = given or bundled
    if not source.is_file():
        if given is not None:
            raise ConfigError(f"{what}: {given} does not exist")
        return None
    fitted = parse(source.read_text(encoding="utf-8"), str(source))
    if fitted.model_id != model_id:
        raise ConfigError(f"{what}: {source} was fitted for {fitted.model_id}, the service uses {model_id}"
                          + (f": {refit}" if refit else ""))
    return fitted
