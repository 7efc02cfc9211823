"""The organisation curve's samples and table (eval.org_curve): which messages a fit may read, and how the seeds
are summed up. The commands it runs are the documented ones, tested end to end on their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.org_curve import Fit, sample_folder, table

pytestmark = pytest.mark.unit


def _golden(folder: Path) -> Path:
    folder.mkdir()
    rows = [{"id": f"d{i}", "text": f"vraag {i}", "expected": None if i % 5 == 0 else "a"} for i in range(40)]
    (folder / "golden_dev_blind.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "golden_dev_core.jsonl").write_text(json.dumps({"id": "core", "text": "uit de claims"}) + "\n")
    (folder / "golden_test_blind.jsonl").write_text(json.dumps({"id": "t1", "text": "test"}) + "\n")
    return folder


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_a_sample_holds_only_blind_dev_messages_and_the_whole_test_half(tmp_path: Path) -> None:
    golden = _golden(tmp_path / "kb")
    assert sample_folder(golden, tmp_path / "s", 10, seed=1) == 10
    dev = _ids(tmp_path / "s" / "golden_dev_blind.jsonl")
    assert len(set(dev)) == 10 and all(i.startswith("d") for i in dev)  # never the claims-written core set
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["golden_dev_blind.jsonl", "golden_test_blind.jsonl"]
    assert _ids(tmp_path / "s" / "golden_test_blind.jsonl") == ["t1"]


def test_a_seed_draws_the_same_sample_again_and_another_seed_another(tmp_path: Path) -> None:
    golden = _golden(tmp_path / "kb")
    sample_folder(golden, tmp_path / "a", 10, seed=1)
    sample_folder(golden, tmp_path / "b", 10, seed=1)
    sample_folder(golden, tmp_path / "c", 10, seed=2)
    a, b, c = (_ids(tmp_path / x / "golden_dev_blind.jsonl") for x in "abc")
    assert a == b and a != c
    assert sample_folder(golden, tmp_path / "all", None, seed=1) == 40


def test_a_fit_on_one_half_never_reads_the_half_that_wrote_the_claims(tmp_path: Path) -> None:
    golden = _golden(tmp_path / "kb")
    halves = []
    for half in (0, 1):
        sample_folder(golden, tmp_path / f"h{half}", None, seed=1, half=half)
        halves.append(set(_ids(tmp_path / f"h{half}" / "golden_dev_blind.jsonl")))
    assert halves[0] and halves[1] and not halves[0] & halves[1]
    assert halves[0] | halves[1] == {f"d{i}" for i in range(40)}
    assert sample_folder(golden, tmp_path / "s", 5, seed=3, half=1) == 5
    assert set(_ids(tmp_path / "s" / "golden_dev_blind.jsonl")) <= halves[1]


def test_the_table_gives_each_size_its_mean_and_range_over_the_seeds() -> None:
    def fit(seed: int, hit: float, high_right: float | None) -> Fit:
        return Fit("own fit, 30 dev messages", 30, seed, {}, 0.0,
                   {"hit@1": hit, "ranked_hit@1": 0.9, "high_right": high_right, "high_n": 10,
                    "no_match_precision": None, "no_match_recall": 0.5})

    row = table([fit(1, 0.80, 0.9), fit(2, 0.90, None)]).splitlines()[-1]
    assert row.startswith("| own fit, 30 dev messages | 2 | 0.850 (0.800–0.900) | 0.900 | 0.900 | 10 | – | 0.500 |")
