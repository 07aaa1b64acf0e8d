"""One Settings object, read once from the environment (prefix NEWSDESK_) and passed down."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

from pydantic import Field, field_validator
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

    embed_model: str | None = Field(
        default=None, description="sentence-transformers name or path; default: the bundled all-MiniLM-L6-v2."
    )
    embed_backend: EmbedBackend = EmbedBackend.TORCH
    embed_device: str = "cpu"
    embed_batch_size: int = Field(default=32, ge=1, le=4096)

    top_k: int = Field(default=6, ge=1, le=100, description="Stories handed to the answer step.")
    # Calibrated on the bundled QA set (in-archive vs out-of-archive questions), see README.
    refuse_below: float = Field(default=0.30, ge=-1.0, le=1.0)
    max_question_chars: int = Field(default=2000, ge=10)
    keep_versions: int = Field(default=3, ge=1, le=100)

    answer_mode: AnswerMode = AnswerMode.EXTRACTIVE
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    reranker: str | None = Field(default=None, description="Optional CrossEncoder name or path.")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    admin_password: str | None = None
    feedback_file: Path = Field(default=REPO_ROOT / "indexes" / "feedback.jsonl")
    max_upload_bytes: int = Field(default=5_000_000, ge=1)

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
    import logging

    for name in ("llama_index.retrievers.bm25", "bm25s", "sentence_transformers", "chromadb.telemetry"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # An empty or foreign NLTK_DATA/TIKTOKEN_CACHE_DIR makes llama-index try a download; use its bundled copies.
    try:
        import llama_index.core as li_core

        static = Path(li_core.__file__).parent / "_static"
        os.environ["NLTK_DATA"] = str(static / "nltk_cache")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(static / "tiktoken_cache")
    except ImportError:  # pragma: no cover - llama-index is a hard dependency
        pass
