"""`newsdesk rebuild`: a fresh index version built from the recorded sources (sources.json), validated and
switched to atomically. Nothing is lost: an issue whose source cannot be read again keeps its chunks (and
embeddings) from the current version, and validation refuses a version that would drop an issue."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embedding import Encoder
from assistant.errors import EXPECTED
from assistant.index.errors import IndexMissingError, IndexWriteError, one_line
from assistant.index.reader import open_reader
from assistant.index.sources import SourceRecord, SourceRegistry, source_reader
from assistant.index.store import IndexStore
from assistant.index.writer import FaultFn, IndexWriter
from assistant.ingest.chunking import chunk_stories
from assistant.ingest.issues import ChunkSync, ProgressFn

# Imported for its side effect: it registers the "feed" source reader a rebuild re-reads feeds with.
from assistant.ingest.refresh import read_feed_sources  # noqa: F401
from assistant.records import Chunk, Issue

log = logging.getLogger(__name__)


@dataclass
class RebuildReport:
    version: str | None = None
    parent: str | None = None
    issues: int = 0
    stories: int = 0
    chunks: int = 0
    reread: int = 0  # issues read again from their sources
    embedded: int = 0
    reused: int = 0
    carried: int = 0  # chunks kept from the previous version (source gone or unreadable)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (issue id, why it was kept as it was)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = dict(self.__dict__)
        data["kept"] = [{"issue": i, "reason": r} for i, r in self.kept]
        return data


def _read_parent(store: IndexStore, version: str, notes: list[str]) -> dict[str, list[tuple[Chunk, np.ndarray]]] | None:
    """The current version's chunks and embeddings by issue, or None when it cannot be read (a broken HNSW
    file, a server that is gone): then everything is read from the sources and embedded again."""
    try:
        reader = open_reader(store, version)
        try:
            rows = reader.vectors()
        finally:
            reader.close()
    except EXPECTED as exc:  # a broken current version (IndexUnavailableError, bad manifest) means rebuild
        notes.append(f"the current version {version} cannot be read ({one_line(exc)}); every source is read "
                     "and embedded again")
        return None
    by_issue: dict[str, list[tuple[Chunk, np.ndarray]]] = {}
    for chunk, vec in rows:
        by_issue.setdefault(chunk.issue_id, []).append((chunk, vec))
    return by_issue


def _read_sources(settings: Settings, registry: SourceRegistry
                  ) -> tuple[list[tuple[SourceRecord, Issue]], list[tuple[SourceRecord, str]]]:
    """Every record read again by the reader of its kind, paired with the issue it gave."""
    read: list[tuple[SourceRecord, Issue]] = []
    failed: list[tuple[SourceRecord, str]] = []
    for kind, records in registry.by_kind().items():
        reader = source_reader(kind)
        if reader is None:
            failed.extend((r, f"no reader for {kind!r} sources is installed") for r in records)
            continue
        try:
            result = reader(settings, records)
        except EXPECTED as exc:  # one kind failing keeps its issues as they are
            failed.extend((r, f"reading {kind} sources failed: {one_line(exc)}") for r in records)
            continue
        by_id = {r.issue_id: r for r in records}
        by_ref = {r.ref: r for r in records}
        for issue in result.issues:
            record = by_id.get(issue.issue_id) or by_ref.get(str(Path(issue.path).resolve()))
            if record is not None:
                read.append((record, issue))
        failed.extend(result.failed)
        seen = {id(r) for r, _ in read} | {id(r) for r, _ in result.failed}
        failed.extend((r, "its source no longer yields this issue") for r in records if id(r) not in seen)
    return read, failed


def rebuild_index(settings: Settings, embedder: Encoder, *, wait_seconds: float = 0.0,
                  progress: ProgressFn | None = None, fault: FaultFn | None = None,
                  reembed: bool = False, store: IndexStore | None = None) -> RebuildReport:
    """A fresh version from the recorded sources, validated and switched to atomically. `store` is the caller's
    IndexStore (Newsdesk passes its own); without one, one is made from `settings`."""
    store = store or IndexStore(settings)
    if store.current() is None:
        raise IndexMissingError(store.missing_message())
    report = RebuildReport()
    with IndexWriter(store, embedder, fresh=True, wait_seconds=wait_seconds, fault=fault,
                     operation="rebuild") as writer:
        if writer.parent is None:
            raise IndexMissingError(store.missing_message())
        report.parent = writer.parent
        parent = _read_parent(store, writer.parent, report.notes)
        same_model = store.manifest(writer.parent).embed_model == embedder.label
        reuse: dict[str, np.ndarray] = {}
        if parent and same_model and not reembed:
            reuse = {c.content_hash: v for rows in parent.values() for c, v in rows}
        registry = writer.sources
        read, failed = _read_sources(settings, registry)
        writer.step("read")

        sync = ChunkSync(writer, embedder, progress=progress, reuse=reuse)
        read_ids: set[str] = set()
        renamed: set[str] = set()
        for record, issue in read:
            if issue.issue_id != record.issue_id:  # e.g. a retitled file: the record follows the issue
                renamed.add(record.issue_id)
                registry.forget(record.issue_id)
                record.issue_id = issue.issue_id
                registry.record(record)
            read_ids.add(issue.issue_id)
            chunks = chunk_stories(issue.stories)
            sync.plan({"issue_id": issue.issue_id}, chunks)
            if record.additive and parent:
                # A feed shows only its latest entries: keep the stories it no longer lists.
                present = {c.story_id for c in chunks}
                _carry(writer, [(c, v) for c, v in parent.get(issue.issue_id, []) if c.story_id not in present])
        sync.apply()
        report.embedded, report.reused = writer.embedded, writer.reused

        parent_ids = set(parent) if parent is not None else set()
        keep = {r.issue_id: reason for r, reason in failed if r.issue_id not in read_ids}
        keep.update({i: "no recorded source (ingested before sources were recorded)"
                     for i in parent_ids - set(registry.records) - read_ids})
        if keep and parent is None:
            raise IndexWriteError(
                f"cannot rebuild: {len(keep)} issues cannot be read again (e.g. {sorted(keep)[0]}: "
                f"{keep[sorted(keep)[0]]}) and the current version cannot be read to keep them")
        for issue_id, reason in sorted(keep.items()):
            rows = (parent or {}).get(issue_id, [])
            if rows:
                _carry(writer, rows)
                report.kept.append((issue_id, reason))
        # Every issue of the current version must be in the new one (removals go through `newsdesk remove`).
        writer.required_issues = {i for i, rows in (parent or {}).items() if i not in renamed and any(
            not registry.is_excluded(c.story_id, c.url) for c, _ in rows)}
        report.reread = len(read)
        report.carried = writer.carried
    manifest = writer.published
    report.version = writer.version
    if manifest is not None:
        report.issues, report.stories, report.chunks = manifest.issues, manifest.stories, manifest.chunks
    return report


def _carry(writer: IndexWriter, rows: list[tuple[Chunk, np.ndarray]]) -> None:
    rows = [(c, v) for c, v in rows if not writer.sources.is_excluded(c.story_id, c.url)]
    if rows:
        chunks, vecs = zip(*rows, strict=True)
        writer.carry(list(chunks), np.vstack(vecs))
