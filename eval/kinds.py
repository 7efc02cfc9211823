"""Message kinds, measured: per-kind precision and recall of the kind classifier (kb.kinds) on labelled messages,
dev and test apart, and per source (real Dutch tweets, the golden messages, the editor rounds' blind messages,
messages written for this set).

The labelled sets and how they were labelled: eval/data/kinds_guidelines.md. Dev is what the model is fitted and
tuned on (`kb eval kinds --train`); test is never used for either. The real tweets' texts are read from
`../shared/data/dutch-tweets` at run time (only ids and labels are in the repository); without the shared data
they are left out and the report says so.

    >>> messages = load_kind_messages()  # doctest: +SKIP
    >>> summary = summarise_kinds(classify_all(classifier, messages, vectors))  # doctest: +SKIP
    >>> summary["test"]["kinds"]["complaint"]["recall"]  # doctest: +SKIP
    0.8
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval import gate
from eval.golden import DATA, SHARED, SPLITS, load_golden
from eval.report import Section
from kb.kinds import Kind, KindClassifier, features
from kb.models import Embedder
from kb.normalize import Message

KIND_NAMES = tuple(k.value for k in Kind)


@dataclass(frozen=True)
class KindMessage:
    id: str
    text: str
    language: str
    channel: str
    kind: str
    split: str
    source: str  # "tweets", "golden", "rounds" or "written"
    stratum: str = ""  # the tweets' sample: random, topical, keyword-*


@dataclass(frozen=True)
class KindItem:
    """The outcome for one labelled message."""

    id: str
    text: str
    language: str
    split: str
    source: str
    stratum: str
    expected: str
    decided: str
    probability: float
    decided_by: str

    @property
    def right(self) -> bool:
        return self.expected == self.decided


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_kind_messages(*, split: str | None = None, data: Path = DATA,
                       tweets: Path = SHARED / "dutch-tweets" / "tweets.jsonl") -> list[KindMessage]:
    """Every labelled message of one split (or both): the written ones, the golden messages (their own split) and
    the real tweets when the shared data is there."""
    out: list[KindMessage] = []
    for file_split in SPLITS:
        for r in _rows(data / f"kinds_written_{file_split}.jsonl"):
            out.append(KindMessage(r["id"], r["text"], r["language"], r.get("channel", "facebook"), r["kind"],
                                   file_split, "written"))
    labels = {r["id"]: r["kind"] for r in _rows(data / "kinds_golden.jsonl")}
    for g in load_golden():
        if g.id in labels:
            out.append(KindMessage(g.id, g.text, g.language, g.channel, labels[g.id], g.split, "golden"))
    # The editor rounds' blind draws are retrieval dev messages, but no kind model was fitted or tuned on them:
    # for kinds they are test messages, 1,200 written by others in the charity's own domain (kinds_guidelines.md)
    round_files = sorted(data.glob("round*/golden_dev_*.jsonl"))
    if round_files and (data / "kinds_rounds.jsonl").is_file():
        rounds = {r["id"]: r["kind"] for r in _rows(data / "kinds_rounds.jsonl")}
        out += [KindMessage(g.id, g.text, g.language, g.channel, rounds[g.id], "test", "rounds")
                for g in load_golden(round_files) if g.id in rounds]
    if tweets.is_file():
        texts = {str(r["id"]): str(r["text"]) for r in _rows(tweets)}
        for r in _rows(data / "kinds_tweets.jsonl"):
            if r["id"] in texts:
                out.append(KindMessage(f"tweet-{r['id']}", texts[r["id"]], "nl", "x", r["kind"], r["split"], "tweets",
                                       r["stratum"]))
    unknown = {m.kind for m in out} - set(KIND_NAMES)
    if unknown:
        raise ValueError(f"kinds data: unknown kinds {sorted(unknown)}; use one of {', '.join(KIND_NAMES)}")
    return [m for m in out if split is None or m.split == split]


def embed_messages(embedder: Embedder, messages: Sequence[KindMessage], *, batch: int = 64,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Each message's query vector, as the service makes it (normalised text, `query` kind)."""
    texts = [Message.of(m.text).text for m in messages]
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed(texts[start:start + batch], kind="query"))
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def feature_matrix(messages: Sequence[KindMessage], vectors: np.ndarray) -> np.ndarray:
    return np.stack([features(v, Message.of(m.text).raw) for m, v in zip(messages, vectors, strict=True)])


def classify_all(classifier: KindClassifier, messages: Sequence[KindMessage], vectors: np.ndarray) -> list[KindItem]:
    items = []
    for m, v in zip(messages, vectors, strict=True):
        d = classifier.decide(Message.of(m.text).raw, v)
        items.append(KindItem(m.id, m.text, m.language, m.split, m.source, m.stratum, m.kind, str(d.kind),
                              d.probability, d.decided_by))
    return items


def kind_figures(items: Sequence[KindItem]) -> dict[str, Any]:
    """Precision, recall and F1 per kind (with n, the messages labelled with it, and how many were decided as
    it), accuracy and macro-F1 over the kinds present, and the confusion counts."""
    per: dict[str, dict[str, Any]] = {}
    for kind in KIND_NAMES:
        n = sum(i.expected == kind for i in items)
        decided = sum(i.decided == kind for i in items)
        tp = sum(i.expected == kind and i.decided == kind for i in items)
        precision = tp / decided if decided else None
        recall = tp / n if n else None
        f1 = 2 * tp / (n + decided) if n + decided else None
        per[kind] = {"n": n, "decided": decided, "precision": precision, "recall": recall, "f1": f1}
    present = [f["f1"] for f in per.values() if f["n"]]
    confusion = Counter((i.expected, i.decided) for i in items)
    return {"n": len(items), "accuracy": sum(i.right for i in items) / len(items) if items else None,
            "macro_f1": sum(present) / len(present) if present else None, "kinds": per,
            "confusion": [{"expected": e, "decided": d, "n": n} for (e, d), n in sorted(confusion.items())]}


def _slices(part: Sequence[KindItem]) -> dict[str, list[KindItem]]:
    slices: dict[str, list[KindItem]] = {"all": list(part)}
    for source in ("tweets", "golden", "rounds", "written"):
        slices[source] = [i for i in part if i.source == source]
    slices["tweets random"] = [i for i in part if i.stratum == "random"]
    slices["tweets keyword"] = [i for i in part if i.stratum.startswith("keyword")]
    for language in ("nl", "en"):
        slices[f"language {language}"] = [i for i in part if i.language == language]
    return {name: items for name, items in slices.items() if items}


def summarise_kinds(items: Sequence[KindItem]) -> dict[str, Any]:
    """Figures per split and, within it, per source and language; every wrongly decided message."""
    out: dict[str, Any] = {}
    for split in SPLITS:
        part = [i for i in items if i.split == split]
        if part:
            out[split] = kind_figures(part)
            out[f"{split} slices"] = {name: kind_figures(s) for name, s in _slices(part).items() if name != "all"}
    out["decided_by"] = dict(Counter(i.decided_by.split(":")[0] for i in items))
    out["errors"] = [asdict(i) for i in items if not i.right]
    out["sources"] = dict(Counter(f"{i.split} {i.source}" for i in items))
    return out


def kinds_headline(summary: dict[str, Any]) -> dict[str, Any]:
    """What the QA page shows: test figures under the plain names (nothing was tuned on them), with each kind's
    precision, recall and n; dev's accuracy and macro-F1 with a prefix; and every figure eval/thresholds.toml
    [kinds] sets a minimum for, as a number, so the page can mark one below it."""
    out: dict[str, Any] = {}
    f = summary.get("test")
    if f:
        out |= {"messages": f["n"], "accuracy": f["accuracy"], "macro_f1": f["macro_f1"]}
        out |= {k: _pr(v) for k, v in f["kinds"].items() if v["n"]}
        gated = gate.load(None, "kinds")
        out |= {k: v for k, v in kinds_gate_figures(summary).items() if k in gated}
    d = summary.get("dev")
    if d:
        out |= {"dev messages": d["n"], "dev accuracy": d["accuracy"], "dev macro_f1": d["macro_f1"]}
    return out


def _pr(f: dict[str, Any]) -> str:
    p = "–" if f["precision"] is None else f"{f['precision']:.2f}"
    return f"P {p} · R {f['recall']:.2f} (n={f['n']})"


def kinds_gate_figures(summary: dict[str, Any]) -> dict[str, float]:
    """What eval/thresholds.toml [kinds] may set minimums for: the test split's figures."""
    f = summary.get("test") or summary["dev"]
    out = {"accuracy": f["accuracy"], "macro_f1": f["macro_f1"]}
    for kind, v in f["kinds"].items():
        if v["n"]:
            out[f"{kind}_recall"] = v["recall"]
            out[f"{kind}_precision"] = v["precision"] or 0.0
    return out


def kinds_sections(summary: dict[str, Any]) -> list[Section]:
    rows = []
    for split in SPLITS:
        if split not in summary:
            continue
        for name, f in {"all": summary[split], **summary[f"{split} slices"]}.items():
            for kind, v in f["kinds"].items():
                if v["n"] or v["decided"]:
                    rows.append({"split": split, "slice": name, "kind": kind, "n": v["n"], "decided": v["decided"],
                                 "precision": v["precision"], "recall": v["recall"], "F1": v["f1"]})
    confusion = [{"split": split, **c} for split in SPLITS if split in summary for c in summary[split]["confusion"]
                 if c["expected"] != c["decided"]]
    errors = [{"split": e["split"], "source": e["source"], "message": e["text"], "labelled": e["expected"],
               "decided": e["decided"], "probability": e["probability"], "by": e["decided_by"]}
              for e in summary["errors"]]
    return [Section("Precision and recall per kind", rows,
                    note="test: never used to fit or tune; dev: what the model was fitted on (figures from "
                         "5-fold cross-validation are in the model's fitted_on). 'tweets random' is real traffic; "
                         "'tweets keyword' over-samples rare kinds."),
            Section("Which kinds get mixed up", confusion),
            Section("Every wrongly decided message", errors)]


def items_from(messages: Sequence[KindMessage], decided: Sequence[int], probability: Sequence[float],
               decided_by: Sequence[str]) -> list[KindItem]:
    """KindItems from decisions made outside a classifier (the cross-validated dev figures)."""
    return [KindItem(m.id, m.text, m.language, m.split, m.source, m.stratum, m.kind, KIND_NAMES[d], round(float(p), 4),
                     by) for m, d, p, by in zip(messages, decided, probability, decided_by, strict=True)]
