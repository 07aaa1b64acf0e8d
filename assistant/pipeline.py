"""The one object the CLI, the web app and the benchmarks share: settings in, answers out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer import Answerer, AnswerEvent, final_answer, make_answerer, stream_answer
from assistant.archive.answers import KINDS as ARCHIVE_KINDS
from assistant.archive.answers import coverage_answer
from assistant.archive.search import (
    ArchiveDeps,
    ArchiveHit,
    ArchiveResult,
    find_mentions,
    is_name,
    search_archive,
)
from assistant.archive.timeline import Coverage, build_coverage, coverage, explore
from assistant.config import AnswerMode, Settings
from assistant.embedding.encoder import Embedder
from assistant.index.errors import IndexUnavailableError, chroma_failures, one_line
from assistant.index.reader import ReaderCache
from assistant.index.store import IndexStore
from assistant.ingest.issues import IngestReport, ProgressFn, RemovalPlan, ingest_paths

if TYPE_CHECKING:
    from assistant.answer.brief_writer import LLMItemWriter
    from assistant.briefing.brief import Briefing
    from assistant.ingest.rebuild import RebuildReport
    from assistant.ingest.refresh import RefreshHooks, RefreshReport
    from assistant.sources.feedlist import FeedList, FeedSpec
from assistant.errors import NewsdeskError
from assistant.records import Answer, Chunk, Citation, Filters
from assistant.retrieval.hybrid import HybridSearch, SearchResult
from assistant.routing import QuestionKind, Route, route

# "summarize issue #339", "the latest issue", "issue 339"
_ISSUE_ASKED = re.compile(r"\bissue\s+#?(\d+)\b|#(\d+)\b|\b(?:latest|last|newest|most recent)\s+(?:[\w ]+\s+)?issue\b",
                          re.IGNORECASE)


class QuestionError(NewsdeskError, ValueError):
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
    def __init__(self, settings: Settings, *, quick_start: bool = False) -> None:
        """`quick_start`: for a short-lived process that reads (the CLI's ask, search, coverage, chat: a cold
        start in seconds, docs/performance.md). It embeds with the model's ONNX export when one is cached
        (`newsdesk export-onnx`) even with the torch backend, the same vectors without importing torch
        (assistant/embedding/encoder.py), and searches with `HybridSearch` instead of LlamaIndex's wrapper of
        it: the same search, without importing LlamaIndex. The app and every write keep the defaults
        (LlamaIndex's retriever, the configured backend)."""
        self.settings = settings
        self.quick_start = quick_start
        self.store = IndexStore(settings)
        self.readers = ReaderCache(self.store)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder.from_settings(self.settings, onnx_if_exported=self.quick_start)

    @cached_property
    def retriever(self) -> HybridSearch:
        """LlamaIndex's retriever (`HybridRetriever`, retrieval/retriever.py); with `quick_start` the same search
        as a `HybridSearch`."""
        if self.quick_start:
            return HybridSearch.from_settings(self.settings, readers=self.readers, embedder=self.embedder)
        from assistant.retrieval.retriever import HybridRetriever

        return HybridRetriever.from_settings(self.settings, readers=self.readers, embedder=self.embedder)

    @cached_property
    def answerer(self) -> Answerer:
        """Extractive by default; an LLM backend when settings.answer_mode says so (assistant/answer)."""
        return make_answerer(self.settings, self.embedder, lead_fetcher=self.story_leads, name_counts=self.name_counts)

    def name_counts(self, names: Iterable[str]) -> dict[str, int]:
        """How many chunks of the current index hold each name (the answer gate's test for invented names)."""
        return self.readers.get().lexical.chunk_counts(names)

    def story_leads(self, story_ids: list[str]) -> dict[str, Chunk]:
        """The first chunk of each story, so an answer can quote the lead of a story found by a later chunk."""
        with chroma_failures(lambda exc: IndexUnavailableError(f"cannot read story leads: {one_line(exc)}")):
            got = self.readers.get().collection.get(ids=[f"{s}:0" for s in dict.fromkeys(story_ids)],
                                                    include=["documents", "metadatas"])
        chunks = [Chunk.from_metadata(i, d or "", m or {}) for i, d, m in
                  zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False)]
        return {c.story_id: c for c in chunks}

    @property
    def archive_deps(self) -> ArchiveDeps:
        """What archive search and the coverage timeline use of the desk (assistant/archive/)."""
        return ArchiveDeps(readers=self.readers, retriever=self.retriever, embedder=self.embedder,
                           lexical_weight=self.settings.lexical_weight, check_query=self.check_question)

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

    def route(self, question: str, *, kind: QuestionKind | str | None = None) -> Route:
        """Which tool answers `question` (assistant/routing.py); `kind` forces one."""
        return route(self.check_question(question), kind=kind)

    def ask(self, question: str, *, filters: Filters | None = None, as_of: date | None = None,
            kind: QuestionKind | str | None = None) -> Answer:
        return final_answer(self.ask_stream(question, filters=filters, as_of=as_of, kind=kind))

    def ask_stream(self, question: str, *, filters: Filters | None = None, as_of: date | None = None,
                   kind: QuestionKind | str | None = None) -> Iterator[AnswerEvent]:
        """The answer as a stream of AnswerEvents (assistant/answer/events.py): verified text deltas, then the
        Answer. The CLI, `newsdesk chat` and the web app all read this. Editors' questions about the archive
        ("when did we first cover X?") go to the coverage engine, the rest to the fact answer."""
        routed = self.route(question, kind=kind)
        if routed.kind is QuestionKind.BRIEFING:
            yield from stream_answer(self.briefing_answer(question, filters=filters, as_of=as_of))
            return
        if routed.kind.value in ARCHIVE_KINDS:
            yield from stream_answer(self.archive_answer(question, routed, filters=filters, as_of=as_of))
            return
        for event in self._fact_stream(question, filters=filters, as_of=as_of):
            if event.kind == "answer" and event.answer is not None:
                event.answer.kind = routed.kind.value
            yield event

    def archive_answer(self, question: str, routed: Route, *, filters: Filters | None = None,
                       as_of: date | None = None) -> Answer:
        """First coverage, every issue, how often, the timeline: from every story that mentions the term, within
        the filters and the question's own window ("which issues in May 2024 mentioned X?")."""
        plan = self.retriever.plan(question, filters=filters, as_of=as_of)
        hits: dict[str, ArchiveHit] = {}
        # "React Forget / the React Compiler": either name counts.
        for alternative in [t for t in re.split(r"\s+/\s+|\s+or\s+", routed.term) if t.strip()] or [routed.term]:
            for hit in find_mentions(self.archive_deps, alternative, filters=plan.filters,
                                     near=is_name(alternative))[1]:
                hits.setdefault(hit.story_id, hit)
        described = plan.filters.describe() if plan.filters else ""
        cov = build_coverage(routed.term, [], list(hits.values()), filters=described)
        answer = coverage_answer(kind=routed.kind.value, term=routed.term, cov=cov, hits=list(hits.values()))
        answer.window = plan.frame.describe() if plan.frame and plan.frame.window else None
        return answer

    def briefing_answer(self, question: str, *, filters: Filters | None = None,
                        as_of: date | None = None) -> Answer:
        """A briefing asked in the chat ("what's new since the last issue?", "summarize issue #339", "what happened
        this week?") as an Answer: one cited line per story cluster, most salient first. Extractive in every answer
        mode: a chat turn is one answer, not one LLM call per story cluster."""
        from assistant.briefing.brief import BriefingError

        sources = list(filters.sources) if filters else []
        if not sources:
            # "Summarize the latest Last Week in AI issue": a newsletter the question names is its filter.
            known = self.retriever.archive(self.readers.get()).sources
            low = question.lower()
            sources = [name for key, name in known.items() if len(key) > 3 and key in low]
        # "since the last issue" is a window (what came after it); "summarize the last issue" is that issue.
        issue = None if re.search(r"\bsince\b", question, re.IGNORECASE) else _ISSUE_ASKED.search(question)
        try:
            if issue:
                briefing = self.brief(issue=issue.group(1) or issue.group(2) or "latest", sources=sources,
                                      as_of=as_of, max_items=8, mode=AnswerMode.EXTRACTIVE)
            else:
                plan = self.retriever.plan(question, filters=filters, as_of=as_of)
                window = plan.frame.window if plan.frame else None
                since: str | date | None = window.since if window and window.since else "last-issue"
                until = window.until if window else None
                if filters and filters.since:
                    since = filters.since
                briefing = self.brief(since=since, until=until or (filters.until if filters else None),
                                      sources=sources, as_of=as_of, max_items=8, mode=AnswerMode.EXTRACTIVE)
        except BriefingError as exc:
            return Answer(answer=f"No briefing: {exc}", refused=True, kind="briefing")
        if not briefing.items:
            return Answer(answer=f"Nothing new {('in ' + briefing.window) if briefing.window else 'here'}.",
                          refused=True, kind="briefing")
        citations: list[Citation] = []
        lines = [f"{briefing.title}:"]
        for item in briefing.items:
            src = next((s for s in item.sources if s.n == item.cite), item.sources[0])
            citations.append(Citation(n=len(citations) + 1, issue=src.issue, date=src.date, headline=src.headline,
                                      url=src.url, snippet=" ".join(item.sentences), score=1.0,
                                      source_name=src.source, chunk_id=f"{src.story_id}:0", links=src.links,
                                      issue_id=src.issue_id))
            text = " ".join(item.sentences)
            body = f": {text}" if text and text.strip(" .") != item.headline.strip(" .") else ""
            developing = f" (developing: {item.first_covered.describe()})" if item.first_covered else ""
            lines.append(f"- **{item.headline}**{body} [{len(citations)}]{developing}")
        return Answer(answer="\n".join(lines), refused=False, citations=citations, window=briefing.window or None,
                      kind="briefing")

    def _fact_stream(self, question: str, *, filters: Filters | None = None,
                     as_of: date | None = None) -> Iterator[AnswerEvent]:
        result = self.search(question, filters=filters, as_of=as_of)
        for event in self.answerer.stream(result.query, result.hits, result.query_vector):
            if event.kind == "answer" and event.answer is not None:
                event.answer.window = result.window
                if event.answer.refused and not event.answer.suggestions and filters and not filters.empty:
                    # Nothing within the filters: the closest stories outside them are still worth naming.
                    event.answer.suggestions = [
                        f"{h.chunk.headline} ({h.chunk.issue_title}{', ' + h.chunk.date if h.chunk.date else ''})"
                        for h in self.search(question, as_of=as_of).hits[:3] if h.chunk.headline]
            yield event

    def archive(self, query: str, *, filters: Filters | None = None, sort: str = "relevance",
                limit: int = 50) -> ArchiveResult:
        """Earlier coverage: stories that mention the query, by relevance or date (assistant/archive/search.py)."""
        return search_archive(self.archive_deps, query, filters=filters, sort=sort, limit=limit)

    def coverage(self, query: str, *, filters: Filters | None = None) -> Coverage:
        """Coverage timeline: mentions per week, first and last mention, the issues that covered it."""
        return coverage(self.archive_deps, query, filters=filters)

    def explore(self, query: str, *, filters: Filters | None = None, sort: str = "relevance",
                limit: int = 50) -> tuple[ArchiveResult, Coverage]:
        """The Archive tab: the archive results and the coverage timeline of one query, from one matching pass."""
        return explore(self.archive_deps, query, filters=filters, sort=sort, limit=limit)

    def brief(self, *, since: str | date | None = "last-issue", until: date | None = None, issue: str | None = None,
              sources: list[str] | None = None, sections: list[str] | None = None, as_of: date | None = None,
              max_items: int = 10, mode: AnswerMode | str | None = None) -> Briefing:
        """Story clusters of a window ranked by salience, or one issue's summary (assistant/briefing/). `mode`
        (default: settings.answer_mode): with an LLM, the first settings.brief_llm_items items' sentences are
        written by it and verified (assistant/answer/brief_writer.py); extractive otherwise and on any failure."""
        from assistant.briefing.request import brief

        return brief(self.readers.get(), since=since, until=until, issue=issue, sources=sources,
                     sections=sections, as_of=as_of, max_items=max_items, writer=self.brief_writer(mode))

    def brief_writer(self, mode: AnswerMode | str | None = None) -> LLMItemWriter | None:
        """The LLM that writes briefing sentences, or None for extractive briefings (the default)."""
        chosen = AnswerMode(mode or self.settings.answer_mode)
        if chosen is AnswerMode.EXTRACTIVE or self.settings.brief_llm_items < 1:
            return None
        from assistant.answer.brief_writer import LLMItemWriter

        return LLMItemWriter.from_settings(self.settings.model_copy(update={"answer_mode": chosen}),
                                           embedder=self.embedder)

    def ingest(self, paths: list[Path], *, issue_date: date | None = None, source_name: str | None = None,
               wait_seconds: float = 0.0, progress: ProgressFn | None = None) -> IngestReport:
        report = ingest_paths(self.settings, self.embedder, paths, issue_date=issue_date,
                              source_name=source_name, wait_seconds=wait_seconds, progress=progress,
                              store=self.store)
        self.readers.invalidate()
        return report

    def rebuild(self, *, wait_seconds: float = 0.0, progress: ProgressFn | None = None,
                reembed: bool = False) -> RebuildReport:
        """A fresh version from the recorded sources, validated and switched to atomically (index/rebuild.py)."""
        from assistant.ingest.rebuild import rebuild_index

        report = rebuild_index(self.settings, self.embedder, wait_seconds=wait_seconds, progress=progress,
                               reembed=reembed, store=self.store)
        self.readers.invalidate()
        return report

    def remove(self, target: str, *, wait_seconds: float = 0.0, all_matching: bool = False) -> int:
        """Remove an issue (issue id), a story (story id) or a feed entry (its link); returns chunks removed.
        A link that stories of several issues share is refused unless `all_matching` (ingest/issues.py)."""
        from assistant.ingest.issues import remove_target

        removed = remove_target(self.settings, self.embedder, target, wait_seconds=wait_seconds,
                                all_matching=all_matching, store=self.store)
        self.readers.invalidate()
        return removed

    def plan_removal(self, target: str) -> RemovalPlan:
        """What `remove(target)` would delete, read from the current version without the writer lock."""
        from assistant.ingest.issues import plan_removal

        return plan_removal(self.settings, target, store=self.store)

    # ------------------------------------------------------------ feeds (the CLI's `feeds`/`refresh`, the Admin tab)
    def refresh(self, *, force: bool = False, wait_seconds: float = 0.0,
                hooks: RefreshHooks | None = None) -> RefreshReport:
        """Read every feed of the feed list and index new and changed entries (ingest/refresh.py), through this
        desk's store; the next question reads the new version. Raises FeedListError for a missing or empty list.

            report = desk.refresh(hooks=RefreshHooks(embedding=lambda done, total: ...))
            print(report.total("new"), report.version)
        """
        from assistant.ingest.refresh import refresh_feeds

        try:
            return refresh_feeds(self.settings, self.embedder, force=force, wait_seconds=wait_seconds,
                                 hooks=hooks, store=self.store)
        finally:
            self.readers.invalidate()

    def feeds(self) -> FeedList:
        """The feed list (settings.feeds_file, OPML); empty when the file does not exist yet."""
        from assistant.sources.feedlist import FeedList

        return FeedList.load(self.settings.feeds_file)

    def add_feed(self, spec: FeedSpec, *, feed_list: FeedList | None = None) -> bool:
        """Add a feed to the list and save it; False (nothing written) when it is listed already. Checking the
        feed first is the caller's part. Pass `feed_list` when `spec` was made from it (`local_form`).

            flist = desk.feeds()
            added = desk.add_feed(FeedSpec(url=flist.local_form("feeds/harbour.xml")), feed_list=flist)
        """
        flist = feed_list or self.feeds()
        if not flist.add(spec):
            return False
        flist.save()
        return True

    def remove_feed(self, target: str, *, feed_list: FeedList | None = None) -> list[FeedSpec]:
        """Remove the feeds `target` names (a URL, path, feed id or title) from the list and save it; returns
        them, [] when none matched (nothing written). Their stories stay in the index: see `purge_feeds`."""
        flist = feed_list or self.feeds()
        gone = flist.remove(target)
        if gone:
            flist.save()
        return gone

    def purge_feeds(self, feed_ids: list[str], *, wait_seconds: float = 0.0) -> int:
        """Remove feeds' entries from the index and forget them; returns the number of chunks removed."""
        from assistant.ingest.refresh import purge_feeds

        try:
            return purge_feeds(self.settings, feed_ids, wait_seconds=wait_seconds, store=self.store,
                               embedder=self.embedder)
        finally:
            self.readers.invalidate()

    def stats(self) -> Stats:
        version = self.store.current()
        manifest = self.store.manifest(version) if version else None
        # The last write run's own count (0 after a write that changed nothing); the manifest's when none is noted.
        last_run = self.store.last_run(version) if version else None
        embedded = manifest.embedded_last_run if manifest else 0
        if last_run is not None and isinstance(last_run.get("embedded"), int):
            embedded = last_run["embedded"]
        return Stats(
            version=version,
            issues=manifest.issues if manifest else 0,
            stories=manifest.stories if manifest else 0,
            chunks=manifest.chunks if manifest else 0,
            embedded_last_run=embedded,
            embed_model=manifest.embed_model if manifest else self.embedder.label,
            index_dir=str(self.settings.index_dir),
            versions=self.store.published_versions(),
            last_refresh=manifest.last_refresh if manifest else None,
        )
