"""Near-repeats: is one message a lightly edited copy of another (a retweet, a copy-paste with a word changed)?

Learned phrasings (kb.learned) count only for near-repeats, never for messages that merely share a subject: in
this encoder's narrow space the most similar message about *another* subject scores 0.85-0.91 cosine for every
message, so a raw cosine cannot tell a copy from a neighbour. Two measures that can, averaged:

- the cosine after removing the common direction (`mean`, the average vector of the dev messages): what every
  message shares no longer counts, and what is left separates a copy from a neighbour;
- the Jaccard overlap of character trigrams of the normalised text (accents, case and punctuation out): robust
  to a typo, a hashtag or a retweet prefix, and low for a translation or a paraphrase.

`similarity` is their mean; `cut` is fitted per embedding model on the dev messages and their edited copies
(`kb eval near-repeat --write`, eval/near_repeat.py), shipped in `kb/calibration/<model>.near_repeat.json` with
the separation figures it was chosen by. A model without a fitted file gets `fallback`: no centring and a high
cut, so learned evidence stays rare rather than loose.

    >>> import numpy as np
    >>> measure = NearRepeat(model_id="m", mean=np.zeros(2, np.float32), cut=0.7, precision=0.99, fitted_on="doc")
    >>> a = measure.read("Klopt het dat suiker kanker voedt?", np.array([1.0, 0.0], np.float32))
    >>> b = measure.read("RT @x: klopt het dat suikr kanker voedt #deeldit", np.array([0.98, 0.2], np.float32))
    >>> round(measure.similarity(a, b), 2), measure.is_near(a, b)
    (0.86, True)
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.errors import ConfigError
from kb.fitted import load_fitted
from kb.models import file_slug
from kb.normalize import normalize, strip_accents

log = logging.getLogger(__name__)

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"
#: The cut for a model with no fitted file: above every dev pair of different messages the default model gives.
FALLBACK_CUT = 0.85
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of the normalised text (lower case, no accents, words and digits only).

        >>> sorted(trigrams("Suiker!!"))
        ['ike', 'ker', 'sui', 'uik']
    """
    flat = _NOT_WORD.sub(" ", strip_accents(normalize(text)).lower()).strip()
    if len(flat) < 3:
        return frozenset({flat}) if flat else frozenset()
    return frozenset(flat[i:i + 3] for i in range(len(flat) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 for two empty sets (nothing to compare is not a repeat)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


@dataclass(frozen=True)
class Reading:
    """One text as the measure compares it: its centred unit vector and its trigrams."""

    centred: np.ndarray
    grams: frozenset[str]


@dataclass(frozen=True)
class NearRepeat:
    """The fitted near-repeat measure of one embedding model (see the module docstring)."""

    model_id: str
    mean: np.ndarray
    cut: float
    #: Of the dev pairs at or above the cut, the share that are copies or messages about the same article
    #: (Laplace-smoothed): what a near-repeat says about the article, used by kb.learned.
    precision: float
    fitted_on: str
    separation: dict[str, float] = field(default_factory=dict)

    def centre(self, vectors: np.ndarray) -> np.ndarray:
        """`vectors` (rows) without the common direction, normalised again."""
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32)) - self.mean
        return (v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

    def read(self, text: str, vector: np.ndarray) -> Reading:
        return Reading(self.centre(vector)[0], trigrams(text))

    def similarity(self, a: Reading, b: Reading) -> float:
        return (float(a.centred @ b.centred) + jaccard(a.grams, b.grams)) / 2

    def is_near(self, a: Reading, b: Reading) -> bool:
        return self.similarity(a, b) >= self.cut

    @property
    def cosine_floor(self) -> float:
        """No pair below this centred cosine can reach the cut (the trigram half is at most 1): a prefilter."""
        return 2 * self.cut - 1

    def to_json(self) -> str:
        return json.dumps({"model_id": self.model_id, "cut": self.cut, "precision": self.precision,
                           "fitted_on": self.fitted_on, "separation": self.separation,
                           "mean": [round(float(v), 7) for v in self.mean]}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> NearRepeat:
        try:
            raw = json.loads(text)
            return cls(model_id=str(raw["model_id"]), mean=np.asarray(raw["mean"], dtype=np.float32),
                       cut=float(raw["cut"]), precision=float(raw["precision"]), fitted_on=str(raw["fitted_on"]),
                       separation={str(k): float(v) for k, v in (raw.get("separation") or {}).items()})
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"near-repeat: {source} is not a near-repeat file ({e})") from e

    @classmethod
    def fallback(cls, model_id: str, dim: int) -> NearRepeat:
        return cls(model_id=model_id, mean=np.zeros(dim, np.float32), cut=FALLBACK_CUT, precision=0.95,
                   fitted_on="not fitted: no centring, a high cut")


def near_repeat_file(model_id: str) -> Path:
    return CALIBRATION_DIR / f"{file_slug(model_id)}.near_repeat.json"


def load_near_repeat(model_id: str, dim: int) -> NearRepeat:
    """The shipped measure for `model_id`, or `NearRepeat.fallback` (with a warning) where none is fitted."""
    path = near_repeat_file(model_id)
    measure = load_fitted("near-repeat", model_id, path, parse=NearRepeat.from_json)
    if measure is None:
        log.warning("no near-repeat fit for model %s: learned phrasings use a high cut without centring; run "
                    "`kb eval near-repeat --write`", model_id)
        return NearRepeat.fallback(model_id, dim)
    if measure.mean.shape != (dim,):
        raise ConfigError(f"near-repeat: {path} has a {measure.mean.shape[0]}-wide mean, the encoder gives {dim}")
    return measure
