"""How many blind dev messages must an organisation write before its own calibration and gate pay off?

An organisation with its own knowledge base fits the confidence calibration (`kb eval calibrate`) and the
answerability gate (`kb eval answerable`) on messages it wrote without looking at its articles' claims, then runs
with them. This replays exactly that with the documented commands, each a real `kb` process, on random samples
of N of a KB's blind dev messages (several seeds per N), and measures every fit on the KB's whole test half, which
chooses nothing:

    python -m eval.org_curve --articles eval/kbs/randmeer/articles --golden eval/kbs/randmeer \\
        --sizes 30 60 90 --seeds 3 --out reports/org-curve

Beside the samples it runs the bundled files (no fit: what an organisation gets without writing a message), the fit
on every dev message, and the calibration fitted on every dev message with the gate switched off (KB_GATE=false). A
sample is drawn from the blind dev file(s) as written (answerable and no-article messages alike); the test file is
copied whole. The re-ranker and the kinds model stay the bundled ones: an organisation refits those only with far
more data.

When its editors also wrote claims from some of those messages, a fit on them is in-sample (the messages that
wrote a claim score high and right, and the calibration learns too much trust): `--fit-half 1` fits only on the
dev messages of one half (`eval.metrics.fold_of(id, 2)`), the other half being the one the editors read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.metrics import fold_of

#: What `kb eval calibrate` prints for each threshold (KB_THRESHOLD_LOW=0.05 ...).
_THRESHOLD = re.compile(r"^(KB_THRESHOLD_(?:LOW|MEDIUM|HIGH))=([0-9.]+)", re.M)


@dataclass(frozen=True)
class Fit:
    """One fit and what it does on the test half."""

    label: str
    size: int
    seed: int | None
    thresholds: dict[str, float]
    gate_line: float | None
    test: dict[str, float | None]


def _kb(*args: str, env: dict[str, str]) -> str:
    """Run one `kb` command as an organisation would; its stdout, or a clear failure with its stderr."""
    done = subprocess.run([sys.executable, "-m", "kb.cli", *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode not in (0, 1):  # kb eval golden exits 1 when a minimum is not met: still a measurement
        raise SystemExit(f"kb {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def _test_figures(report: Path) -> dict[str, float | None]:
    test = json.loads(report.read_text(encoding="utf-8"))["test"]
    high = test["tiers"]["high"]
    return {"hit@1": test["hit@1"], "ranked_hit@1": test["ranked_hit@1"], "high_right": high["correct"],
            "high_n": high["n"], "no_match_precision": test["no_match_precision"],
            "no_match_recall": test["no_match_recall"]}


def sample_folder(golden: Path, into: Path, size: int | None, seed: int, half: int | None = None) -> int:
    """`into` holds `size` blind dev messages of `golden` drawn with `seed` (all when None; only those of `half`,
    `fold_of(id, 2)`, when given) and its test files whole; returns how many dev messages it holds."""
    into.mkdir(parents=True, exist_ok=True)
    dev = [line for f in sorted(golden.glob("golden_dev_*blind*.jsonl"))
           for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    if half is not None:
        dev = [line for line in dev if fold_of(json.loads(line)["id"], 2) == half]
    chosen = dev if size is None or size >= len(dev) else random.Random(seed).sample(dev, size)
    (into / "golden_dev_blind.jsonl").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    for test in golden.glob("golden_test_*.jsonl"):
        (into / test.name).write_text(test.read_text(encoding="utf-8"), encoding="utf-8")
    return len(chosen)


def run_fit(articles: Path, folder: Path, label: str, size: int, seed: int | None, *, fit: bool,
            precision: float, env: dict[str, str], gate: bool = True) -> Fit:
    """Fit the calibration and the gate on `folder`'s dev messages (unless `fit` is False), then measure test;
    with `gate` False, the calibration only, and the service runs with KB_GATE=false."""
    run_env = dict(env)
    thresholds: dict[str, float] = {}
    line = None
    where = ["--articles", str(articles), "--golden", str(folder)]
    if fit:
        calibration, gate_file = folder / "calibration.json", folder / "gate.json"
        printed = _kb("eval", "calibrate", *where, "--write", str(calibration), env=run_env)
        thresholds = {k: float(v) for k, v in _THRESHOLD.findall(printed)}
        run_env.update({k: str(v) for k, v in thresholds.items()}, KB_CALIBRATION=str(calibration))
        if gate:
            _kb("eval", "answerable", *where, "--precision", str(precision), "--write", str(gate_file), env=run_env)
            line = json.loads(gate_file.read_text(encoding="utf-8")).get("line")
            run_env["KB_ANSWERABLE_GATE"] = str(gate_file)
    if not gate:
        run_env["KB_GATE"] = "false"
    _kb("eval", "golden", *where, "--out", str(folder / "report"), env=run_env)
    return Fit(label, size, seed, thresholds, line, _test_figures(folder / "report" / "golden.json"))


def _mean(fits: Sequence[Fit], key: str) -> str:
    values = [v for v in (f.test[key] for f in fits) if v is not None]
    if not values:
        return "–"
    low, high = min(values), max(values)
    digits = 0 if key == "high_n" else 3
    mean = statistics.mean(values)
    return f"{mean:.{digits}f}" if low == high else f"{mean:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def table(fits: Sequence[Fit]) -> str:
    """A Markdown table: one row per label, the mean over its seeds and the range."""
    keys = ("hit@1", "ranked_hit@1", "high_right", "high_n", "no_match_precision", "no_match_recall")
    out = ["| fit | seeds | " + " | ".join(keys) + " |", "| --- " * (len(keys) + 2) + "|"]
    for label in dict.fromkeys(f.label for f in fits):
        group = [f for f in fits if f.label == label]
        out.append(f"| {label} | {len(group)} | " + " | ".join(_mean(group, k) for k in keys) + " |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 60, 90])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--precision", type=float, default=0.90, help="kb eval answerable --precision")
    parser.add_argument("--fit-half", type=int, choices=(0, 1),
                        help="fit only on the dev messages of this half (eval.metrics.fold_of(id, 2)): the other "
                             "half wrote the editors' claims, so a fit on it would be in-sample")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_THRESHOLD_", "KB_CALIBRATION",
                                                                   "KB_ANSWERABLE_GATE", "KB_GATE"))}
    env.setdefault("HF_HUB_OFFLINE", "1")
    fits: list[Fit] = []
    with tempfile.TemporaryDirectory(prefix="kb-org-curve-") as tmp:
        root = Path(tmp)
        total = sample_folder(args.golden, root / "bundled", None, 0, args.fit_half)
        fits.append(run_fit(args.articles, root / "bundled", "bundled files (no fit)", 0, None, fit=False,
                            precision=args.precision, env=env))
        for size in args.sizes:
            for seed in range(1, args.seeds + 1):
                folder = root / f"n{size}-s{seed}"
                n = sample_folder(args.golden, folder, size, seed, args.fit_half)
                fits.append(run_fit(args.articles, folder, f"own fit, {n} dev messages", n, seed, fit=True,
                                    precision=args.precision, env=env))
                print(f"{fits[-1].label} seed {seed}: {json.dumps(fits[-1].test)}", file=sys.stderr)
        half = f" (half {args.fit_half})" if args.fit_half is not None else ""
        fits.append(run_fit(args.articles, root / "bundled", f"own fit, all {total} dev messages{half}", total, None,
                            fit=True, precision=args.precision, env=env))
        fits.append(run_fit(args.articles, root / "bundled", f"own calibration, all {total}{half}, KB_GATE=false",
                            total, None, fit=True, precision=args.precision, env=env, gate=False))
    print(table(fits))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "org_curve.json").write_text(json.dumps([asdict(f) for f in fits], indent=1), encoding="utf-8")
        (args.out / "org_curve.md").write_text(table(fits) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
