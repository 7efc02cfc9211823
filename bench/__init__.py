"""Benchmarks: `kb bench` times our encoder, retrieval, scale, indexing and `kb serve` against the plain
alternatives (not evaluation: nothing here scores answers). The top of the package graph: it may use kb, indexer,
eval and api; nothing imports it.

    run.py      the benchmark itself (`run_bench`, `BenchConfig`)
    cli.py      `kb bench` (the `kb.commands` entry point)
    service.py  a real `kb serve` under load
    edge.py     the optional qdrant-edge-py comparison
    data.py     synthetic knowledge bases of any size
    stats.py    medians and tails of repeated calls
"""
