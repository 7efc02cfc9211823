"""The `learned_phrasings` front-matter field: what `kb learned export` writes into an article, and what the parser
(and so `kb lint`) accepts and refuses, with the line it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import ArticleError
from kb.front_matter import add_learned_phrasings
from kb.parsing import parse_bytes

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SUGAR = (ROOT / "articles" / "nl" / "suiker-voedt-kanker.md").read_bytes()
KEY_LINE = b"translations: [sugar-feeds-cancer-en]\n"


def _with(block: bytes) -> bytes:
    return SUGAR.replace(KEY_LINE, KEY_LINE + block)


def test_export_adds_the_field_and_leaves_every_other_line_as_it_was() -> None:
    out = add_learned_phrasings(SUGAR, "s.md", ['klopt het dat "suiker" kanker voedt 😱', "tweede   zin"])
    article = parse_bytes(out, "s.md").article
    assert article is not None
    assert article.meta.learned_phrasings == ['klopt het dat "suiker" kanker voedt 😱', "tweede zin"]
    removed = [line for line in SUGAR.decode().splitlines() if line not in out.decode().splitlines()]
    assert removed == []
    assert parse_bytes(SUGAR, "s.md").article.meta.claims == article.meta.claims  # type: ignore[union-attr]


def test_export_appends_to_an_existing_list_and_skips_what_is_there() -> None:
    raw = _with(b'learned_phrasings:\n  - "eerste zin"\n')
    out = add_learned_phrasings(raw, "s.md", ["Eerste  zin", "nieuwe zin"])
    assert parse_bytes(out, "s.md").article.meta.learned_phrasings == ["eerste zin", "nieuwe zin"]  # type: ignore[union-attr]
    assert add_learned_phrasings(out, "s.md", ["nieuwe zin"]) == out


def test_export_keeps_crlf_line_ends_and_a_byte_order_mark() -> None:
    raw = b"\xef\xbb\xbf" + SUGAR.replace(b"\n", b"\r\n")
    out = add_learned_phrasings(raw, "s.md", ["een zin van een klant"])
    assert out.startswith(b"\xef\xbb\xbf") and b"\r\nlearned_phrasings:\r\n" in out and b"\n\n" not in out
    assert parse_bytes(out, "s.md").article is not None


def test_export_refuses_a_flow_list_it_cannot_extend_in_place() -> None:
    with pytest.raises(ArticleError, match="block list"):
        add_learned_phrasings(_with(b'learned_phrasings: ["a b c"]\n'), "s.md", ["nieuw"])


def test_export_refuses_an_article_that_does_not_parse() -> None:
    with pytest.raises(ArticleError, match="does not parse"):
        add_learned_phrasings(SUGAR.replace(b"type: fact-check", b"type: nonsense"), "s.md", ["nieuw"])


@pytest.mark.parametrize(("block", "line", "message"), [
    (b'learned_phrasings:\n  - "ok dan"\n  - "bel me op 06-12345678"\n', 30, "mask it as [e-mail], [telefoon]"),
    (b'learned_phrasings:\n  - "mail ria@example.nl"\n', 29, "looks like an e-mail address"),
    (b'learned_phrasings:\n  - "a b c"\n  - "A  B c"\n', 29, "phrasing 2 repeats phrasing 1"),
    (b'learned_phrasings: "een zin"\n', 28, "valid list"),
])
def test_lint_refuses_unmasked_repeated_or_malformed_phrasings_naming_the_line(block: bytes, line: int,
                                                                                message: str) -> None:
    result = parse_bytes(_with(block), "s.md")
    assert result.article is None
    assert [(p.line, message in p.message) for p in result.problems] == [(line, True)]
