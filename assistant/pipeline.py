"""The one object the CLI, the web app and the benchmarks share: settings in, answers out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.index.ingest import IngestReport, ProgressFn, ingest_paths
from assistant.index.store import IndexStore, ReaderCache
from assistant.models import Answer, Filters
from assistant.retrieval.hybrid import HybridRetriever, SearchResult


class QuestionError(ValueError):
    """A question that cannot be asked as given (empty, too long)."""


@dataclass
class Stats:
    version: str | None
    issues: int
    stories: int
    chunks: int
    embedded_last_run: int
    embed_model: str
    index_dir: str
    versions: list[str]
    last_refresh: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Newsdesk:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = IndexStore(settings)
        self.readers = ReaderCache(self.store)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder.from_settings(self.settings)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(readers=self.readers, embedder=self.embedder, top_k=self.settings.top_k)

    @cached_property
    def answerer(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(embedder=self.embedder, refuse_below=self.settings.refuse_below)

    def check_question(self, question: str) -> str:
        question = " ".join((question or "").split())
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(f"the question is {len(question)} characters long; the limit is "
                                f"{self.settings.max_question_chars} (NEWSDESK_MAX_QUESTION_CHARS)")
        return question

    def search(self, query: str, *, filters: Filters | None = None, k: int | None = None,
               as_of: date | None = None) -> SearchResult:
        return self.retriever.search(self.check_question(query), filters=filters, k=k, as_of=as_of)

    def ask(self, question: str, *, filters: Filters | None = None, as_of: date | None = None) -> Answer:
        result = self.search(question, filters=filters, as_of=as_of)
        answer = self.answerer.run(result.query, result.hits, result.query_vector)
        answer.window = result.window
        return answer

    def ingest(self, paths: list[Path], *, issue_date: date | None = None, source_name: str | None = None,
               wait_seconds: float = 0.0, progress: ProgressFn | None = None) -> IngestReport:
        report = ingest_paths(self.settings, self.embedder, paths, issue_date=issue_date,
                              source_name=source_name, wait_seconds=wait_seconds, progress=progress)
        self.readers.invalidate()
        return report

    def stats(self) -> Stats:
        version = self.store.current()
        manifest = self.store.manifest(version) if version else None
        return Stats(
            version=version,
            issues=manifest.issues if manifest else 0,
            stories=manifest.stories if manifest else 0,
            chunks=manifest.chunks if manifest else 0,
            embedded_last_run=manifest.embedded_last_run if manifest else 0,
            embed_model=manifest.embed_model if manifest else self.embedder.label,
            index_dir=str(self.settings.index_dir),
            versions=self.store.published_versions(),
            last_refresh=manifest.last_refresh if manifest else None,
        )
