"""What the index holds, for the web app's menus and example questions: sources, sections, dates.

    catalog = CatalogCache()
    cat = catalog.get(desk.readers)   # computed once per index version
    cat.sources, cat.sections, cat.examples
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.index.reader import ReaderCache


@dataclass
class Catalog:
    version: str | None
    sources: list[str]
    sections: list[str]
    first_date: str | None
    last_date: str | None
    examples: list[str]


_HEADLINE_TAIL = re.compile(r"\s+(?:[-–—|]\s+[^-–—|]{2,40})$")
_LISTING = re.compile(r"^\W*\d{4}-\d{2}-\d{2}|^(?:\W|\d)+$|\||\bissue\s*#?\d", re.I)


def question_for(headline: str) -> str | None:
    """A headline -> a question a subscriber might ask; None for listings, dates and fragments."""
    text = " ".join(headline.split()).strip(" .:")
    text = _HEADLINE_TAIL.sub("", text)  # " - The New York Times", " | OpenAI"
    words = text.split()
    if _LISTING.search(text) or not 4 <= len(words) <= 14 or text.endswith("?"):
        return None
    return f"What happened with “{text}”?"


def example_questions(metas: list[dict[str, Any]], *, n: int = 4) -> list[str]:
    """Questions drawn from the newest issues, one source at a time so every newsletter or feed shows up."""
    stories: dict[str, dict[str, Any]] = {}
    for m in metas:
        sid = str(m.get("story_id", ""))
        if sid and int(m.get("chunk_index", 0)) == 0:
            stories[sid] = m
    ordered = sorted(stories.values(), key=lambda m: (-int(m.get("date_int") or 0), str(m.get("issue_id")),
                                                      int(m.get("story_index") or 0)))
    by_source: OrderedDict[str, list[str]] = OrderedDict()
    for m in ordered:
        question = question_for(str(m.get("headline", "")))
        if question:
            by_source.setdefault(str(m.get("source_name", "")), []).append(question)
    picked: list[str] = []
    while len(picked) < n and any(by_source.values()):
        for questions in by_source.values():
            if questions and len(picked) < n:
                q = questions.pop(0)
                if q not in picked:
                    picked.append(q)
    return picked


class CatalogCache:
    """The catalog of the current index version, computed once per version (menus and examples read it)."""

    def __init__(self) -> None:
        self._cache: dict[str, Catalog] = {}

    def get(self, readers: ReaderCache) -> Catalog:
        from assistant.index.store import IndexMissingError

        try:
            reader = readers.get()
        except IndexMissingError:
            return Catalog(version=None, sources=[], sections=[], first_date=None, last_date=None, examples=[])
        if reader.version not in self._cache:
            metas: list[dict[str, Any]] = []
            offset = 0
            while True:
                got = reader.collection.get(include=["metadatas"], limit=5000, offset=offset)
                if not got["ids"]:
                    break
                metas.extend(dict(m or {}) for m in got["metadatas"] or [])
                offset += len(got["ids"])
            dates = sorted(str(m["date"]) for m in metas if m.get("date"))
            self._cache = {reader.version: Catalog(
                version=reader.version,
                sources=sorted({str(m.get("source_name")) for m in metas if m.get("source_name")}),
                sections=sorted({str(m.get("section")) for m in metas if m.get("section")}),
                first_date=dates[0] if dates else None,
                last_date=dates[-1] if dates else None,
                examples=example_questions(metas),
            )}
        return self._cache[reader.version]
