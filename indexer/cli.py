"""`kb index` and `kb status`: registered on the `kb` command through the `kb.commands` entry points.

    $ kb index                       # incremental; the first run builds everything
    $ kb index --full                # new collection, atomic alias swap
    $ kb index --rev v1.2            # articles/ as of a git revision, work tree untouched
    $ kb status
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from indexer.build import IndexReport
from indexer.git import GitRepo
from indexer.run import run_index
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from
from kb.config import Settings
from kb.engine import Engine
from kb.errors import InvalidInput, StoreUnavailable


def _index_with_a_bar(engine: Engine, path: Path, *, rev: str | None, full: bool) -> IndexReport:
    """`run_index` with a progress bar on stderr (chunks embedded and their rate)."""
    columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} chunks/s"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("chunks", total=None, rate="-")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=done, total=total, rate=f"{done / elapsed:.0f}" if elapsed else "-")

        return run_index(engine, path, rev=rev, full=full, progress=progress)


def print_summary(report: dict[str, Any]) -> None:
    """The end-of-run summary, from `IndexReport.as_dict()` (also what the service returns)."""
    for line in [*report["errors"], *report["warnings"]]:
        click.echo(line, err=True)
    mode = f"full rebuild ({report['reason']})" if report["full"] else "incremental"
    commit = (report["commit"] or "no commit")[:12] + (" + uncommitted changes" if report["dirty"] else "")
    click.echo(f"indexed {commit} into {report['collection']}: {mode}", err=True)
    click.echo(f"  {report['articles']} articles, {report['chunks']} chunks: {report['embedded']} embedded, "
               f"{report['reused']} reused from cache, {report['deleted']} deleted, {len(report['errors'])} errors, "
               f"{report['seconds']:.1f} s", err=True)


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
    try:
        with Engine.open(settings) as engine:
            if as_json:
                report = run_index(engine, root, rev=rev, full=full).as_dict()
            else:
                report = _index_with_a_bar(engine, root, rev=rev, full=full).as_dict()
    except InvalidInput as e:  # a flag that cannot work here (--rev outside git): a usage error, exit 2
        raise click.UsageError(e.message) from None
    except StoreUnavailable as e:
        # Local Qdrant is single-process: while `kb serve` owns it, the service re-indexes for us.
        if settings.qdrant_url or "another process" not in e.message or rev is not None or path is not None:
            raise
        report = ask_service(settings, full=full)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_summary(report)
    return EXIT_ERRORS if strict and report["errors"] else EXIT_OK


def ask_service(settings: Settings, *, full: bool) -> dict[str, Any]:
    """Ask the running service to re-index its articles folder (POST /v1/index with an editor key)."""
    url = f"http://{settings.host}:{settings.port}/v1/index"
    if settings.api_key is None:
        raise StoreUnavailable("the local index is owned by a running `kb serve`; set KB_API_KEY to an editor key "
                               f"so `kb index` can ask it to re-index ({url}), or stop the service")
    click.echo(f"the service owns the local index: asking {url} to re-index", err=True)
    try:
        response = httpx.post(url, json={"full": full}, timeout=600,
                              headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"})
    except httpx.HTTPError as e:
        raise StoreUnavailable(f"the local index is locked and the service at {url} did not answer: {e}") from e
    if response.status_code != 200:
        raise StoreUnavailable(f"the service at {url} refused to re-index: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> int:
    """Show what is being served: commit, model, counts, and which articles changed since.

        kb status
    """
    settings = settings_from()
    from kb.served import ServedIndex
    from kb.store import open_store

    store = open_store(settings)
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
