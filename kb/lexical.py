"""Lexical (BM25-style) sparse vectors for Qdrant, aware of Dutch and English.

The bundled MiniLM model is English-only and weak on Dutch, so exact word evidence carries real weight here:
text is normalised, lower-cased, stripped of accents and stop words, Snowball-stemmed per language, and Dutch
compounds also emit their known head words ("borstkankeronderzoek" -> borst + kanker + onderzoek). Documents
carry BM25 term-frequency saturation; queries carry 1.0 per term; IDF is applied by Qdrant's IDF modifier.

    >>> enc = SparseEncoder()
    >>> q = enc.encode_query("Geneest zuiveringszout kanker?", Language.NL)
    >>> len(q.indices) > 0 and list(q.indices) == sorted(q.indices)
    True
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass

import snowballstemmer

from kb.article import Language
from kb.normalize import Message, normalize, strip_accents
from kb.stopwords import DUTCH, ENGLISH

#: Bump whenever tokenisation changes: the indexer compares it and rebuilds.
version = "lex-1"

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = {Language.NL: DUTCH, Language.EN: ENGLISH}
_ALGORITHM = {Language.NL: "dutch", Language.EN: "english"}
#: Frequent head words of Dutch health compounds; a longer word ending in one of them also yields its parts.
_DUTCH_HEADS = ("kanker", "onderzoek", "vaccinatie", "vaccin", "tumor", "tumoren", "dieet", "olie", "infuus",
                "therapie", "behandeling", "zout", "prik", "middel", "water", "straling", "crème", "creme",
                "kuur", "donatie", "gift", "bank", "screening", "suiker")
_local = threading.local()


def _stemmer(language: Language) -> snowballstemmer.stemmer:
    """Snowball stemmers keep state and are not thread-safe: one per thread and language."""
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if language not in cache:
        cache[language] = snowballstemmer.stemmer(_ALGORITHM[language])
    return cache[language]


def _split_compound(token: str) -> list[str]:
    for head in _DUTCH_HEADS:
        if token.endswith(head) and len(token) - len(head) >= 3:
            return [token[: -len(head)], head]
    return []


def tokenize(text: str, language: Language) -> list[str]:
    """Normalised, stop-word-free, stemmed terms of `text` in `language` (repeats kept, for term frequency)."""
    return terms(normalize(text), language)


def terms(clean: str, language: Language) -> list[str]:
    """`tokenize` of text already normalised (a chunk at index time goes through `tokenize`, a message is read
    once as a `Message`)."""
    words = _TOKEN.findall(strip_accents(clean.lower()))
    stop = _STOP[language]
    terms: list[str] = []
    for word in words:
        if len(word) < 2 or word in stop:
            continue
        terms.append(word)
        if language is Language.NL:
            terms.extend(p for p in _split_compound(word) if p not in stop)
    return _stem(terms, language)


#: Stems already computed, per language. Snowball costs about 0.1 ms a word in pure Python and a vocabulary
#: repeats itself: the cache takes a query's lexical half from about 1 ms to 0.1 ms, and a full build's from
#: tens of seconds to a few. Bounded by clearing (a plain dict read is thread-safe; the stemmer is not).
_STEMS: dict[Language, dict[str, str]] = {Language.NL: {}, Language.EN: {}}
_MAX_STEMS = 200_000


def _stem(words: list[str], language: Language) -> list[str]:
    cache = _STEMS[language]
    missing = [w for w in dict.fromkeys(words) if w not in cache]
    fresh = dict(zip(missing, _stemmer(language).stemWords(missing), strict=True)) if missing else {}
    if fresh:
        if len(cache) > _MAX_STEMS:
            cache.clear()
        cache.update(fresh)
    # .get: another thread may have cleared the cache in between
    return [fresh.get(w) or cache.get(w) or _stemmer(language).stemWord(w) for w in words]


def term_id(term: str) -> int:
    """A stable unsigned 32-bit id for a term (Python's hash() differs between processes)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


@dataclass(frozen=True)
class SparseVec:
    indices: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def is_empty(self) -> bool:
        return not self.indices


def _vector(weights: dict[int, float]) -> SparseVec:
    items = sorted(weights.items())
    return SparseVec(tuple(i for i, _ in items), tuple(round(v, 6) for _, v in items))


class SparseEncoder:
    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_len: float = 40.0) -> None:
        self.k1, self.b, self.avg_len = k1, b, avg_len

    def encode_document(self, text: str, language: Language) -> SparseVec:
        terms = tokenize(text, language)
        counts = Counter(terms)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avg_len)
        weights: dict[int, float] = {}
        for term, tf in counts.items():
            i = term_id(term)
            weights[i] = weights.get(i, 0.0) + tf * (self.k1 + 1) / (tf + norm)
        return _vector(weights)

    def encode_query(self, message: str | Message, language: Language | None) -> SparseVec:
        """One weight per distinct term. Stems of both languages are used: detection can be wrong on short,
        mixed or slangy messages, and a term stemmed the other way simply finds nothing."""
        languages = [Language.NL, Language.EN] if language is None else [language, language.other]
        clean = Message.of(message).query  # the reading retrieval matches (kb.normalize.Message)
        weights: dict[int, float] = {}
        for lang in languages:
            for term in terms(clean, lang):
                weights[term_id(term)] = 1.0
        return _vector(weights)
