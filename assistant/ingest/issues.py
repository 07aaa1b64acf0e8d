"""Incremental ingest: only new or changed chunks are embedded; vanished ones are removed."""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedding import Encoder
from assistant.errors import NewsdeskError
from assistant.index.sources import SourceReadResult, SourceRecord, file_record, register_source_reader
from assistant.index.store import IndexStore
from assistant.index.writer import FaultFn, IndexWriter
from assistant.ingest.chunking import chunk_stories
from assistant.records import Chunk, Issue
from assistant.sources.archive_file import parse_issues
from assistant.sources.issuefile import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from assistant.sources.newsletter import IssueError, parse_date

# Called with (done, total) while embedding, so the CLI and the UI can show progress.
ProgressFn = Callable[[int, int], None]
_DOC_NAMES = ("SOURCE.MD", "README.MD", "ATTRIBUTION.MD")


@dataclass
class IngestReport:
    files: int = 0
    issues: list[Issue] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    unchanged: int = 0
    removed: int = 0
    excluded: int = 0
    linked: int = 0  # feed entries already indexed that now count as sources of an ingested story
    rejected: list[tuple[str, str]] = field(default_factory=list)
    version: str | None = None

    @property
    def stories(self) -> int:
        return sum(len(i.stories) for i in self.issues)


def display_path(path: Path | str) -> str:
    """A path as one printable line: undecodable bytes as \\xNN, control characters escaped, so a hostile file
    name can neither break the terminal, the one-line-per-file report, nor the UTF-8 output stream."""
    out: list[str] = []
    for ch in str(path):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def _is_archive(path: Path) -> bool:
    """A README that is an archive of dated issues (ML Papers of the Week keeps every issue in its README)."""
    from assistant.sources.archive_file import find_sections

    try:
        if path.suffix.lower() not in (".md", ".markdown") or path.stat().st_size > MAX_FILE_BYTES:
            return False
        return bool(find_sections(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _skip_reason(path: Path) -> str | None:
    """Why a file found inside a folder is not an issue file, or None when it is one."""
    if path.name.startswith("."):
        return "hidden file"
    if path.name.upper() in _DOC_NAMES and not _is_archive(path):
        return "documentation file, not an issue"
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return (f"unsupported file type {path.suffix.lower() or '(none)'} (issues: "
                f"{' '.join(sorted(SUPPORTED_SUFFIXES))}; feeds go through `newsdesk feeds`)")
    return None


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand folders; every path that cannot be used gets one (path, reason) line."""
    files: list[Path] = []
    rejected: list[tuple[str, str]] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            rejected.append((display_path(path), "no such file or folder"))
            continue
        except OSError as exc:
            rejected.append((display_path(path), f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(mode):
            found, skipped = _walk(path)
            if not found and not skipped:
                rejected.append((display_path(path), "folder holds no supported issue files (.md .txt .html .eml)"))
            files.extend(found)
            rejected.extend(skipped)
        elif not stat.S_ISREG(mode):
            # A FIFO or a device would block or never end.
            rejected.append((display_path(path), "not a regular file"))
        else:
            files.append(path)
    return files, rejected


def _walk(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []

    def on_error(exc: OSError) -> None:
        skipped.append((display_path(exc.filename or folder), f"cannot read: {exc.strerror or exc}"))

    # followlinks=False: a symlink loop cannot make this run forever.
    for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                regular = stat.S_ISREG(path.stat().st_mode)
            except OSError as exc:
                skipped.append((display_path(path), f"cannot read: {exc.strerror or exc}"))
                continue
            reason = _skip_reason(path) if regular else "not a regular file"
            if reason:
                skipped.append((display_path(path), reason))
            else:
                found.append(path)
    return found, skipped


def parse_files(files: list[Path], *, issue_date: date | None = None, source_name: str | None = None
                ) -> tuple[list[Issue], list[tuple[str, str]]]:
    issues: list[Issue] = []
    rejected: list[tuple[str, str]] = []
    for path in files:
        try:
            parsed = parse_issues(path, issue_date=issue_date, source_name=source_name)
        except IssueError as exc:
            rejected.append((display_path(path), str(exc)))
        except OSError as exc:  # hostile content is an IssueError already (sources/isolation.py)
            rejected.append((display_path(path), f"cannot read: {exc.strerror or exc}"))
        else:
            issues.extend(_scrub(issue) for issue in parsed)  # an archive file holds several issues
    return issues, rejected


def _clean(text: str) -> str:
    # A file or folder name that is not UTF-8 reaches titles as lone surrogates, which Chroma and UTF-8
    # output refuse; they become U+FFFD. (Issue.path keeps the real name, for reading the file again.)
    return text.encode("utf-8", "replace").decode("utf-8") if isinstance(text, str) else text


def _scrub(issue: Issue) -> Issue:
    issue.title, issue.source_name = _clean(issue.title), _clean(issue.source_name)
    for story in issue.stories:
        for name in ("issue_title", "headline", "body", "section", "source_name", "author"):
            setattr(story, name, _clean(getattr(story, name)))
        story.url = _clean(story.url) if story.url else story.url
        story.links = [_clean(x) for x in story.links]
        story.tags = [_clean(x) for x in story.tags]
    return issue


class ChunkSync:
    """Plans and applies the change for a set of scopes (an issue, a feed entry): reuse embeddings whose
    content hash is unchanged (in this index, or in `reuse`), embed the rest in large batches, delete chunks
    that vanished. Stories removed earlier with `newsdesk remove` stay out."""

    def __init__(self, writer: IndexWriter, embedder: Encoder, *, progress: ProgressFn | None = None,
                 reuse: dict[str, np.ndarray] | None = None) -> None:
        self.writer = writer
        self.embedder = embedder
        self.progress = progress
        self.reuse = reuse or {}
        self.pending: list[Chunk] = []
        self.ready: list[tuple[Chunk, np.ndarray]] = []
        self.unchanged = 0
        self.excluded = 0

    def plan(self, scope: dict[str, Any], chunks: list[Chunk]) -> None:
        sources = self.writer.sources
        kept = [c for c in chunks if not sources.is_excluded(c.story_id, c.url)]
        self.excluded += len(chunks) - len(kept)
        ids_to_hash, hash_to_vec = self.writer.existing(scope)
        new_ids = {c.chunk_id for c in kept}
        stale = [cid for cid in ids_to_hash if cid not in new_ids]
        if stale:
            self.writer.delete(stale)
        for chunk in kept:
            if ids_to_hash.get(chunk.chunk_id) == chunk.content_hash:
                self.unchanged += 1
            elif chunk.content_hash in hash_to_vec:
                self.ready.append((chunk, hash_to_vec[chunk.content_hash]))
            elif chunk.content_hash in self.reuse:
                self.ready.append((chunk, self.reuse[chunk.content_hash]))
            else:
                self.pending.append(chunk)

    def apply(self, *, batch: int = 256) -> None:
        if self.ready:
            chunks, vecs = zip(*self.ready, strict=True)
            self.writer.upsert(list(chunks), np.vstack(vecs))
            self.writer.reused += len(self.ready)
            self.ready = []
        total = len(self.pending)
        if self.progress:
            self.progress(0, total)
        # Longest first across ALL pending chunks, so each encoder batch holds texts of similar length: sorted
        # only within each slice, 1,018 real chunks padded to 12% more tokens (benchmarks/bench_ingest.py).
        self.pending.sort(key=lambda c: len(c.text), reverse=True)
        for start in range(0, total, batch):
            part = self.pending[start:start + batch]
            vectors = self.embedder.encode([c.text for c in part])
            self.writer.upsert(part, vectors)
            self.writer.embedded += len(part)
            if self.progress:
                self.progress(min(start + batch, total), total)
        self.pending = []


def ingest_issues(settings: Settings, embedder: Encoder, issues: list[Issue], *, wait_seconds: float = 0.0,
                  progress: ProgressFn | None = None, fault: FaultFn | None = None,
                  fresh: bool = False, sources: list[SourceRecord] | None = None,
                  store: IndexStore | None = None) -> IngestReport:
    """Write `issues` into a new index version. `sources` records how to read each issue again (one per issue
    id) for `newsdesk rebuild`; issues without a record keep their chunks across rebuilds. `store` is the
    caller's IndexStore (Newsdesk passes its own); without one, one is made from `settings`."""
    report = IngestReport(issues=issues)
    if not issues and not fresh:
        return report
    store = store or IndexStore(settings)
    with IndexWriter(store, embedder, wait_seconds=wait_seconds, fault=fault, fresh=fresh) as writer:
        for record in sources or []:
            writer.sources.record(record)
        sync = ChunkSync(writer, embedder, progress=progress)
        for issue in issues:
            chunks = chunk_stories(issue.stories)
            report.chunks += len(chunks)
            sync.plan({"issue_id": issue.issue_id}, chunks)
        sync.apply()
        report.unchanged, report.excluded = sync.unchanged, sync.excluded
        # Feed entries already indexed that tell one of these stories become its links, in this same version
        # (no embedding; a no-op for an index that never had feeds).
        from assistant.ingest.linking import link_issue_repeats
        report.linked = link_issue_repeats(writer, issues, index_dir=settings.index_dir)
    report.embedded, report.reused, report.removed = writer.embedded, writer.reused, writer.removed
    report.version = writer.version if writer.published else None  # None: nothing changed, nothing published
    return report


def ingest_paths(settings: Settings, embedder: Encoder, paths: list[Path], *, issue_date: date | None = None,
                 source_name: str | None = None, wait_seconds: float = 0.0,
                 progress: ProgressFn | None = None, fault: FaultFn | None = None,
                 store: IndexStore | None = None) -> IngestReport:
    files, rejected = collect_files(paths)
    issues, bad = parse_files(files, issue_date=issue_date, source_name=source_name)
    records = [file_record(i, issue_date=issue_date, source_name=source_name) for i in issues]
    report = ingest_issues(settings, embedder, issues, wait_seconds=wait_seconds, progress=progress,
                           fault=fault, sources=records, store=store)
    report.files = len(files)
    report.rejected = rejected + bad
    return report


@dataclass
class RemovalPlan:
    """What `newsdesk remove TARGET` would delete: the chunks per key, and the issues and stories they belong to."""

    target: str
    chunks: dict[str, int] = field(default_factory=dict)   # key (issue_id, story_id, url) -> chunks matching
    issues: list[str] = field(default_factory=list)
    stories: int = 0

    @property
    def total(self) -> int:
        return sum(self.chunks.values())


def plan_removal(settings: Settings, target: str, *, store: IndexStore | None = None) -> RemovalPlan:
    """The matches of `target` in the current version, read without taking the writer lock. `store` is the
    caller's IndexStore (Newsdesk passes its own); without one, one is made from `settings`."""
    from assistant.index.reader import ReaderCache

    plan = RemovalPlan(target=target)
    reader = ReaderCache(store or IndexStore(settings)).get()
    issues: set[str] = set()
    stories: set[str] = set()
    for key in REMOVE_KEYS:
        got = reader.collection.get(where={key: target}, include=["metadatas"])
        metas = [m or {} for m in got["metadatas"] or []]
        plan.chunks[key] = len(metas)
        issues |= {str(m.get("issue_id", "")) for m in metas}
        stories |= {str(m.get("story_id", "")) for m in metas}
    plan.issues, plan.stories = sorted(issues), len(stories)
    return plan


REMOVE_KEYS = ("issue_id", "story_id", "url")


class RemovalRefused(NewsdeskError, ValueError):
    """A removal that would delete more, or other, than one issue or story: refused unless asked for."""


def check_removal(target: str, plan: RemovalPlan | None, *, all_matching: bool) -> None:
    if not target.strip():
        raise RemovalRefused("refusing to remove an empty key: give an issue id, a story id or a link")
    if plan is not None and len(plan.issues) > 1 and plan.chunks.get("issue_id", 0) == 0 and not all_matching:
        raise RemovalRefused(f"{target!r} matches {plan.stories} stories in {len(plan.issues)} issues; "
                             "`--dry-run` lists them, `--all-matching` removes them all")


def remove_target(settings: Settings, embedder: Encoder, target: str, *, wait_seconds: float = 0.0,
                  fault: FaultFn | None = None, all_matching: bool = False,
                  store: IndexStore | None = None) -> int:
    """Remove an issue (by issue id) or one story/feed entry (by story id or link). Returns chunks removed.
    A removed issue is forgotten by `newsdesk rebuild`; a removed story or link is never re-added. An empty key,
    or a link that several issues' stories share, is refused unless `all_matching`. `store` is the caller's
    IndexStore (Newsdesk passes its own); without one, one is made from `settings`."""
    check_removal(target, None, all_matching=all_matching)
    store = store or IndexStore(settings)
    if not all_matching:
        check_removal(target, plan_removal(settings, target, store=store), all_matching=False)
    with IndexWriter(store, embedder, wait_seconds=wait_seconds, fault=fault, operation="remove") as writer:
        removed = 0
        forgotten = False
        for key in REMOVE_KEYS:
            n = writer.delete_where({key: target})
            removed += n
            if key == "issue_id":
                forgotten = writer.sources.forget(target)
            elif n:
                writer.sources.exclude(key, target)
        if removed == 0 and not forgotten:
            raise LookupError(f"nothing in the index matches {target!r} (an issue id, story id or link)")
    return removed


def read_file_sources(settings: Settings, records: list[SourceRecord]) -> SourceReadResult:
    """The built-in reader: newsletter files, parsed again with the options they were ingested with."""
    result = SourceReadResult()
    # An archive file holds many issues (one record each): parse it once per path and options.
    parsed: dict[tuple[str, str | None, str | None], list[Issue]] = {}
    for record in records:
        path = Path(record.ref)
        key = (record.ref, record.options.get("issue_date"), record.options.get("source_name"))
        try:
            if key not in parsed:
                parsed[key] = parse_issues(path, issue_date=parse_date(record.options.get("issue_date")),
                                           source_name=record.options.get("source_name"))
        except FileNotFoundError:
            result.failed.append((record, "file is gone"))
            continue
        except (IssueError, OSError) as exc:
            result.failed.append((record, str(exc)))
            continue
        issue = next((i for i in parsed[key] if i.issue_id == record.issue_id), None)
        if issue is None:
            result.failed.append((record, "issue no longer in the file"))
        else:
            result.issues.append(issue)
    return result


register_source_reader("file", read_file_sources)
