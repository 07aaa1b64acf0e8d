"""One Settings object, read once from the environment (prefix NEWSDESK_) and passed down."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class EmbedBackend(str, Enum):
    TORCH = "torch"
    ONNX = "onnx"


class AnswerMode(str, Enum):
    EXTRACTIVE = "extractive"
    OPENAI = "openai"
    OLLAMA = "ollama"


class Settings(BaseSettings):
    """Every knob of Newsdesk. Environment variables use the NEWSDESK_ prefix, e.g. NEWSDESK_INDEX_DIR."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    index_dir: Path = Field(default=REPO_ROOT / "indexes", description="Where index versions live.")
    corpus_dir: Path = Field(default=REPO_ROOT / "corpus", description="The bundled sample corpus.")
    feeds_file: Path = Field(default=REPO_ROOT / "corpus" / "feeds.opml", description="OPML feed list.")
    collection: str = Field(default="newsdesk", min_length=3, description="Chroma collection name.")
    chroma_url: str | None = Field(default=None, description="Use a Chroma server instead of the embedded store.")
    chroma_timeout: float = Field(default=60.0, gt=0, le=3600,
                                  description="Seconds to wait for each reply of the Chroma server.")

    embed_model: str | None = Field(
        default=None, description="sentence-transformers name or path; default: the bundled all-MiniLM-L6-v2."
    )
    embed_backend: EmbedBackend = Field(
        default=EmbedBackend.TORCH, description="torch (sentence-transformers) or onnx (onnxruntime, ~1.5x faster on CPU).")
    # The ONNX export of the model is cached here (default: <index_dir>/onnx-cache), never in the package.
    onnx_cache: Path | None = Field(default=None, description="Folder for the cached ONNX export of the model.")
    embed_device: str = "cpu"
    embed_batch_size: int = Field(default=32, ge=1, le=4096)

    top_k: int = Field(default=6, ge=1, le=100, description="Stories handed to the answer step.")
    # The answer gate's thresholds (refuse_*) are chosen by leave-one-newsletter-out over six newsletters and the
    # bundled corpus's question sets: `newsdesk eval answers --with-bundled --calibrate`; docs/answers.md has the
    # held-out scores, under the bundled corpus's standing guarantees (assistant/evaluation/calibrate.py).
    refuse_below: float = Field(default=0.2, ge=-1.0, le=1.0,
                                description="Best dense cosine below which the answer refuses.")
    max_question_chars: int = Field(default=2000, ge=10)
    keep_versions: int = Field(default=3, ge=1, le=100)

    answer_mode: AnswerMode = Field(default=AnswerMode.EXTRACTIVE,
                                    description="extractive (no LLM), openai (any OpenAI-compatible server), ollama.")
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.")
    llm_model: str | None = Field(default=None, description="Model name sent to the LLM server.")
    llm_api_key: str | None = Field(default=None, description="API key for the OpenAI-compatible server, if it needs one.")
    # Answers (issue 5): LLM backends, verification, refusal. See README "Answers".
    ollama_url: str = Field(default="http://127.0.0.1:11434", description="Ollama server (answer_mode=ollama).")
    llm_timeout: float = Field(default=120.0, gt=0, le=3600, description="Seconds to wait for the LLM server.")
    llm_max_tokens: int = Field(default=400, ge=16, le=8192, description="Longest answer the LLM may write.")
    llm_temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    llm_context_window: int = Field(default=4096, ge=512, description="Context window of the LLM, in tokens.")
    llm_sources: int = Field(default=5, ge=1, le=20, description="Retrieved stories numbered in the LLM prompt.")
    llm_source_words: int = Field(default=220, ge=20, le=2000, description="Words of each story in the prompt.")
    # Briefings with an LLM (assistant/answer/brief_writer.py, docs/briefings.md): opt-in through answer_mode.
    brief_llm_items: int = Field(default=10, ge=0, le=100,
                                 description="Briefing items (the first N) whose sentences the LLM writes when "
                                             "answer_mode names an LLM; the rest stay extractive. 0: none.")
    brief_llm_timeout: float = Field(default=60.0, gt=0, le=600,
                                     description="Seconds one briefing item's LLM call may take; past it the "
                                                 "briefing falls back to extractive sentences.")
    verify_policy: str = Field(default="drop", pattern="^(drop|flag)$",
                               description="Unsupported answer sentences: drop them or flag them (unverified).")
    # Calibrated on tests/data/verify_pairs.jsonl: supported paraphrases score >= 0.65, unsupported claims that
    # keep every name and number of the source <= 0.46.
    verify_min_similarity: float = Field(default=0.55, ge=-1.0, le=1.0,
                                         description="Cosine a sentence needs against its cited passage.")
    # The refuse_* thresholds are chosen by leave-one-newsletter-out over seven question groups (docs/answers.md,
    # third pass 2026-11-28): all seven together chose coverage 0.3, sentence 0.5, name share 1.0 with names the
    # archive holds excused (six of seven folds chose exactly this; a tie goes to the plateau's centre).
    refuse_min_coverage: float = Field(default=0.3, ge=0.0, le=1.0,
                                       description="Share of the question's words the closest stories must hold.")
    refuse_min_sentence: float = Field(default=0.5, ge=-1.0, le=1.0,
                                       description="Cosine the best sentence of the closest stories needs against "
                                                   "the question, or the answer refuses.")
    refuse_min_name_share: float = Field(default=1.0, ge=0.0, le=1.0,
                                         description="Share of the question's plain capitalised names a close "
                                                     "story must hold (identifiers and versions must all match).")
    refuse_excuse_known: bool = Field(default=True,
                                      description="Count a plain name as found when other stories of the archive "
                                                  "hold it (only invented names then refuse).")
    refuse_require_type: bool = Field(default=True,
                                      description="Refuse a how-much/how-many/when question when no close sentence "
                                                  "holds a number/date.")
    reranker: str | None = Field(default=None, description="Optional CrossEncoder name or path.")
    # Retrieval (issue 4). Weights tuned on the dev half of RealTime QA under an archive guard; see README
    # "Retrieval" and benchmarks/retrieval_tuning.py.
    rerank_top_n: int = Field(default=20, ge=1, le=200, description="Fused candidates the reranker rescores.")
    lexical_weight: float = Field(default=0.2, ge=0.0, le=1.0, description="BM25 share of the fused score.")
    recency_weight: float = Field(default=0.15, ge=0.0, le=1.0,
                                  description="Bonus for a story dated on the as-of date (no time phrase).")
    recency_half_life_days: float = Field(default=14.0, gt=0, le=3650, description="Days for the bonus to halve.")
    recent_pass: bool = Field(default=True, description="A second vector query over the recent weeks for candidates.")
    named_version_first: bool = Field(
        default=True,
        description="Chunks that name the release a question names (\"Kubernetes 1.24\") rank before the rest.")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    admin_password: str | None = None
    feedback_file: Path = Field(default=REPO_ROOT / "indexes" / "feedback.jsonl")
    # 5 MiB: the upload widget prints sizes in binary units (1 MB = 1,048,576 bytes), and so do we (ui/guard.py).
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1, description="Largest uploaded file, in bytes.")
    max_upload_files: int = Field(default=20, ge=1, le=1000, description="Most files in one upload request.")
    upload_cache_seconds: int = Field(default=3600, ge=60, description="Gradio's upload cache keeps a file this "
                                      "long; a sweep every few minutes deletes older ones.")
    # Admin sign-in (ui/signin.py): a wrong password costs nothing up to admin_lockout_after, then the client
    # (and, past admin_global_lockout_after, everyone) waits admin_lockout_seconds, doubling per wrong try.
    admin_session_idle_seconds: float = Field(default=8 * 3600, gt=0, description="An admin sign-in ends after "
                                              "this long without an admin action.")
    admin_lockout_after: int = Field(default=5, ge=1, le=1000, description="Wrong passwords from one client "
                                     "before it must wait.")
    admin_global_lockout_after: int = Field(default=20, ge=1, le=100_000, description="Wrong passwords from all "
                                            "clients together before everyone must wait.")
    admin_lockout_seconds: float = Field(default=1.0, gt=0, le=3600, description="First wait after a lockout; "
                                         "doubles with each further wrong password.")
    admin_lockout_max_seconds: float = Field(default=900.0, gt=0, le=86400, description="Longest wait; wrong "
                                             "tries are forgotten after this long without one.")

    # Source feeds (`newsdesk refresh`): polite HTTP. The state file (ETag, Last-Modified, entry fingerprints)
    # lives next to the index as <index_dir>/feeds-state.json.
    feed_user_agent: str = Field(
        default="Newsdesk/0.1 (feed reader; conditional GET; +https://github.com/newsdesk/newsdesk)",
        min_length=3, description="User-Agent sent with every feed and article request.")
    feed_timeout: float = Field(default=20.0, gt=0, le=600, description="Seconds per HTTP request (connect, read).")
    feed_max_bytes: int = Field(default=10_000_000, ge=1024, description="Largest feed or page body accepted.")
    feed_max_redirects: int = Field(default=5, ge=0, le=30, description="Redirect hops before giving up.")
    feed_retries: int = Field(default=2, ge=0, le=10, description="Retries after a 5xx, 429 or connection error.")
    feed_backoff: float = Field(default=1.0, ge=0, le=60, description="First retry delay in seconds; doubles.")
    feed_workers: int = Field(default=4, ge=1, le=64, description="Feeds fetched at the same time.")
    feed_entry_max_chars: int = Field(default=100_000, ge=100, description="Longest entry text kept.")
    feed_max_entries: int = Field(default=500, ge=1, le=1_000_000,
                                  description="Newest entries kept per feed; older ones are left out (with a note).")
    # feedparser cannot be stopped mid-parse; its own pass is bounded by feed_max_bytes (~1 MB/s on the 2-core
    # reference machine), this deadline bounds the per-entry pass after it (sources/feeds.py).
    feed_parse_seconds: float = Field(default=20.0, gt=0, le=3600,
                                      description="Seconds to parse one feed; entries past it are left out.")
    # Outbound fetch policy (sources/netpolicy.py): feeds, redirects and article pages reach public addresses
    # only. A string, not a list: pydantic-settings would read a list from the environment as JSON.
    fetch_allow: str = Field(
        default="", description="Comma-separated networks (CIDR) or host names (intranet.example, "
        "*.corp.example) that feeds and article pages may reach although private, loopback or link-local.")

    # Briefing e-mail (`newsdesk brief --email TO`, assistant/briefing/deliver.py); docs/briefings.md.
    smtp_host: str | None = Field(default=None, description="SMTP server that sends briefing e-mails "
                                  "(newsdesk brief --email); unset: e-mail is off.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port (587: submission with STARTTLS).")
    smtp_user: str | None = Field(default=None, description="SMTP login name; unset: no login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP login password (never printed).")
    smtp_from: str | None = Field(default=None, description="From address of briefing e-mails; unset: the "
                                  "SMTP user, or newsdesk@localhost.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS before "
                                "logging in (refused if the server does not offer it).")
    smtp_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds to wait for the SMTP server.")

    @field_validator("fetch_allow", mode="before")
    @classmethod
    def _allow_list(cls, value: object) -> object:
        # Settings(fetch_allow=["10.0.0.0/8", "intranet.example"]) too. The entries are checked where they are
        # used (sources/netpolicy.py: a bad one fails the refresh naming it); config imports no higher layer.
        return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value

    @field_validator("index_dir", "corpus_dir", "feeds_file", "feedback_file", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


def offline_environment() -> None:
    """Make every library we use stay off the network. Called once at start-up by the CLI and app."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Library progress bars and load chatter would drown the CLI's own output.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
    # torch's OpenMP threads busy-wait by default; when other processes share the cores, a waiting thread burns
    # the slice its partner needs. Measured on 2 busy cores: one query embedding p50 902 -> 31 ms, batch
    # encoding 4.0-5.5 -> 7.0-7.4 chunks/s (README "Performance"). Read when torch loads, so set it first.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import logging

    for name in ("llama_index.retrievers.bm25", "bm25s", "sentence_transformers", "chromadb.telemetry"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # An empty or foreign NLTK_DATA/TIKTOKEN_CACHE_DIR makes llama-index try a download; use its bundled copies.
    # Found, not imported: importing llama_index.core takes seconds that `newsdesk ask --url` must not spend.
    from importlib.util import find_spec

    try:
        spec = find_spec("llama_index.core")
    except ImportError:  # pragma: no cover - llama-index is a hard dependency
        spec = None
    if spec is not None and spec.origin:
        static = Path(spec.origin).parent / "_static"
        os.environ["NLTK_DATA"] = str(static / "nltk_cache")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(static / "tiktoken_cache")
