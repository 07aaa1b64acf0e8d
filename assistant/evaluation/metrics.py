"""Hits@k and MRR@10 over ranked story ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KS = (1, 5, 10)


def first_rank(ranked: Sequence[str], gold: set[str], *, depth: int = 10) -> int | None:
    """1-based rank of the first gold id within `depth`, or None."""
    for i, story_id in enumerate(ranked[:depth], start=1):
        if story_id in gold:
            return i
    return None


@dataclass
class Scores:
    n: int
    hits: dict[int, float]
    mrr10: float

    def to_json(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {f"hits@{k}": round(v, 4) for k, v in self.hits.items()}
        out["mrr@10"] = round(self.mrr10, 4)
        out["n"] = self.n
        return out


def score(ranks: Iterable[int | None]) -> Scores:
    ranks = list(ranks)
    n = len(ranks)
    if n == 0:
        return Scores(n=0, hits={k: 0.0 for k in KS}, mrr10=0.0)
    hits = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in KS}
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n
    return Scores(n=n, hits=hits, mrr10=mrr)
