"""Confidence: how likely a candidate article is the right answer to a message, as a probability.

A cosine on its own says little: the multilingual encoder gives an on-topic message a top score of about 0.90 and
an off-topic one about 0.86, with wide overlap. What separates them is the shape of the ranking: how far the
article stands out from the next one, whether the message's own words back it, how long the message is. A small
logistic model over those features (`FEATURES`), fitted per embedding model on the dev messages only by
`kb eval calibrate --write`, turns them into the probability that the article is the one an agent would send.
The tiers then cut probabilities, so `KB_THRESHOLD_HIGH=0.8` means "right at least 8 times in 10" whatever the
model, and a new model needs a new calibration file, not new thresholds.

Fitted calibrations ship in `kb/calibration/` (one JSON file per model id); `KB_CALIBRATION` points at another.

    >>> cal = Calibration(model_id="m", features=("score", "margin"), mean=(0.9, 0.0), scale=(0.02, 0.02),
    ...                   weights=(0.0, 1.0, 2.0), fitted_on="doc")
    >>> round(cal.probability([0.92, 0.02]), 3)
    0.953
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.errors import ConfigError
from kb.fitted import load_fitted
from kb.models import file_slug
from kb.retrieval import Match, lexical_part

log = logging.getLogger(__name__)

#: What the model reads of a candidate (see `features`).
FEATURES = ("score", "margin", "lexical", "dense_gap", "log_words", "same_language", "rerank")
BUNDLED = Path(__file__).resolve().parent / "calibration"


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic model: standardised features, an intercept and one weight per feature."""

    model_id: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]  # intercept first
    fitted_on: str  # which data, so a reader knows what the probabilities were measured on

    def probability(self, x: Sequence[float]) -> float:
        if not self.weights:  # uncalibrated: the score itself, clipped
            return min(1.0, max(0.0, x[0]))
        z = self.weights[0] + sum(w * (v - m) / s for w, v, m, s in
                                  zip(self.weights[1:], x, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Calibration:
        try:
            raw = json.loads(text)
            cal = cls(model_id=str(raw["model_id"]), features=tuple(raw["features"]),
                      mean=tuple(map(float, raw["mean"])), scale=tuple(map(float, raw["scale"])),
                      weights=tuple(map(float, raw["weights"])), fitted_on=str(raw.get("fitted_on", "")))
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"calibration: {source} is not a calibration file ({e})") from e
        if set(cal.features) - set(FEATURES) or not (len(cal.features) == len(cal.mean) == len(cal.scale)
                                                     == len(cal.weights) - 1):
            raise ConfigError(f"calibration: {source} does not fit this version's features {FEATURES}")
        return cal


#: Used when no calibration matches the model: the fused score itself stands in for the probability, so tiers
#: still order sensibly, and a warning says to calibrate.
UNCALIBRATED = Calibration(model_id="", features=("score",), mean=(0.0,), scale=(1.0,), weights=(),
                           fitted_on="uncalibrated")


def calibration_file(model_id: str) -> Path:
    return BUNDLED / f"{file_slug(model_id)}.json"


def load_calibration(model_id: str, path: Path | None = None) -> Calibration:
    """The calibration for `model_id`: `path` if given (KB_CALIBRATION), else the bundled one for the model."""
    cal = load_fitted("calibration", model_id, calibration_file(model_id), parse=Calibration.from_json, given=path)
    if cal is None:
        log.warning("no confidence calibration for model %s: tiers use raw scores; run `kb eval calibrate "
                    "--write FILE` and set KB_CALIBRATION", model_id)
        return UNCALIBRATED
    return cal


def features(ranked: Sequence[Match], i: int, *, words: int, language: str) -> dict[str, float]:
    """What the calibration reads of candidate `i` of a ranking (best first).

    - score: its fused score; margin: how far it is above the best other candidate (negative below it);
    - lexical: how much of its score the message's own words give; dense_gap: its cosine against the best one;
    - log_words: the message's length; same_language: 1 when the article is in the message's language;
    - rerank: the second stage's probability for it among the first few (kb.rerank; 0 where it did not run).
    """
    m = ranked[i]
    others = [r.score for j, r in enumerate(ranked) if j != i]
    best_other = max(others) if others else m.score - 0.05
    best_dense = max(r.dense for r in ranked)
    return {"score": m.score, "margin": m.score - best_other, "lexical": lexical_part(m.lexical),
            "dense_gap": m.dense - best_dense, "log_words": math.log1p(words),
            "same_language": 1.0 if m.language == language else 0.0,
            "rerank": m.rerank if m.rerank is not None else 0.0}


def probabilities(cal: Calibration, ranked: Sequence[Match], *, words: int, language: str) -> list[float]:
    """The calibrated probability of each candidate, in ranking order."""
    out = []
    for i in range(len(ranked)):
        f = features(ranked, i, words=words, language=language)
        out.append(cal.probability([f[name] for name in cal.features]))
    return out
