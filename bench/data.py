"""Deterministic data for `kb bench`: a knowledge base of any size made from the sample articles.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     synthetic_kb(Path("articles"), Path(tmp) / "articles", 3)
    ...     [p.stem[-4:] for p in sorted((Path(tmp) / "articles").rglob("*-000?.md"), key=lambda p: p.stem[-4:])]
    ['0000', '0001', '0002']
"""

from __future__ import annotations

import shutil
from pathlib import Path


def synthetic_kb(source: Path, target: Path, articles: int) -> None:
    """`articles` valid articles made from the sample ones (ids and titles numbered), plus the templates."""
    shutil.copytree(source / "_templates", target / "_templates")
    files = [p for p in sorted(source.glob("*/*.md")) if "status: published" in p.read_text(encoding="utf-8")]
    for i in range(articles):
        src = files[i % len(files)]
        text = src.read_text(encoding="utf-8")
        old_id = text.split("\nid: ", 1)[1].split("\n", 1)[0]
        new_id = f"{old_id}-{i:04d}"
        text = text.replace(f"\nid: {old_id}\n", f"\nid: {new_id}\n", 1).replace("\ntitle: ", f"\ntitle: ({i}) ", 1)
        text = "\n".join(line for line in text.splitlines() if not line.startswith("related:")) + "\n"
        text = text.replace("## Antwoord\n\n", f"## Antwoord\n\nVersie {i}. ", 1).replace(
            "## Answer\n\n", f"## Answer\n\nVersion {i}. ", 1)
        out = target / src.parent.name / f"{new_id}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
