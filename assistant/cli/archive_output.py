"""Text output of `newsdesk search` and `newsdesk coverage` (the archive's results and timeline as plain text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: `search/coverage --url` print without importing bm25s and numpy
    from assistant.archive.search import ArchiveResult
    from assistant.archive.timeline import Coverage


def print_search(console: Any, result: ArchiveResult) -> None:
    """`newsdesk search`: one block per story. Plain text (markup=False): headlines are untrusted."""
    say = lambda text="": console.print(text, markup=False, highlight=False)  # noqa: E731
    where = f" ({result.filters})" if result.filters else ""
    if result.exact:
        say(f"{result.total} {'story mentions' if result.total == 1 else 'stories mention'} {result.query!r}"
            f"{where}, sorted by {result.sort}" + (f"; first {len(result.hits)}" if len(result.hits) < result.total
                                                    else "") + ":")
    else:
        say(f"No story mentions every word of {result.query!r}{where}. The closest stories:")
    for h in result.hits:
        say()
        say(f"{h.date or 'undated':<10}  {h.issue} ({h.source}{', ' + h.section if h.section else ''})")
        say(f"            {h.headline}" + (f"  {h.url}" if h.url else ""))
        if h.snippet:
            say(f"            {h.snippet}")


def print_coverage(console: Any, cov: Coverage) -> None:
    """`newsdesk coverage`: first/last mention, stories per week (with a bar), the issues that covered it."""
    say = lambda text="": console.print(text, markup=False, highlight=False)  # noqa: E731
    where = f" ({cov.filters})" if cov.filters else ""
    if not cov.total:
        say(f"No story mentions every word of {cov.query!r}{where}.")
        return
    say(f"{cov.query!r}{where}: {cov.total} {'story' if cov.total == 1 else 'stories'} in {len(cov.issues)} "
        f"{'issue' if len(cov.issues) == 1 else 'issues'}" + (f", {cov.undated} undated" if cov.undated else ""))
    for label, hit in (("first mention", cov.first_mention), ("last mention", cov.last_mention)):
        if hit:
            say(f"{label + ':':<15}{hit.date}  {hit.issue}: {hit.headline}" + (f"  {hit.url}" if hit.url else ""))
    if cov.weeks:
        say()
        say("stories per week (week starting):")
        top = max(w.stories for w in cov.weeks) or 1
        for w in cov.weeks:
            bar = "#" * max(1, round(30 * w.stories / top)) if w.stories else ""
            say(f"  {w.week.isoformat()}  {w.stories:>3}  {bar}")
    say()
    say("issues that covered it:")
    for i in cov.issues:
        say(f"  {i.date or 'undated':<10}  {i.issue} ({i.source}): {i.stories} "
            f"{'story' if i.stories == 1 else 'stories'}")
