"""`kb learned`: the learned phrasings from the command line (registered through the `kb.commands` entry points).

    $ kb learned list --status approved
    $ kb learned export --dry-run        # the diff it would make
    $ kb learned export                  # write approved phrasings into the articles' front matter
"""

from __future__ import annotations

import click

from api.db import open_database
from api.learned.export import export_approved
from api.learned.store import PhrasingStore
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from
from kb.learning import GONE, Status

STATUSES = [str(s) for s in Status if s not in GONE]


@click.group("learned")
def learned() -> None:
    """Learned phrasings: messages agents confirmed for an article (see the editor page /editor/learned)."""


@learned.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only phrasings with this status.")
@click.option("--article", help="Only phrasings of this article id.")
def list_phrasings(status: str | None, article: str | None) -> int:
    """Every learned phrasing that still has a text: status, confirmations, distinct agents, rejections.

        kb learned list --status candidate
    """
    db = open_database(settings_from())
    try:
        rows = PhrasingStore(db, "", 0).since("").phrasings
    finally:
        db.close()
    shown = [p for p in rows if p.status not in GONE and (status is None or p.status == status)
             and (article is None or p.article_id == article)]
    for p in sorted(shown, key=lambda p: (p.article_id, p.status, -len(p.confirmers))):
        flags = "".join(f" [{f}]" for f in (p.held, "review" if p.review else None, "exported" if p.exported else None)
                        if f)
        click.echo(f"{p.article_id:40} {p.status:9} {p.confirmations:4}x {len(p.confirmers):2} agents "
                   f"{len(p.rejecters):2} against  {p.id[:8]}  {p.text[:70]!r}{flags}")
    click.echo(f"{len(shown)} phrasings", err=True)
    return EXIT_OK


@learned.command("export")
@click.option("--dry-run", is_flag=True, help="Print the diff; write nothing.")
def export(dry_run: bool) -> int:
    """Write the phrasings editors approved into their articles' `learned_phrasings` front matter (KB_ARTICLES_DIR),
    as an ordinary change to review and commit; after the next `kb index` the service marks them merged and reads
    them from the Markdown.

        kb learned export --dry-run
        kb learned export && git diff articles/ && kb lint
    """
    settings = settings_from()
    db = open_database(settings)
    try:
        result = export_approved(PhrasingStore(db, "", 0), settings.articles_dir, dry_run=dry_run)
    finally:
        db.close()
    if dry_run and result.diff:
        click.echo(result.diff, nl=False)
    for reason in result.skipped:
        click.echo(f"skipped: {reason}", err=True)
    verb = "would add" if dry_run else "added"
    click.echo(f"{verb} {result.phrasings} phrasings to {len(result.files)} articles"
               + ("" if dry_run or not result.files else "; review with `git diff`, run `kb lint`, commit, and "
                  "re-index: the service then reads them from the articles"), err=True)
    return EXIT_ERRORS if result.skipped else EXIT_OK
