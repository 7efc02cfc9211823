"""The `kb` command. Core commands live here; `index`, `serve`, `eval`, … are contributed by the indexer, api and
eval packages through the `kb.commands` entry points in pyproject.toml, so `kb` never imports them and
`kb lint` starts without loading a model.

    $ kb lint articles/
    $ kb suggest "klopt het dat suiker kanker voedt??" --channel x --name Sam
"""

from __future__ import annotations

import dataclasses
import json
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from kb import process
from kb.article import Language
from kb.channels import Channel
from kb.config import Settings
from kb.corpus import load_corpus
from kb.drafting import template_problems
from kb.errors import ConfigError, InvalidInput, KbError
from kb.kind_templates import kind_template_problems
from kb.outside import outside_problems

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Commands(click.Group):
    """A group that also offers the commands other packages register, loaded only when used."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="kb.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self._plugins():
            command = self._plugins()[cmd_name].load()
        return command


@click.group(cls=_Commands)
@click.version_option(package_name="kennisbank", prog_name="kb")
def cli() -> None:
    """Kennisbank: a knowledge base and reply suggestions for webcare teams."""
    process.prepare()  # start-up: the process-wide defaults, before any command opens a model


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, with CLI options that were given taking precedence; an invalid setting is
    a ConfigError naming the variable (one line, no traceback)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        reasons = []
        for err in e.errors():
            field = ".".join(str(p) for p in err.get("loc", ()))
            where = f"KB_{field.upper()}: " if field else ""
            reasons.append(where + str(err.get("msg", "invalid")).removeprefix("Value error, "))
        raise ConfigError("invalid settings: " + "; ".join(reasons)) from None


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--templates", "templates_only", is_flag=True,
              help="Check only the reply templates in PATH/_templates (fast: no article is read).")
def lint(path: Path | None, templates_only: bool) -> int:
    """Check every article (and the reply templates and the outside list, `_outside.md`); print each problem as
    `path:line: message`.

    Exit 1 when any error is found, 0 with warnings only.

        kb lint                   # the configured articles folder (KB_ARTICLES_DIR)
        kb lint articles/nl/suiker-voedt-kanker.md
        kb lint --templates       # the pre-commit hook for a change under _templates/
    """
    settings = settings_from()
    root = path or settings.articles_dir
    if not root.exists():
        raise click.UsageError(f"{root}: no such file or folder")
    if templates_only:
        folder = root if root.name == "_templates" else root / "_templates"
        found = [*template_problems(folder), *kind_template_problems(folder)] if folder.is_dir() or \
            folder.is_symlink() else []
        for problem in sorted(found):
            click.echo(str(problem))
        errors = sum(p.is_error for p in found)
        click.echo(f"templates in {folder}: {errors} errors, {len(found) - errors} warnings", err=True)
        return EXIT_ERRORS if errors else EXIT_OK
    corpus = load_corpus(root)
    problems = list(corpus.problems)
    folder = root if root.is_dir() and not root.is_symlink() else settings.articles_dir
    templates = folder / "_templates"
    if templates.is_dir() or templates.is_symlink():
        problems.extend([*template_problems(templates), *kind_template_problems(templates)])
    problems.extend(outside_problems(folder))  # the outside list (kb.outside), where there is one
    for problem in sorted(problems):
        click.echo(str(problem))
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    click.echo(f"{corpus.files} files, {len(corpus.articles)} valid articles "
               f"({len(corpus.served())} published), {errors} errors, {warnings} warnings", err=True)
    return EXIT_ERRORS if errors else EXIT_OK


@cli.command()
@click.argument("message")
@click.option("--channel", default="facebook", show_default=True,
              help="x | facebook | instagram | whatsapp | email")
@click.option("--lang", "language", type=click.Choice([lang.value for lang in Language]),
              help="Language of the message (detected when not given).")
@click.option("--name", "customer_name", help="Customer's name for the greeting.")
@click.option("--signature", help="The agent's sign-off, exactly as it goes in the reply (e.g. ^SA).")
@click.option("--limit", type=click.IntRange(1, 10), help="At most this many suggestions (default 3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def suggest(message: str, channel: str, language: str | None, customer_name: str | None, signature: str | None,
            limit: int | None, as_json: bool) -> int:
    """Suggest replies to an incoming message from the indexed knowledge base.

        kb suggest "is baking soda echt een wondermiddel tegen kanker?" --channel x --name Sam
        kb suggest "how do I stop my monthly donation" --json
    """
    from kb.engine import Engine
    from kb.suggest import SuggestQuery

    if not message.strip():
        raise InvalidInput("message: is empty; give the incoming message in quotes")
    query = SuggestQuery(message=message, channel=Channel.parse(channel),
                         language=Language(language) if language else None, customer_name=customer_name,
                         agent_signature=signature, limit=limit)
    with Engine.open(settings_from()) as engine:
        engine.ready()
        result = engine.suggester.suggest(query)
    if as_json:
        # Sources are the articles' own (pydantic) records: written as {"title", "url"}.
        click.echo(json.dumps(dataclasses.asdict(result), ensure_ascii=False, indent=2,
                              default=lambda value: value.model_dump(mode="json")))
        return EXIT_OK
    k = result.kind
    if k is not None:
        flag = f"; {k.moderation.action} (moderation)" if k.moderation else ""
        click.echo(f"kind: {k.kind} ({k.probability:.2f}{flag})")
        if k.guideline:
            click.echo(f"guideline: {k.guideline}")
        if k.reply is not None:
            click.echo(f"0. reply for {k.kind}  ({k.reply_template})")
            click.echo("   " + k.reply.text.replace("\n", "\n   ") + "\n")
    if result.no_match and (k is None or str(k.kind) == "question"):
        click.echo("No matching article: this message needs a person (or a new article).")
        return EXIT_OK
    for i, s in enumerate(result.suggestions, 1):
        verdict = f", {s.verdict}" if s.verdict else ""
        warn = f"  [{', '.join(s.warnings)}]" if s.warnings else ""
        tier = f"{s.confidence}, capped: {s.tier_capped_by}" if s.tier_capped_by else str(s.confidence)
        click.echo(f"{i}. {s.title}  ({s.type}{verdict}; {tier}; score {s.score:.2f}; {s.article_id}){warn}")
        click.echo("   " + s.draft.replace("\n", "\n   "))
        for src in s.sources:
            click.echo(f"   source: {src.title} <{src.url}>")
        click.echo()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point: KbError becomes `error: …` and exit 1; usage errors exit 2; no tracebacks."""
    try:
        result = cli.main(args=argv, prog_name="kb", standalone_mode=False)
        return result if isinstance(result, int) else EXIT_OK
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return EXIT_USAGE if isinstance(e, click.UsageError) else e.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_ERRORS
    except KbError as e:
        click.echo(f"error: {e.message}", err=True)
        return EXIT_ERRORS


def run() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    run()
