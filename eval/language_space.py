"""Ways to close the Dutch-English gap of the encoder beyond the one shipped axis, measured in the workbench
(issue 24, point 2; docs/benchmarks.md, "Cross-lingual answers").

Every change is fitted on public text that no evaluation split contains: SICK-NL's Dutch sentences with their
English originals (`../shared/data/sick-nl`, about 1,900 distinct parallel sentences) and the axis's own `PAIRS`.
Each is a `LanguageSpace` the workbench applies to every vector (articles by their language, a message by the
language the service detects), instead of projecting out the shipped axis:

- `Subspace`: project out k directions in which translations differ (the mean difference first, then the
  principal directions of the differences around it), k = 1..8;
- `Mapped`: an orthogonal map (Procrustes) taking English vectors onto their Dutch translations, optionally
  followed by a subspace;
- `Shift`: each language moved by half the mean difference towards the other (no direction removed).

    >>> import numpy as np
    >>> Subspace(np.array([[1.0, 0.0]])).apply(np.array([[0.6, 0.8]]), ["nl"]).round(3).tolist()
    [[0.0, 1.0]]

Run: `python -m eval.language_space --out reports/language-space` (every text from the embedding cache after the
first run; the SICK sentences, about 7,600 short texts, are embedded once).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.golden import SHARED
from eval.workbench import Ask, LanguageSpace, Variant, VectorTable, Workbench
from kb.language_axis import PAIRS
from kb.normalize import normalize


def _unit_rows(v: np.ndarray) -> np.ndarray:
    return v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)


class Subspace:
    """Every vector without its components in the span of `basis` (orthonormal rows), normalised again."""

    def __init__(self, basis: np.ndarray) -> None:
        self.basis = np.asarray(basis, np.float64)

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        v = np.asarray(vectors, np.float64)
        return _unit_rows(v - (v @ self.basis.T) @ self.basis).astype(np.float32)


class Mapped:
    """English vectors turned by the orthogonal `rotation` (onto their Dutch translations), then `then`."""

    def __init__(self, rotation: np.ndarray, then: LanguageSpace | None = None) -> None:
        self.rotation, self.then = rotation, then

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        v = np.asarray(vectors, np.float64).copy()
        english = np.array([lang == "en" for lang in languages])
        if english.any():
            v[english] = v[english] @ self.rotation
        v = _unit_rows(v)
        return self.then.apply(v, languages, kinds) if self.then is not None else v.astype(np.float32)


class Shift:
    """Dutch vectors moved by -offset, English by +offset (half the mean difference each), normalised again."""

    def __init__(self, offset: np.ndarray) -> None:
        self.offset = np.asarray(offset, np.float64)

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        sign = np.array([-1.0 if lang == "nl" else 1.0 if lang == "en" else 0.0 for lang in languages])[:, None]
        return _unit_rows(np.asarray(vectors, np.float64) + sign * self.offset).astype(np.float32)


class ByKind:
    """One space for query vectors, another for passage vectors (e5 embeds the two with different prefixes, and
    a translation pair differs along other directions as queries than as passages)."""

    def __init__(self, query: LanguageSpace, passage: LanguageSpace) -> None:
        self.query, self.passage = query, passage

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        v = np.asarray(vectors, np.float32).copy()
        passage = np.array([k == "passage" for k in kinds] if len(kinds) else [False] * len(v))
        langs = np.array(list(languages))
        if (~passage).any():
            v[~passage] = self.query.apply(v[~passage], list(langs[~passage]))
        if passage.any():
            v[passage] = self.passage.apply(v[passage], list(langs[passage]))
        return v


class Chain:
    """`first`, then `second`."""

    def __init__(self, first: LanguageSpace, second: LanguageSpace) -> None:
        self.first, self.second = first, second

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        return self.second.apply(self.first.apply(vectors, languages, kinds), languages, kinds)


def parallel_sentences(shared: Path = SHARED) -> list[tuple[str, str]]:
    """(Dutch, English) sentences: SICK-NL's with their English originals, and the axis's PAIRS."""
    pairs: dict[str, str] = {}
    with (shared / "sick-nl" / "pairs.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            pairs.setdefault(row["a"], row["a_en"])
            pairs.setdefault(row["b"], row["b_en"])
    return sorted(pairs.items()) + list(PAIRS)


def differences(table: VectorTable, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dutch and English vectors of every pair, as query and as passage (stacked), and their differences."""
    table.fill([(kind, text) for kind in ("query", "passage") for pair in pairs for text in pair])  # type: ignore[misc]
    nl = np.stack([table.get(kind, d) for kind in ("query", "passage") for d, _ in pairs]).astype(np.float64)  # type: ignore[arg-type]
    en = np.stack([table.get(kind, e) for kind in ("query", "passage") for _, e in pairs]).astype(np.float64)  # type: ignore[arg-type]
    return nl, en, nl - en


def language_basis(diff: np.ndarray, k: int) -> np.ndarray:
    """k orthonormal directions: the unit mean difference, then the top principal directions of the differences
    once the mean direction is taken out (so the first is the shipped axis's kind of direction)."""
    mean = diff.mean(axis=0)
    first = mean / np.linalg.norm(mean)
    rest = diff - diff.mean(axis=0)
    rest = rest - np.outer(rest @ first, first)
    _, _, vt = np.linalg.svd(rest, full_matrices=False)
    return np.vstack([first, vt[: k - 1]]) if k > 1 else first[None, :]


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal W minimising |source @ W - target| (Schönemann)."""
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


def monolingual(shared: Path = SHARED, n: int = 1000, seed: int = 24) -> tuple[list[str], list[str]]:
    """`n` Dutch tweets (none of the labelled ones the golden set reads) and `n` English CheckThat claims (the
    targets, never the tweets asked), drawn with `seed`, normalised as the service reads them."""
    from eval.golden import DATA

    labelled = {json.loads(line)["id"] for line in (DATA / "tweets_nl_labels.jsonl").read_text().splitlines()}
    tweets = [r["text"] for r in map(json.loads, (shared / "dutch-tweets" / "tweets.jsonl").read_text().splitlines())
              if str(r["id"]) not in labelled]
    claims = [r["title"] for r in map(json.loads, (shared / "checkthat2020-en" / "targets.jsonl").read_text()
                                      .splitlines())]
    rng = random.Random(seed)
    return [normalize(t) for t in rng.sample(tweets, n)], [normalize(c) for c in rng.sample(claims, n)]


def mono_directions(table: VectorTable) -> tuple[np.ndarray, np.ndarray]:
    """From monolingual text: the unit mean difference (Dutch minus English) and the shrinkage-LDA direction."""
    dutch, english = monolingual()
    table.fill([("query", t) for t in dutch + english])
    nl = np.stack([table.get("query", t) for t in dutch]).astype(np.float64)
    en = np.stack([table.get("query", t) for t in english]).astype(np.float64)
    mean = nl.mean(axis=0) - en.mean(axis=0)
    within = np.cov(np.vstack([nl - nl.mean(axis=0), en - en.mean(axis=0)]).T)
    shrunk = 0.5 * within + 0.5 * np.trace(within) / len(within) * np.eye(len(within))
    lda = np.linalg.solve(shrunk, mean)
    return mean / np.linalg.norm(mean), lda / np.linalg.norm(lda)


def fit_spaces(table: VectorTable, ks: Sequence[int] = (1, 2, 3, 4, 6, 8)) -> dict[str, LanguageSpace]:
    pairs = parallel_sentences()
    nl, en, diff = differences(table, pairs)
    spaces: dict[str, LanguageSpace] = {f"subspace k={k}": Subspace(language_basis(diff, k)) for k in ks}
    half = len(diff) // 2  # the first half are the query vectors
    spaces["subspace k=1, queries only"] = Subspace(language_basis(diff[:half], 1))
    spaces["subspace k=1, SICK only (no PAIRS)"] = Subspace(language_basis(
        np.vstack([diff[: half - len(PAIRS)], diff[half: len(diff) - len(PAIRS)]]), 1))
    spaces["SICK k=1 per kind (query axis for queries, passage axis for passages)"] = ByKind(
        Subspace(language_basis(diff[:half], 1)), Subspace(language_basis(diff[half:], 1)))
    spaces["shift, then SICK k=1"] = Chain(Shift(diff.mean(axis=0) / 2), Subspace(language_basis(diff, 1)))
    _, _, own = differences(table, list(PAIRS))
    pairs_axis = language_basis(own, 1)
    spaces["PAIRS k=1, queries and passages"] = Subspace(pairs_axis)
    both = np.linalg.qr(np.vstack([pairs_axis, language_basis(diff, 1)]).T)[0].T
    spaces["PAIRS and SICK axes (k=2)"] = Subspace(both)
    mean, lda = mono_directions(table)
    spaces["monolingual mean difference k=1"] = Subspace(mean[None, :])
    spaces["monolingual LDA direction k=1"] = Subspace(lda[None, :])
    spaces["shift by half the mean difference"] = Shift(diff.mean(axis=0) / 2)
    rotation = procrustes(en, nl)
    spaces["Procrustes en->nl"] = Mapped(rotation)
    spaces["Procrustes en->nl + subspace k=1"] = Mapped(rotation, Subspace(language_basis(diff, 1)))
    return spaces


#: Cross-language bonuses tried on top of the leading subspaces (the sets with cross-lingual messages only).
BONUSES = (0.005, 0.01)

#: The variants also measured with the shipped re-ranker on top (fitted on the shipped axis's first stage).
RERANKED = ("shipped axis (k=1, 50 PAIRS)", "subspace k=1", "shift by half the mean difference", "subspace k=2")


def _per_message(bench: Workbench, v: Variant, asks: Sequence[Ask]) -> dict[str, tuple[float, float, float]]:
    """(hit@1, reciprocal rank @10, AP@5) of every answerable message, by id."""
    from eval.metrics import average_precision_at_k, reciprocal_rank

    out = {}
    for q in asks:
        if q.relevant:
            ranked = [m.article_id for m in bench.rank(v, q)]
            out[q.id] = (1.0 if ranked[:1] and ranked[0] in q.relevant else 0.0,
                         max(reciprocal_rank(ranked, r, k=10) for r in q.relevant),
                         average_precision_at_k(ranked, set(q.relevant), k=5))
    return out


def _summary(per: dict[str, tuple[float, float, float]], ids: Sequence[str]) -> dict[str, float]:
    rows = [per[i] for i in ids if i in per]
    n = max(len(rows), 1)
    return {"hit@1": round(sum(r[0] for r in rows) / n, 4), "mrr@10": round(sum(r[1] for r in rows) / n, 4),
            "map@5": round(sum(r[2] for r in rows) / n, 4), "n": len(rows)}


def _figures(per: dict[str, tuple[float, float, float]], asks: Sequence[Ask],
             base: dict[str, tuple[float, float, float]] | None) -> dict[str, Any]:
    groups = {"all": [q.id for q in asks]}
    if any(q.kind for q in asks):
        groups["cross"] = [q.id for q in asks if q.kind == "crosslingual"]
        groups["same"] = [q.id for q in asks if q.kind != "crosslingual"]
    out: dict[str, Any] = {g: _summary(per, ids) for g, ids in groups.items()}
    if base is not None:  # messages ranked better / worse than with the shipped axis (by reciprocal rank)
        out["better"] = sum(1 for i, r in per.items() if r[1] > base[i][1] + 1e-9)
        out["worse"] = sum(1 for i, r in per.items() if r[1] < base[i][1] - 1e-9)
    return out


def _bench(name: str, settings: Any, args: argparse.Namespace) -> Workbench:
    from eval.ablation import load_bench

    return load_bench(name, settings, articles=settings.articles_dir, sample=args.sample or None,
                      questions=args.questions or None)


def main(argv: Sequence[str] | None = None) -> None:
    from dataclasses import replace

    from kb.cli import settings_from
    from kb.rerank import load_reranker

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="blind,randmeer,policyqa,checkthat")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--refit-rerank", metavar="SPACE", help="Instead: fit a re-ranker in memory on the dev "
                        "messages over SPACE's first stage (as `kb eval rerank` does; policyqa-nl: --questions "
                        "of them) and measure SPACE with it beside the shipped pipeline. Writes nothing shipped.")
    args = parser.parse_args(argv)
    settings = settings_from()
    if args.refit_rerank:
        refit_and_measure(args, settings)
        return
    rows: list[dict[str, Any]] = []
    spaces: dict[str, LanguageSpace] | None = None
    first_stage = Variant("first stage")  # the service's first stage, as `kb eval rerank` reads it
    for name in args.sets.split(","):
        bench = _bench(name, settings, args)
        if spaces is None:
            spaces = fit_spaces(bench.table)
        bench.spaces = dict(spaces)
        served = bench.served_model_id
        reranker = load_reranker(served)
        variants = [replace(first_stage, name="no language change", axis=False),
                    replace(first_stage, name="shipped axis (k=1, 50 PAIRS)")]
        variants += [replace(first_stage, name=s, space=s) for s in spaces]
        variants += [replace(first_stage, name=f"subspace k={k} + cross-language bonus {b}", space=f"subspace k={k}",
                             retriever=first_stage.retriever | {"cross_language_bonus": b})
                     for k in (1, 2) for b in BONUSES if name in ("blind", "randmeer")]
        variants += [replace(v, name=f"{v.name} + shipped re-ranker", retriever=v.retriever | {"reranker": reranker})
                     for v in variants if v.name in RERANKED]
        rows += _measure(bench, name, variants, base=variants[1].name)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "language-space.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


def _measure(bench: Workbench, name: str, variants: Sequence[Variant], *, base: str) -> list[dict[str, Any]]:
    """One row per variant with dev and test figures, each compared message by message with the `base` variant's
    (which must come first or second, as both callers order them); printed as they come."""
    rows: list[dict[str, Any]] = []
    reference: dict[str, dict[str, tuple[float, float, float]]] = {}
    for v in variants:
        row: dict[str, Any] = {"set": name, "variant": v.name}
        for split in ("dev", "test"):
            asks = bench.corpus.split(split)
            per = _per_message(bench, v, asks)
            if v.name == base:
                reference[split] = per
            row[split] = _figures(per, asks, reference.get(split))
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def refit_and_measure(args: argparse.Namespace, settings: Any) -> None:
    """The pipeline a change of space would ship: its first stage with a re-ranker refitted on it (dev only)."""
    from dataclasses import replace

    from eval.rerank import collect, cross_validate, fit_reranker, fixes_and_breaks
    from kb.rerank import load_reranker

    first_stage = Variant("first stage")  # the service's first stage, as `kb eval rerank` reads it
    chosen = replace(first_stage, name=args.refit_rerank, space=args.refit_rerank)
    benches = {name: _bench(name, settings, args) for name in ("golden", "blind", "randmeer", "policyqa", "checkthat")}
    spaces = fit_spaces(benches["golden"].table)
    groups = []
    for name, bench in benches.items():
        bench.spaces = dict(spaces)
        if name in ("golden", "policyqa", "checkthat"):
            groups += collect(bench, chosen, bench.corpus.split("dev"))
    for corpus, f in fixes_and_breaks(cross_validate(groups)).items():
        print(f"five folds on dev, {corpus}: {json.dumps(f)}")
    refitted = fit_reranker(groups, f"{benches['golden'].raw.model_id}+{args.refit_rerank}")
    shipped = load_reranker(benches["golden"].served_model_id)
    rows = []
    for name, bench in benches.items():
        if name == "golden":
            continue
        variants = [replace(first_stage, name="shipped axis + shipped re-ranker (the pipeline now)",
                            retriever=first_stage.retriever | {"reranker": shipped}),
                    replace(chosen, name=f"{args.refit_rerank} + re-ranker refitted on it",
                            retriever=first_stage.retriever | {"reranker": refitted})]
        rows += _measure(bench, name, variants, base=variants[0].name)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "language-space-rerank.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


def _line(row: dict[str, Any]) -> str:
    parts = []
    for split in ("dev", "test"):
        f = row[split]
        text = f"{f['all']['hit@1']:.3f}/{f['all']['mrr@10']:.3f}/{f['all']['map@5']:.3f}"
        if "cross" in f:
            text += f" cross {f['cross']['hit@1']:.3f} ({f['cross']['n']}) same {f['same']['hit@1']:.3f}" \
                    f"/{f['same']['mrr@10']:.3f} ({f['same']['n']})"
        if "better" in f:
            text += f" +{f['better']}-{f['worse']}"
        parts.append(f"{split} {text}")
    return f"{row['set']:9} {row['variant'][:44]:44} " + "  ".join(parts)


if __name__ == "__main__":
    main()
