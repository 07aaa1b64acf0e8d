"""Editors' questions answered from the coverage engine: first coverage, every issue, how often.

The fact answerer quotes the *closest* stories; these questions are about the archive itself, so they are
answered from every story that mentions the term (assistant/archive/search.py), in date order, each line cited.

    cov = desk.coverage("Groq")
    answer = coverage_answer(kind="first_coverage", term="Groq", cov=cov)
    print(answer.answer)   # "First covered on 2024-02-26 in Last Week in AI #256: ... [1]. Since then ..."
"""

from __future__ import annotations

from assistant.archive.search import ArchiveHit
from assistant.archive.timeline import Coverage
from assistant.records import Answer, Citation

# "How has X evolved?" is not here: the fact answer's dated timeline (answer/extractive.py) answers it with verified
# sentences from the closest stories.
KINDS = ("first_coverage", "every_issue", "count")
MAX_LISTED = 25        # issues listed one per line before "and N more"


def _citation(n: int, hit: ArchiveHit) -> Citation:
    return Citation(n=n, issue=hit.issue, date=hit.date, headline=hit.headline, url=hit.url,
                    snippet=hit.snippet, score=float(hit.score), source_name=hit.source,
                    chunk_id=f"{hit.story_id}:0", issue_id=hit.issue_id)


def _where(hit: ArchiveHit) -> str:
    return f"{hit.date} in {hit.issue}" if hit.date else f"in {hit.issue} (undated)"


def _per_issue(hits: list[ArchiveHit]) -> list[ArchiveHit]:
    """The earliest-dated, then most relevant, story of each issue, issues in date order."""
    best: dict[str, ArchiveHit] = {}
    for h in sorted(hits, key=lambda h: (h.date or "9999-12-31", -h.score)):
        best.setdefault(h.issue_id, h)
    return list(best.values())


def coverage_answer(*, kind: str, term: str, cov: Coverage, hits: list[ArchiveHit]) -> Answer:
    """The answer of an editor's question from the stories that mention `term` (`hits`, any order)."""
    if kind not in KINDS:
        raise ValueError(f"not an archive question kind: {kind!r}")
    where = f" ({cov.filters})" if cov.filters else ""
    if not hits:
        return Answer(answer=f"No story in the archive{where} mentions {term!r}.", refused=True, kind=kind)
    issues = _per_issue(hits)
    citations: list[Citation] = []

    def cite(hit: ArchiveHit) -> int:
        citations.append(_citation(len(citations) + 1, hit))
        return len(citations)

    stories, n_issues = len(hits), len(issues)
    if kind == "first_coverage":
        first = issues[0]
        text = f"First covered on {_where(first)}: {first.headline} [{cite(first)}]."
        if n_issues > 1:
            last = issues[-1]
            text += (f" Since then {stories - 1} more {'story' if stories == 2 else 'stories'} in {n_issues - 1} "
                     f"{'issue' if n_issues == 2 else 'issues'}, the latest on {_where(last)}: {last.headline} "
                     f"[{cite(last)}].")
        else:
            text += " It has not come up in any other issue."
    elif kind == "count":
        text = (f"{term} came up in {n_issues} {'issue' if n_issues == 1 else 'issues'}{where} "
                f"({stories} {'story' if stories == 1 else 'stories'}): "
                + "; ".join(f"{h.date or 'undated'} [{cite(h)}]" for h in issues[:MAX_LISTED]) + ".")
        if n_issues > MAX_LISTED:
            text += f" And {n_issues - MAX_LISTED} more."
    else:  # every_issue
        lines = [f"{term} was covered in {n_issues} {'issue' if n_issues == 1 else 'issues'}{where}:"]
        lines += [f"- {_where(h)}: {h.headline} [{cite(h)}]" for h in issues[:MAX_LISTED]]
        if n_issues > MAX_LISTED:
            lines.append(f"- and {n_issues - MAX_LISTED} more issues (`newsdesk coverage {term!r}` lists them all)")
        text = "\n".join(lines)
    return Answer(answer=text, refused=False, citations=citations, kind=kind)

