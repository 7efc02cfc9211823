"""Claims an editor writes in the other language (`claims_other_language`) for an article that exists in one
language only: they are chunks of their own language, searched in its stems, and their lexical evidence competes
with that language's articles, never skewing the article's own language (kb.chunking, kb.retrieval)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.article import Language
from kb.chunking import ChunkKind, chunk_article
from kb.lexical import SparseEncoder
from kb.parsing import parse_article
from kb.retrieval import rank_articles
from kb.store import Hit

pytestmark = pytest.mark.unit

HAIR_DYE = Path(__file__).resolve().parents[2] / "articles" / "en" / "hair-dye-cancer.md"


def _hit(point: str, score: float, article: str, language: str, words_in: str | None = None) -> Hit:
    payload = {"article_id": article, "language": language, "text": point, "kind": "claim"}
    return Hit(point, score, payload | ({"text_language": words_in} if words_in else {}))


def test_a_claim_in_the_other_language_is_a_chunk_of_that_language_with_a_content_id() -> None:
    article = parse_article(HAIR_DYE).article
    assert article is not None and article.meta.language == Language.EN and article.meta.claims_other_language
    chunks = chunk_article(article)
    dutch = [c for c in chunks if c.language]
    assert [c.text for c in dutch] == article.meta.claims_other_language
    assert all(c.kind == ChunkKind.CLAIM and c.language == "nl" for c in dutch)
    assert {c.payload(article)["text_language"] for c in dutch} == {"nl"}
    assert {c.payload(article)["text_language"] for c in chunks if not c.language} == {"en"}
    assert all(c.payload(article)["language"] == "en" for c in chunks)  # still an English article, drafted as one
    assert [c.id for c in chunk_article(article)] == [c.id for c in chunks]  # the same content, the same ids


def test_the_indexer_stems_a_chunk_in_its_texts_language_and_old_payloads_in_their_articles() -> None:
    from kb.chunking import text_language

    assert text_language({"language": "en", "text_language": "nl"}) == "nl"
    assert text_language({"language": "en"}) == "en"  # written before text_language existed
    sparse = SparseEncoder()
    assert sparse.encode_document("krijg je kanker van haarverf", Language.NL) != sparse.encode_document(
        "krijg je kanker van haarverf", Language.EN)  # Dutch stop words and stems, not English ones


def test_its_lexical_evidence_competes_with_that_languages_articles_not_its_own() -> None:
    # A Dutch message: an English article matched by an editor's Dutch claim, a Dutch article by fewer words,
    # and an English article matched by nothing of the message but sharing English words with the claim's article.
    dense = [_hit("nl1", 0.900, "haar-nl", "nl"), _hit("en1", 0.899, "hair-dye-en", "en", "nl"),
             _hit("en2", 0.898, "other-en", "en")]
    lexical = [_hit("en1", 20.0, "hair-dye-en", "en", "nl"), _hit("nl1", 5.0, "haar-nl", "nl"),
               _hit("en2", 8.0, "other-en", "en")]
    ranked = rank_articles(dense, lexical, "hybrid")
    order = [m.article_id for m in ranked]
    assert order[0] == "hair-dye-en" and order.index("haar-nl") > 0  # its Dutch words beat the Dutch article's
    # the other English article is its own language's leader: the Dutch words did not push it down
    assert next(m for m in ranked if m.article_id == "other-en").score == 0.898
    # before text_language, the Dutch claim counted as English evidence: the Dutch article won on its words
    old = rank_articles([Hit(h.id, h.score, {k: v for k, v in h.payload.items() if k != "text_language"})
                         for h in dense],
                        [Hit(h.id, h.score, {k: v for k, v in h.payload.items() if k != "text_language"})
                         for h in lexical], "hybrid")
    assert old[0].article_id == "haar-nl"


def test_tied_chunks_of_one_article_give_its_own_languages_chunk_whatever_the_storage_order() -> None:
    # two chunks of a Dutch article tie on BM25, one of them an editor's English claim: on a server the English one
    # may come first, in local mode the Dutch one; the article must land in the same lexical group either way
    dense = [_hit("d1", 0.90, "darmkanker", "nl"), _hit("d2", 0.895, "moderatie", "nl")]
    tied = [_hit("en-claim", 7.841, "darmkanker", "nl", "en"), _hit("nl-claim", 7.841, "darmkanker", "nl", "nl"),
            _hit("m1", 13.0, "moderatie", "nl")]
    orders = [rank_articles(dense, lexical, "hybrid") for lexical in (tied, [tied[1], tied[0], tied[2]])]
    assert [(m.article_id, m.score) for m in orders[0]] == [(m.article_id, m.score) for m in orders[1]]
