"""The statistics behind the QA reports: alpha, AP@5, perturbations, the agent-reply checks' text rules."""

from __future__ import annotations

import math

import pytest

from eval.agents import _norm_url, _numbers
from eval.krippendorff import alpha, alpha_with_ci
from eval.metrics import average_precision_at_k
from eval.paraphrase import PERTURBATIONS, perturb
from eval.stance import stance


def test_alpha_matches_krippendorffs_worked_example() -> None:
    # Krippendorff (2011), nominal example: 12 units, 4 observers, "." = missing.
    table = [
        [1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
        [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, None, 3, None],
    ]
    units = [[v for v in row if v is not None] for row in table]
    assert alpha(units) == pytest.approx(0.743, abs=0.001)


def test_alpha_is_one_for_perfect_agreement_and_low_for_chance() -> None:
    assert alpha([["a", "a", "a"], ["b", "b"]]) == 1.0
    assert alpha([["a", "b"], ["b", "a"], ["a", "b"]]) < 0
    assert math.isnan(alpha([["a"]]))


def test_alpha_interval_is_repeatable_and_contains_the_value() -> None:
    units = [["a", "a", "a"], ["b", "b", "c"], ["c", "c"], ["a", "b"], ["d", "d", "d", "d"]]
    first, again = alpha_with_ci(units, seed=3), alpha_with_ci(units, seed=3)
    assert first == again
    assert first["ci"][0] <= first["value"] <= first["ci"][1]


def test_average_precision_at_5_follows_checkthat() -> None:
    assert average_precision_at_k(["x", "a"], {"a"}) == 0.5
    assert average_precision_at_k(["a", "x", "b"], {"a", "b"}) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision_at_k(["x"] * 5 + ["a"], {"a"}) == 0.0


@pytest.mark.parametrize("kind", PERTURBATIONS)
def test_perturbations_are_deterministic_and_change_the_text(kind: str) -> None:
    text = "Klopt het dat bestraling in het ziekenhuis gevaarlijk is? Café"
    assert perturb(text, kind, "id-1") == perturb(text, kind, "id-1")
    assert perturb(text, kind, "id-1") != text


def test_a_typo_swaps_two_letters_of_one_word() -> None:
    text = "kanker genezen met zuiveringszout"
    typo = perturb(text, "typo", "seed")
    diff = [(a, b) for a, b in zip(text.split(), typo.split(), strict=True) if a != b]
    assert len(diff) == 1 and sorted(diff[0][0]) == sorted(diff[0][1])


@pytest.mark.parametrize(("reply", "affirms"), [
    ("Klopt, suiker voedt kanker, dus minder suiker is beter", True),
    ("Dat is waar, sommige mensen hebben er baat bij", True),
    ("Yes, it can help, give it a try!", True),
    ("Dat klopt niet: suiker voedt kanker niet", False),
    ("Nee hoor, dat is een fabel", False),
    ("That's a myth, there is no evidence for it", False),
])
def test_stance_rules_tell_affirming_from_denying(reply: str, affirms: bool) -> None:
    assert (stance(reply, myth=True, true_claim=False) is not None) is affirms


def test_numbers_are_compared_as_values_whether_digits_or_words() -> None:
    assert _numbers("binnen vijf werkdagen") == _numbers("binnen 5 werkdagen") == {"5"}
    assert _numbers("zie https://example.org/2024/page") == set()
    assert "3" in _numbers("opzeggen duurt 3 maanden")


def test_urls_compare_without_scheme_www_or_trailing_slash() -> None:
    assert _norm_url("https://www.kwf.nl/kanker/") == _norm_url("http://kwf.nl/kanker") == "kwf.nl/kanker"
