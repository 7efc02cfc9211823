"""`kb index` and `kb status`: registered on the `kb` command through the `kb.commands` entry points.

    $ kb index                       # incremental; the first run builds everything
    $ kb index --full                # new collection, atomic alias swap
    $ kb index --rev v1.2            # articles/ as of a git revision, work tree untouched
    $ kb status
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from indexer.build import Indexer, IndexReport
from indexer.git import GitRepo, Revision
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from
from kb.config import Settings
from kb.corpus import iter_article_files
from kb.engine import Engine


def source_files(settings: Settings, path: Path, rev: str | None) -> tuple[Iterable[tuple[str, bytes]], Revision]:
    """The article files to index and the revision they represent (work tree, or a git revision)."""
    repo = GitRepo.find(path)
    if rev is not None:
        if repo is None:
            raise click.UsageError(f"--rev needs {path} to be inside a git repository")
        return list(repo.files_at(rev, path)), Revision(repo.resolve(rev), False)
    revision = repo.head(path) if repo else Revision(None, True)
    return iter_article_files(path), revision


def run_index(engine: Engine, path: Path, *, rev: str | None = None, full: bool = False,
              show_progress: bool = False) -> IndexReport:
    """Index `path` (or `path` at `rev`) into the engine's store; used by the CLI and the service."""
    files, revision = source_files(engine.settings, path, rev)
    embedder = engine.cached_embedder()
    try:
        if not show_progress:
            return Indexer(engine.settings, engine.store, embedder).run(files, revision, full=full)
        columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]} chunks/s"), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("chunks", total=None, rate="-")

            def progress(done: int, total: int) -> None:
                elapsed = bar.tasks[0].elapsed or 0.0
                bar.update(task, completed=done, total=total, rate=f"{done / elapsed:.0f}" if elapsed else "-")

            return Indexer(engine.settings, engine.store, embedder, progress=progress).run(files, revision, full=full)
    finally:
        embedder.cache.close()


def print_summary(report: IndexReport) -> None:
    for problem in report.problems:
        click.echo(str(problem), err=True)
    mode = f"full rebuild ({report.reason})" if report.full else "incremental"
    commit = (report.commit or "no commit")[:12] + (" + uncommitted changes" if report.dirty else "")
    click.echo(f"indexed {commit} into {report.collection}: {mode}", err=True)
    click.echo(f"  {report.articles} articles, {report.chunks} chunks: {report.embedded} embedded, "
               f"{report.reused} reused from cache, {report.deleted} deleted, {len(report.errors)} errors, "
               f"{report.seconds:.1f} s", err=True)


@click.command("index")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--rev", help="Index articles as of this git revision (the work tree is not touched).")
@click.option("--full", is_flag=True, help="Rebuild into a new collection and swap the alias atomically.")
@click.option("--strict", is_flag=True, help="Exit 1 when any article has an error (they are skipped either way).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def index(path: Path | None, rev: str | None, full: bool, strict: bool, as_json: bool) -> int:
    """Index the articles (default: KB_ARTICLES_DIR, `articles/`) for suggestions.

    Only changed chunks are embedded; bad articles are reported as `path:line: reason` and skipped.

        kb index
        kb index --full
        kb index --rev HEAD~3
    """
    settings = settings_from()
    root = path or settings.articles_dir
    if not root.exists():
        raise click.UsageError(f"{root}: no such folder")
    with Engine.open(settings) as engine:
        report = run_index(engine, root, rev=rev, full=full, show_progress=not as_json)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print_summary(report)
    return EXIT_ERRORS if strict and report.errors else EXIT_OK


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> int:
    """Show what is being served: commit, model, counts, and which articles changed since.

        kb status
    """
    settings = settings_from()
    from kb.served import ServedIndex
    from kb.store import QdrantStore

    store = QdrantStore(settings)
    try:
        info = ServedIndex(store, settings).info()
    finally:
        store.close()
    repo = GitRepo.find(settings.articles_dir)
    changed = repo.changed_since(info.commit, settings.articles_dir) if repo and info.commit else []
    out = {"collection": info.collection, "commit": info.commit, "dirty": info.dirty, "model": info.model_id,
           "articles": info.articles, "chunks": info.chunks, "indexed_at": info.indexed_at,
           "changed_since": changed}
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return EXIT_OK
    click.echo(f"serving   {info.collection}")
    click.echo(f"commit    {info.commit or '-'}{' (with uncommitted changes)' if info.dirty else ''}")
    click.echo(f"model     {info.model_id}")
    click.echo(f"indexed   {info.indexed_at}: {info.articles} articles, {info.chunks} chunks")
    click.echo(f"changed   {len(changed)} article file(s) since the indexed commit" + (":" if changed else ""))
    for name in changed:
        click.echo(f"  {name}")
    return EXIT_OK
