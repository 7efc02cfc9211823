"""What the `kb eval` commands share: a progress bar, the engine to evaluate, the --golden and --articles options."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from eval.golden import GoldenMessage
from kb.cli import settings_from
from kb.embedding import copy_cache
from kb.engine import Engine

T = TypeVar("T")


def with_progress(label: str, messages: list[GoldenMessage], run: Callable[..., T]) -> T:
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task(label, total=len(messages))
        return run(messages, progress=lambda done, _total: bar.update(task, completed=done))


def checked_golden_dir(folder: Path | None) -> Path | None:
    if folder is not None and not any(folder.glob("golden_*.jsonl")):
        raise click.BadParameter(f"{folder}: no golden_dev_*.jsonl or golden_test_*.jsonl in it", param_hint="--golden")
    return folder


GOLDEN_OPTION = click.option(
    "--golden", "golden_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Folder with your own golden_{dev,test}_*.jsonl (and paraphrases.jsonl); default: the bundled set.")
ARTICLES_OPTION = click.option(
    "--articles", "articles_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Another knowledge base's articles folder: indexed into its own local collection under "
         "KB_DATA_DIR/eval (incrementally, through the embedding cache) and evaluated there.")


@contextlib.contextmanager
def eval_engine(articles_dir: Path | None) -> Iterator[Engine]:
    """The served index, or (with `articles_dir`) a local index of that folder kept beside it for evaluations."""
    from indexer.run import run_index

    settings = settings_from()
    if articles_dir is not None:
        slug = re.sub(r"[^a-z0-9]+", "-", str(articles_dir.resolve()).lower()).strip("-")[-60:]
        data = settings.data_dir / "eval" / f"kb-{slug}"
        if not (data / "embeddings.sqlite").exists() and settings.cache_path.exists():
            copy_cache(settings.cache_path, data / "embeddings.sqlite")
        settings = settings.model_copy(update={"data_dir": data, "qdrant_url": None, "articles_dir": articles_dir})
    with Engine.open(settings) as engine:
        if articles_dir is not None:
            report = run_index(engine, articles_dir)
            if report.errors:
                raise click.ClickException(f"{articles_dir}: {len(report.errors)} articles could not be indexed, "
                                           f"e.g. {report.errors[0]} (run `kb lint {articles_dir}`)")
        engine.ready()
        yield engine
