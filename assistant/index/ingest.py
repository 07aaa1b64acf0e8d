"""Incremental ingest: only new or changed chunks are embedded; vanished ones are removed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import chunk_stories
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.index.store import IndexStore
from assistant.index.writer import IndexWriter
from assistant.models import Chunk, Issue
from assistant.sources.newsletter import SUPPORTED_SUFFIXES, IssueError, parse_issue

# Called with (done, total) while embedding, so the CLI and the UI can show progress.
ProgressFn = Callable[[int, int], None]


@dataclass
class IngestReport:
    files: int = 0
    issues: list[Issue] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    version: str | None = None

    @property
    def stories(self) -> int:
        return sum(len(i.stories) for i in self.issues)


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand folders; every path that cannot be used gets one (path, reason) line."""
    files: list[Path] = []
    rejected: list[tuple[str, str]] = []
    for path in paths:
        if not path.exists():
            rejected.append((str(path), "no such file or folder"))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                           and p.name.upper() not in ("SOURCE.MD", "README.MD", "ATTRIBUTION.MD"))
            if not found:
                rejected.append((str(path), "folder holds no supported issue files (.md .txt .html .eml)"))
            files.extend(found)
        else:
            files.append(path)
    return files, rejected


def parse_files(files: list[Path], *, issue_date: date | None = None, source_name: str | None = None
                ) -> tuple[list[Issue], list[tuple[str, str]]]:
    issues: list[Issue] = []
    rejected: list[tuple[str, str]] = []
    for path in files:
        try:
            issues.append(parse_issue(path, issue_date=issue_date, source_name=source_name))
        except IssueError as exc:
            rejected.append((str(path), str(exc)))
        except OSError as exc:
            rejected.append((str(path), f"cannot read: {exc.strerror or exc}"))
    return issues, rejected


class ChunkSync:
    """Plans and applies the change for a set of scopes (an issue, a feed entry): reuse embeddings whose
    content hash is unchanged, embed the rest in large batches, delete chunks that vanished."""

    def __init__(self, writer: IndexWriter, embedder: Embedder, *, progress: ProgressFn | None = None) -> None:
        self.writer = writer
        self.embedder = embedder
        self.progress = progress
        self.pending: list[Chunk] = []
        self.ready: list[tuple[Chunk, np.ndarray]] = []
        self.unchanged = 0

    def plan(self, scope: dict[str, Any], chunks: list[Chunk]) -> None:
        ids_to_hash, hash_to_vec = self.writer.existing(scope)
        new_ids = {c.chunk_id for c in chunks}
        stale = [cid for cid in ids_to_hash if cid not in new_ids]
        if stale:
            self.writer.delete(stale)
        for chunk in chunks:
            if ids_to_hash.get(chunk.chunk_id) == chunk.content_hash:
                self.unchanged += 1
            elif chunk.content_hash in hash_to_vec:
                self.ready.append((chunk, hash_to_vec[chunk.content_hash]))
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
        for start in range(0, total, batch):
            part = self.pending[start:start + batch]
            vectors = self.embedder.encode([c.text for c in part])
            self.writer.upsert(part, vectors)
            self.writer.embedded += len(part)
            if self.progress:
                self.progress(min(start + batch, total), total)
        self.pending = []


def ingest_issues(settings: Settings, embedder: Embedder, issues: list[Issue], *, wait_seconds: float = 0.0,
                  progress: ProgressFn | None = None, fault: Callable[[str], None] | None = None,
                  fresh: bool = False) -> IngestReport:
    report = IngestReport(issues=issues)
    if not issues and not fresh:
        return report
    store = IndexStore(settings)
    with IndexWriter(store, embedder, wait_seconds=wait_seconds, fault=fault, fresh=fresh) as writer:
        sync = ChunkSync(writer, embedder, progress=progress)
        for issue in issues:
            chunks = chunk_stories(issue.stories)
            report.chunks += len(chunks)
            sync.plan({"issue_id": issue.issue_id}, chunks)
        sync.apply()
        report.unchanged = sync.unchanged
    report.embedded, report.reused, report.removed = writer.embedded, writer.reused, writer.removed
    report.version = writer.version
    return report


def ingest_paths(settings: Settings, embedder: Embedder, paths: list[Path], *, issue_date: date | None = None,
                 source_name: str | None = None, wait_seconds: float = 0.0,
                 progress: ProgressFn | None = None) -> IngestReport:
    files, rejected = collect_files(paths)
    issues, bad = parse_files(files, issue_date=issue_date, source_name=source_name)
    report = ingest_issues(settings, embedder, issues, wait_seconds=wait_seconds, progress=progress)
    report.files = len(files)
    report.rejected = rejected + bad
    return report


def remove_target(settings: Settings, embedder: Embedder, target: str, *, wait_seconds: float = 0.0) -> int:
    """Remove an issue (by issue id) or one story/feed entry (by story id or link). Returns chunks removed."""
    store = IndexStore(settings)
    with IndexWriter(store, embedder, wait_seconds=wait_seconds) as writer:
        removed = 0
        for key in ("issue_id", "story_id", "url"):
            removed += writer.delete_where({key: target})
        if removed == 0:
            raise LookupError(f"nothing in the index matches {target!r} (an issue id, story id or link)")
    return removed
