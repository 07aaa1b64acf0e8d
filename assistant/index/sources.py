"""What was ingested, so `newsdesk rebuild` can read it all again: sources.json in every index version.

One record per issue id: its kind ("file" for newsletter files, "feed" for feeds, any other kind a module
registers), a reference (a path or URL) and the options it was read with. Story-level removals are kept as
exclusions, so neither a rebuild nor a later ingest of the same issue brings a removed story back.

Hook for other source kinds (feeds): call register_source_reader(kind, reader) with a `SourceReader`, a
function taking (settings, records) and returning a SourceReadResult. During a rebuild every
record of that kind goes to it; records it cannot read again, and records of kinds without a reader, keep
their chunks from the current version, so a rebuild never loses documents.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from assistant.config import Settings
from assistant.records import Issue

SOURCES_FILE = "sources.json"


@dataclass
class SourceRecord:
    issue_id: str
    kind: str  # "file", "feed", ...
    ref: str  # an absolute path or a URL
    options: dict[str, Any] = field(default_factory=dict)
    # Kinds whose source only holds recent items (feeds) keep stories that are no longer in it.
    additive: bool = False
    added: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class SourceReadResult:
    issues: list[Issue] = field(default_factory=list)
    # Records that could not be read again, with the reason; their chunks are carried over.
    failed: list[tuple[SourceRecord, str]] = field(default_factory=list)


class SourceReader(Protocol):
    """Reads a kind of source again for `newsdesk rebuild`: every record of its kind in, the issues they give
    now out. A record it cannot read goes into `failed` with a one-line reason (its chunks are carried over);
    a record it neither returns nor fails is reported as no longer yielding its issue. An exception fails
    the whole kind, whose records then keep their chunks. The module that writes a kind registers its reader
    when imported (assistant/ingest/issues.py "file", assistant/ingest/refresh.py "feed").

    Usage::

        from assistant.index.sources import SourceReadResult, SourceRecord, register_source_reader

        def read_podcasts(settings: Settings, records: list[SourceRecord]) -> SourceReadResult:
            result = SourceReadResult()
            for record in records:
                try:
                    issue = parse_episode(record.ref, **record.options)   # an Issue whose issue_id is
                except OSError as exc:                                     # record.issue_id
                    result.failed.append((record, f"cannot read {record.ref}: {exc}"))
                else:
                    result.issues.append(issue)
            return result

        register_source_reader("podcast", read_podcasts)   # SourceRecord(kind="podcast", ...) are read by it
    """

    def __call__(self, settings: Settings, records: list[SourceRecord], /) -> SourceReadResult:
        """Read `records` (all of one kind) again under `settings`; see the class docstring."""
        ...

# kind -> its reader. The modules that write a kind register its reader when imported (assistant/ingest/issues.py
# "file", assistant/ingest/refresh.py "feed"), so this lower layer never names a higher one.
SOURCE_READERS: dict[str, SourceReader] = {}


def register_source_reader(kind: str, reader: SourceReader) -> None:
    SOURCE_READERS[kind] = reader


def source_reader(kind: str) -> SourceReader | None:
    return SOURCE_READERS.get(kind)


@dataclass
class SourceRegistry:
    records: dict[str, SourceRecord] = field(default_factory=dict)
    # {"story_id": [...], "url": [...]}: removed with `newsdesk remove`, never re-added.
    excluded: dict[str, list[str]] = field(default_factory=lambda: {"story_id": [], "url": []})

    @classmethod
    def load(cls, version_dir: Path | None) -> SourceRegistry:
        if version_dir is None:
            return cls()
        try:
            data = json.loads((version_dir / SOURCES_FILE).read_text())
        except FileNotFoundError:
            return cls()  # a version written before the registry existed
        records = {k: SourceRecord.from_json(v) for k, v in data.get("records", {}).items()}
        excluded = {"story_id": list(data.get("excluded", {}).get("story_id", [])),
                    "url": list(data.get("excluded", {}).get("url", []))}
        return cls(records=records, excluded=excluded)

    def to_json(self) -> str:
        return json.dumps({"format": 1, "records": {k: asdict(v) for k, v in sorted(self.records.items())},
                           "excluded": self.excluded}, indent=1)  # ASCII: paths may hold undecodable bytes

    def record(self, record: SourceRecord) -> None:
        self.records[record.issue_id] = record

    def forget(self, issue_id: str) -> bool:
        return self.records.pop(issue_id, None) is not None

    def exclude(self, key: str, value: str) -> None:
        if value not in self.excluded.setdefault(key, []):
            self.excluded[key].append(value)

    def is_excluded(self, story_id: str, url: str | None) -> bool:
        return story_id in self.excluded.get("story_id", ()) or bool(url and url in self.excluded.get("url", ()))

    def by_kind(self) -> dict[str, list[SourceRecord]]:
        out: dict[str, list[SourceRecord]] = {}
        for record in self.records.values():
            out.setdefault(record.kind, []).append(record)
        return out


def file_record(issue: Issue, *, issue_date: date | None, source_name: str | None) -> SourceRecord:
    return SourceRecord(issue_id=issue.issue_id, kind="file", ref=str(Path(issue.path).resolve()),
                        options={"issue_date": issue_date.isoformat() if issue_date else None,
                                 "source_name": source_name})
