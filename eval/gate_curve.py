"""How many blind messages does a knowledge base need before its own answerability gate's line holds, and what
does the gate cost in right first answers? Measured on the sample KB's dev data only, as an organisation would
fit its gate: draw N of the blind dev messages (the editor rounds' draws, as `kb eval answerable` reads them), choose
the line out of fold on those N with the shipped rule (`eval.answerable.choose_line`), fit the gate on all N, and
judge it on the blind dev messages that were not drawn. Beside it, the same draws with the gate switched off
(KB_GATE=false: only KB_THRESHOLD_LOW decides no match).

    python -m eval.gate_curve --sizes 60 124 200 400 800 --seeds 40      # a minute; no test split is read

The rows are ranked and calibrated once with the shipped files (the kinds' probabilities out of fold, the outside
list read), so a draw's calibration is the bundled one: what varies is the gate alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from eval.answerable import (
    KIND_FEATURES,
    OUTSIDE_FEATURES,
    RANKING_FEATURES,
    GateRow,
    choose_line,
    collect,
    fit_gate,
    no_match,
    out_of_fold,
    out_of_fold_kinds,
)
from eval.cli_answerable import blind_dev
from eval.cli_common import eval_engine
from kb.outside import load_outside


@dataclass(frozen=True)
class Draw:
    """One draw's line and what its gate does on the messages not drawn."""

    line: float
    precision: float | None  # no-match precision on the held-out messages
    recall: float  # share of held-out messages without an article that get no match
    hidden: float  # share of held-out right first answers that get no match


def judge(rows: Sequence[GateRow], probabilities: Sequence[float], line: float) -> Draw:
    """What a gate's probabilities and line do on `rows` (messages it was not fitted on).

        >>> rows = [GateRow("a", "blind", {}, False, False), GateRow("b", "blind", {}, True, True),
        ...         GateRow("c", "blind", {}, True, True)]
        >>> judge(rows, [0.1, 0.2, 0.9], 0.5)
        Draw(line=0.5, precision=0.5, recall=1.0, hidden=0.5)
    """
    nm = no_match(rows, probabilities, line)
    said = sum(nm)
    right = sum(m and not r.answerable for m, r in zip(nm, rows, strict=True))
    unanswerable = sum(not r.answerable for r in rows) or 1
    first = [m for m, r in zip(nm, rows, strict=True) if r.right_first]
    return Draw(line, right / said if said else None, right / unanswerable, sum(first) / (len(first) or 1))


def one_draw(rows: Sequence[GateRow], features: Sequence[str], size: int, seed: int, *,
             gate: bool = True) -> Draw:
    """Fit on `size` rows drawn with `seed` (the line out of fold on them), judge on the rest."""
    drawn = random.Random(seed).sample(list(rows), size)
    ids = {r.message_id for r in drawn}
    rest = [r for r in rows if r.message_id not in ids]
    if not gate:
        return judge(rest, [1.0] * len(rest), 0.0)
    line = choose_line(drawn, out_of_fold(drawn, features))
    fitted = fit_gate(drawn, features, "draw", line=line)
    return judge(rest, [fitted.probability(r.signal) for r in rest], line)


def summary(draws: Sequence[Draw]) -> str:
    """A table cell group: mean held-out precision (the share of draws below 0.85), recall, hidden right firsts."""
    precisions = [d.precision for d in draws if d.precision is not None]
    below = sum(p < 0.85 for p in precisions)
    return (f"{statistics.mean(precisions):.3f} ({below} of {len(draws)} below 0.85) | "
            f"{statistics.mean(d.recall for d in draws):.3f} | {100 * statistics.mean(d.hidden for d in draws):.1f}% "
            f"(at most {100 * max(d.hidden for d in draws):.1f}%) | {sum(d.line == 0 for d in draws)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 124, 200, 400, 800])
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args(argv)
    messages = blind_dev(None)
    with eval_engine(None) as engine:
        held_out = out_of_fold_kinds(engine.embedder)
        outside = load_outside(engine.settings.articles_dir, engine.embedder)
        rows = collect(engine, messages, source="blind", outside=outside,
                       kinds=lambda m: held_out.get(m.id) or engine.suggester.kind_probabilities(m.text))
    features = RANKING_FEATURES + KIND_FEATURES + (OUTSIDE_FEATURES if outside is not None else ())
    without = sum(not r.answerable for r in rows)
    print(f"{len(rows)} blind dev messages of the sample KB, {without} without an article; {args.seeds} draws each")
    print("| drawn (without an article) | gate | held-out no-match precision | recall | right first hidden | "
          "draws with line 0 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size in args.sizes:
        for gate in (True, False):
            draws = [one_draw(rows, features, size, seed, gate=gate) for seed in range(args.seeds)]
            label = "fitted on the draw" if gate else "off (KB_GATE=false)"
            print(f"| {size} ({round(size * without / len(rows))}) | {label} | {summary(draws)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
