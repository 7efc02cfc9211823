"""The answerability gate: does the knowledge base answer this message at all?

The confidence calibration (kb.confidence) answers another question: given that some article is right, is it
this one? It separates "this article" from "another article" well and "some article" from "none" badly: a thank
you, a job application or another city's bus strike reach the same best cosine as a short question the KB does
answer, and a no-match line on that probability either hides right answers or lets most off-topic messages
through as `low` (docs/benchmarks.md, issue 24). The gate is a second, separate model with one seam in
`Suggester.suggest`: when it says no, the message gets no match whatever its candidates' probabilities.

It reads the message and the shape of its whole ranking (`FEATURES`): the best candidate's calibrated
probability (as a log-odds), its cosine and the mean cosine of the first few (an off-topic message is far from
every article, not just from the best one), how far the best stands above the second, how much of the message's
own words the best candidate and the lexically best one share, the message's length, where the service
classifies message kinds the probabilities that it is off-topic, thanks or spam, and where the editors keep an
outside list (kb.outside) how close the message comes to a subject the KB deliberately does not answer ("Is
dementie erfelijk?" is near "Is kanker altijd erfelijk?", and nearer still to the listed "Is dementie erfelijk?").
A logistic model over those, fitted per embedding model only on messages written without seeing the articles'
claims (the blind dev halves, the editor rounds' blind draws and the real dev tweets) by `kb eval answerable
--write`, gives P(the KB answers it); `line` is where no match begins, chosen on the same dev data out of fold.
Weights ship in `kb/calibration/<model>.answerable.json`.

    >>> gate = AnswerGate("m", ("top_cosine",), (0.88,), (0.01,), (0.0, 2.0), line=0.5, fitted_on="doc")
    >>> gate.answers({"top_cosine": 0.90}), gate.answers({"top_cosine": 0.86})
    (True, False)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.errors import ConfigError
from kb.fitted import load_fitted
from kb.models import file_slug
from kb.retrieval import Match, lexical_part

#: Everything the gate can read; a fitted gate names the subset it uses.
FEATURES = ("confidence_logit", "top_cosine", "mean_cosine", "cosine_margin", "lexical", "lexical_best",
            "log_words", "kind_offtopic", "kind_thanks", "kind_spam", "outside_cosine")
#: Features a knowledge base may not have (no outside list, kb.outside; message kinds switched off, KB_KINDS): a
#: gate reads a missing one as its mean, i.e. as if it did not read it.
OPTIONAL = ("kind_offtopic", "kind_thanks", "kind_spam", "outside_cosine")
#: Candidates whose cosines are averaged (the ranking the suggestion path keeps is longer).
HEAD = 5
BUNDLED = Path(__file__).resolve().parent / "calibration"


def signals(ranked: Sequence[Match], probabilities: Sequence[float], *, words: int,
            kinds: Mapping[str, float] | None = None, outside: float | None = None) -> dict[str, float]:
    """What the gate reads of one message: its ranking (best first), each candidate's calibrated probability, its
    length in words and, if known, each message kind's probability (`{"offtopic": 0.7, ...}`) and its cosine to
    the nearest example of the KB's outside list (kb.outside); the last two are left out where the service has no
    kinds or the KB no list.

        >>> m = Match("a", "nl", 0.9, 0.9, 0.0, "t", "claim")
        >>> s = signals([m], [0.5], words=4)
        >>> s["confidence_logit"], s["cosine_margin"], "kind_offtopic" in s
        (0.0, 0.05, False)
    """
    known = {} if outside is None else {"outside_cosine": outside}
    if kinds is not None:
        known |= {"kind_offtopic": kinds.get("offtopic", 0.0), "kind_thanks": kinds.get("thanks", 0.0),
                  "kind_spam": kinds.get("spam", 0.0)}
    if not ranked:
        return dict.fromkeys(set(FEATURES) - set(OPTIONAL), 0.0) | known | {"confidence_logit": -10.0,
                                                                             "log_words": math.log1p(words)}
    head = ranked[:HEAD]
    cosines = sorted((m.dense for m in head), reverse=True)
    p = min(1 - 1e-4, max(1e-4, probabilities[0]))
    return {"confidence_logit": math.log(p / (1 - p)), "top_cosine": head[0].dense,
            "mean_cosine": sum(cosines) / len(cosines),
            "cosine_margin": cosines[0] - cosines[1] if len(cosines) > 1 else 0.05,
            "lexical": lexical_part(head[0].lexical), "lexical_best": max(lexical_part(m.lexical) for m in head),
            "log_words": math.log1p(words)} | known


@dataclass(frozen=True)
class AnswerGate:
    """A fitted logistic model over standardised `features` (intercept first in `weights`) and its no-match
    line."""

    model_id: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    line: float
    fitted_on: str

    def probability(self, signal: Mapping[str, float]) -> float:
        """P(the knowledge base answers the message). An optional feature the signal lacks counts as its mean."""
        z = self.weights[0] + sum(w * ((signal.get(f, m) if f in OPTIONAL else signal[f]) - m) / s
                                  for w, f, m, s in zip(self.weights[1:], self.features, self.mean, self.scale,
                                                        strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def answers(self, signal: Mapping[str, float]) -> bool:
        return self.probability(signal) >= self.line

    @property
    def reads_kinds(self) -> bool:
        return any(f.startswith("kind_") for f in self.features)

    @property
    def reads_outside(self) -> bool:
        return "outside_cosine" in self.features

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> AnswerGate:
        try:
            raw = json.loads(text)
            gate = cls(str(raw["model_id"]), tuple(raw["features"]), tuple(map(float, raw["mean"])),
                       tuple(map(float, raw["scale"])), tuple(map(float, raw["weights"])), float(raw["line"]),
                       str(raw.get("fitted_on", "")))
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"answerability gate: {source} is not a gate file ({e})") from e
        if set(gate.features) - set(FEATURES) or not (len(gate.features) == len(gate.mean) == len(gate.scale)
                                                      == len(gate.weights) - 1) or not 0 <= gate.line <= 1:
            raise ConfigError(f"answerability gate: {source} does not fit this version's features {FEATURES}")
        if any(s <= 0 for s in gate.scale):
            raise ConfigError(f"answerability gate: {source} has a scale that is not positive")
        return gate


def gate_file(model_id: str) -> Path:
    return BUNDLED / f"{file_slug(model_id)}.answerable.json"


def load_gate(model_id: str, path: Path | None = None) -> AnswerGate | None:
    """The gate for `model_id`: `path` if given (KB_ANSWERABLE_GATE), else the bundled one; None when there is
    none (then only the per-candidate line KB_THRESHOLD_LOW decides no match)."""
    return load_fitted("answerability gate", model_id, gate_file(model_id), parse=AnswerGate.from_json, given=path)
