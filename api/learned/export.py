"""`kb learned export`: the phrasings editors approved, written into their articles' `learned_phrasings` front
matter as an ordinary change to review in git. Once a re-index serves them from there, the database copies are
marked merged (api.learned.service) and the Markdown is the source of truth.

Why a field of its own and not `claims`: a claim is a chunk every message is scored against, and measured on the
blind messages, adding confirmed messages as claims lowered top-1 (0.86 -> 0.70: a few generic, story-like ones
became hubs). A learned phrasing counts only for near-repeats of it (kb.learned), so it needs its own field.

    >>> result = export_approved(store, Path("articles"))  # doctest: +SKIP
    >>> result.files, result.phrasings  # doctest: +SKIP
    (['articles/nl/suiker-voedt-kanker.md'], 3)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from api.learned.store import PhrasingStore
from kb.corpus import load_corpus
from kb.errors import KbError
from kb.files import read_inside
from kb.front_matter import add_learned_phrasings
from kb.learning import Phrasing


@dataclass
class ExportResult:
    files: list[str] = field(default_factory=list)  # files written (or that would be, with dry_run)
    phrasings: int = 0  # phrasings added to them
    exported: list[str] = field(default_factory=list)  # phrasing ids now in (or already in) front matter
    skipped: list[str] = field(default_factory=list)  # why an article's phrasings were not written
    diff: str = ""


def export_approved(store: PhrasingStore, articles_dir: Path, *, dry_run: bool = False) -> ExportResult:
    """Write every approved phrasing into its article's front matter (see the module docstring); with `dry_run`
    only the unified diff. The phrasings written (or found already there) are marked exported."""
    by_article: dict[str, list[Phrasing]] = {}
    for p in store.approved():
        by_article.setdefault(p.article_id, []).append(p)
    result = ExportResult()
    if not by_article:
        return result
    corpus = load_corpus(articles_dir)
    for article_id, phrasings in sorted(by_article.items()):
        article = corpus.articles.get(article_id)
        if article is None:
            result.skipped.append(f"{article_id}: not in {articles_dir} (or it does not parse); its phrasings wait")
            continue
        path = Path(article.path)
        raw = read_inside(path, articles_dir)
        if not isinstance(raw, bytes):
            result.skipped.append(f"{article.path}: {raw.message}")
            continue
        try:
            edited = add_learned_phrasings(raw, article.path, [p.text for p in phrasings])
        except KbError as e:
            result.skipped.append(e.message)
            continue
        result.exported += [p.id for p in phrasings]
        if edited == raw:
            continue
        diff = list(difflib.unified_diff(raw.decode("utf-8-sig").splitlines(keepends=True),
                                         edited.decode("utf-8-sig").splitlines(keepends=True),
                                         f"a/{article.path}", f"b/{article.path}"))
        result.files.append(article.path)
        result.phrasings += sum(line.startswith("+  - ") for line in diff)
        result.diff += "".join(diff)
        if not dry_run:
            path.write_bytes(edited)
    if not dry_run and result.exported:
        store.mark_exported(result.exported)
    return result
