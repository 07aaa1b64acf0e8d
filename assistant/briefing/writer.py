"""Briefing sentences written by someone other than the extractive lead: the contract an LLM writer fulfils
(assistant/answer/brief_writer.py; the pipeline wires it in, since the briefing package does not import the answer
package) and the loop that asks it, item by item, in the briefing's order.

    results, note = write_items(writer, jobs, sentences=2)
    # results[i]: [(sentence, [story numbers it cites]), ...] for item i, or None: keep the extractive sentences

- Only the first `writer.max_items` items are asked (the cost bound); items with no story text are skipped.
- A writer returns checked sentences, each citing stories of its own item, or [] when nothing it wrote was
  supported by them: that item keeps its extractive sentences. Whatever it returns, a citation to a story outside
  the item is removed here too, and a sentence left without one is dropped.
- A writer that fails (server down, timed out, misconfigured: it raises a NewsdeskError) is not asked again for
  this briefing; the remaining items keep their extractive sentences. Failures and fallbacks become one note line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.errors import NewsdeskError

Cited = list[tuple[str, list[int]]]


@dataclass
class StoryText:
    """One of an item's stories as a writer sees it: its number in the briefing ([n]) and its text."""

    n: int
    headline: str
    text: str               # the story's first chunk: headline and lead
    source: str
    issue: str
    date: str | None


@dataclass
class WriteJob:
    headline: str           # the item's headline (its best story's)
    stories: list[StoryText]


class ItemWriter(Protocol):
    """Writes an item's sentences from its stories (assistant/answer/brief_writer.py: an LLM, verified)."""

    max_items: int          # only the briefing's first N items are written

    def write(self, headline: str, stories: Sequence[StoryText], *, limit: int) -> Cited:
        """At most `limit` sentences about the stories, each with the numbers (`StoryText.n`) of the stories
        that support it; [] when none survives. Raises NewsdeskError when the backend fails."""
        ...


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def write_items(writer: ItemWriter, jobs: Sequence[WriteJob | None], *, sentences: int
                ) -> tuple[list[Cited | None], str | None]:
    """Each job's written sentences (None: keep the extractive ones) and one note line, or None when every
    item asked got sentences from the writer."""
    results: list[Cited | None] = []
    failure = ""
    unsupported: list[int] = []      # items (1-based) whose written sentences were all dropped
    skipped: list[int] = []          # items not asked because the writer had failed
    for i, job in enumerate(jobs):
        if job is None or not job.stories or i >= writer.max_items:
            results.append(None)
            continue
        if failure:
            skipped.append(i + 1)
            results.append(None)
            continue
        try:
            written = writer.write(job.headline, job.stories, limit=sentences)
        except NewsdeskError as exc:
            failure = " ".join(str(exc).split()) or type(exc).__name__
            skipped.append(i + 1)
            results.append(None)
            continue
        own = {s.n for s in job.stories}
        kept: Cited = []
        for text, cites in written[:sentences]:
            mine = [n for n in dict.fromkeys(cites) if n in own]
            if text.strip() and mine:
                kept.append((text.strip(), mine))
        if not kept:
            unsupported.append(i + 1)
        results.append(kept or None)
    parts = []
    if skipped:
        parts.append(f"item{'s' if len(skipped) > 1 else ''} {_ranges(skipped)}: {failure.rstrip('.')}")
    if unsupported:
        parts.append(f"item{'s' if len(unsupported) > 1 else ''} {_ranges(unsupported)}: nothing the LLM wrote "
                     "was supported by the item's stories")
    note = ("note: extractive sentences for " + "; ".join(parts)) if parts else None
    return results, note
