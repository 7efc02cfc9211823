"""One subject per topic, whatever the language: `cancer` counts with `kanker`, `donations` with `donaties`.

Topics are the editors' own words in an article's front matter, Dutch in Dutch articles and English in English
ones, so a question about cancer in English and one in Dutch would rise (or not) as two subjects. Editors already
say which articles are one another's translation (`translations`); a translated pair is about the same subjects,
so its topics are the same subjects named in two languages. That is the only evidence used: no dictionary, no
stemming (a stem joins "kanker" with "kankerverwekkend" and never joins "kanker" with "cancer").

Pairs are aligned by counting, over every translated pair, which topic appears with which; a topic and its
counterpart are joined when each is the other's clear best (more pairs than any rival), and what one pair still
leaves as exactly one topic on each side is joined too. Each round removes what it joined, so `nutrition` finds
`voeding` once `cancer` has taken `kanker`. Where the evidence ties, topics stay apart: an honest "not joined" is
better than a wrong merge. A joined subject is named by its Dutch topic (Dutch first), shown with the other
names beside it.

    >>> pairs = [({"kanker", "complotten"}, {"cancer", "conspiracy"}),
    ...          ({"kanker", "voeding"}, {"cancer", "nutrition"}), ({"donaties"}, {"donations"})]
    >>> aliases = topic_aliases(pairs)
    >>> aliases["cancer"], aliases["nutrition"], aliases["donations"], aliases["conspiracy"]
    ('kanker', 'voeding', 'donaties', 'complotten')
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from kb.article import Article

Pair = tuple[set[str], set[str]]  # (Dutch topics, the other language's topics) of one translated pair


def translated_pairs(articles: Iterable[Article]) -> list[Pair]:
    """(Dutch topics, other topics) for every Dutch article and each translation of it that is also given."""
    by_id = {a.id: a for a in articles}
    pairs = []
    for article in by_id.values():
        if str(article.meta.language) != "nl":
            continue
        partners = {t for t in article.meta.translations if t in by_id}
        partners |= {a.id for a in by_id.values() if article.id in a.meta.translations}
        for other in sorted(partners):
            if str(by_id[other].meta.language) != "nl":
                pairs.append(({t.lower() for t in article.meta.topics},
                              {t.lower() for t in by_id[other].meta.topics}))
    return pairs


def topic_aliases(pairs: Sequence[Pair]) -> dict[str, str]:
    """Other-language topic -> the Dutch topic it names, from the translated pairs (see the module docstring)."""
    joined: dict[str, str] = {}
    taken: set[str] = set()
    for dutch, other in pairs:  # the same word in both (privacy, webcare, hpv) is one subject already
        for same in dutch & other:
            joined[same] = same
            taken.add(same)
    while True:
        found = _round(pairs, joined, taken)
        if not found:
            return {o: d for o, d in joined.items() if o != d}
        for name, counterpart in found.items():
            joined[name] = counterpart
            taken.add(counterpart)


def _round(pairs: Sequence[Pair], joined: dict[str, str], taken: set[str]) -> dict[str, str]:
    """The joins this round's evidence supports: mutual clear best, or the one topic left on each side of a pair."""
    together: dict[str, Counter[str]] = defaultdict(Counter)
    back: dict[str, Counter[str]] = defaultdict(Counter)
    left_over = []
    for dutch, other in pairs:
        d_open, o_open = dutch - taken, other - set(joined)
        for o in o_open:
            for d in d_open:
                together[o][d] += 1
                back[d][o] += 1
        if len(d_open) == 1 and len(o_open) == 1:
            left_over.append((next(iter(o_open)), next(iter(d_open))))
    found: dict[str, str] = {}
    for o, counts in together.items():
        best = _clear_best(counts)
        if best is not None and _clear_best(back[best]) == o:
            found[o] = best
    for o, last in left_over:
        if o not in found and last not in found.values():
            found[o] = last
    return found


def _clear_best(counts: Counter[str]) -> str | None:
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return ranked[0][0]


def subject_names(aliases: dict[str, str]) -> dict[str, str]:
    """Dutch topic -> how the page names the joined subject: `kanker / cancer`."""
    others: dict[str, list[str]] = defaultdict(list)
    for other, dutch in sorted(aliases.items()):
        others[dutch].append(other)
    return {dutch: " / ".join([dutch, *names]) for dutch, names in others.items()}
