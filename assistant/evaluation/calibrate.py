"""Choosing the answer gate's thresholds by leave-one-newsletter-out, and the held-out scores that result.

The suite is answered once with the gate wide open; every answer keeps the gate's evidence (best story cosine,
best sentence cosine, word coverage, names, answer type). A threshold setting then decides offline which of those
answers it would have refused. For each newsletter, the setting is chosen on the other five and scored on it, so
every number reported for a newsletter comes from thresholds that never saw it. The shipped defaults are the
setting chosen on all six (the "in-sample" column).

    outcomes = run_suite(questions, open_desks(desks))
    report = leave_one_out(outcomes)
    report.chosen["all"], report.held_out["lwkd"]["answered_when_answerable"]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from assistant.answer.gate import AnswerGate, Evidence
from assistant.evaluation.answers import UNANSWERABLE, Outcome, score_outcomes

if TYPE_CHECKING:
    from assistant.pipeline import Newsdesk

# The grid: wide enough to hold every sensible value, coarse enough that no point is fitted to one question.
GRID: dict[str, tuple[Any, ...]] = {
    "refuse_below": (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45),
    "min_sentence": (-1.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55),
    "min_coverage": (0.0, 0.3, 0.4, 0.5, 0.6),
    "require_type": (False, True),
    "min_name_share": (0.5, 0.67, 1.0),
    "excuse_known": (False, True),
}
FACT_PATH = ("fact", "date_filtered", *UNANSWERABLE)


@dataclass(frozen=True)
class Setting:
    refuse_below: float
    min_sentence: float
    min_coverage: float
    require_type: bool
    min_name_share: float
    excuse_known: bool = False

    def gate(self) -> AnswerGate:
        return AnswerGate(refuse_below=self.refuse_below, min_sentence=self.min_sentence,
                          min_coverage=self.min_coverage, require_type=self.require_type,
                          min_name_share=self.min_name_share, excuse_known=self.excuse_known)

    def as_settings(self) -> dict[str, Any]:
        return {"refuse_below": self.refuse_below, "refuse_min_sentence": self.min_sentence,
                "refuse_min_coverage": self.min_coverage, "refuse_require_type": self.require_type,
                "refuse_min_name_share": self.min_name_share, "refuse_excuse_known": self.excuse_known}


def open_desks(desks: dict[str, Newsdesk]) -> dict[str, Newsdesk]:
    """The desks with a gate that lets everything through but still records its evidence."""
    for desk in desks.values():
        gate = getattr(desk.answerer, "gate", None)  # both built-in answerers have one; the contract does not
        if not isinstance(gate, AnswerGate):
            raise TypeError(f"{type(desk.answerer).__name__} has no AnswerGate to calibrate")
        gate.refuse_below, gate.min_sentence, gate.min_coverage = -1.0, -1.0, 0.0
        gate.require_names, gate.require_type = False, False
    return desks


def _evidence(o: Outcome) -> Evidence | None:
    if not all(k in o.features for k in Evidence.__dataclass_fields__):
        return None
    return Evidence.from_json(o.features)


def apply(setting: Setting, outcomes: Iterable[Outcome]) -> list[Outcome]:
    """The outcomes as they would have been under `setting`: gated answers become refusals."""
    gate = setting.gate()
    out = []
    for o in outcomes:
        ev = _evidence(o)
        if o.answered and o.routed == "fact" and ev is not None and not gate.decide(ev).answerable:
            o = replace(o, answered=False, citations=[])
        out.append(o)
    return out


def objective(outcomes: list[Outcome]) -> float:
    """Balanced: the share of answerable fact-path questions answered and the share of unanswerable ones
    refused, weighted equally (which story is cited is retrieval's and the selection's business, not the gate's)."""
    right = [o.answered for o in outcomes if o.kind in ("fact", "date_filtered")]
    refused = [not o.answered for o in outcomes if o.kind in UNANSWERABLE]
    if not right or not refused:
        return 0.0
    return 0.5 * sum(right) / len(right) + 0.5 * sum(refused) / len(refused)


# The bundled corpus is what a new user meets first (`make run`): its standing guarantees (tests/answer/
# test_quality.py: >= 90% of its unanswerable questions refused, >= 90% of its answerable ones answered) are a
# constraint on the choice whenever its questions are among the tuning ones, never a score to maximise.
GUARDED = "bundled"
GUARD_RATE = 0.9


def keeps_guarantees(outcomes: list[Outcome]) -> bool:
    guarded = [o for o in outcomes if o.newsletter == GUARDED]
    refused = [not o.answered for o in guarded if o.kind in UNANSWERABLE]
    answered = [o.answered for o in guarded if o.kind not in UNANSWERABLE]
    if not refused or not answered:
        return True
    return sum(refused) / len(refused) >= GUARD_RATE and sum(answered) / len(answered) >= GUARD_RATE


def choose(outcomes: list[Outcome]) -> Setting:
    """The setting with the best objective. Several usually tie (a plateau of thresholds that decide every
    question alike); the one nearest the plateau's centre, in grid steps, wins: it is the farthest from the
    edges where a question flips, so the least fitted to these questions. Among equally central ones, the
    stricter wins (refusing is the safer error for a cited-answers tool)."""
    fact_path = [o for o in outcomes if o.kind in FACT_PATH]
    grid = list(GRID.values())
    scored: list[tuple[tuple[bool, float], tuple[int, ...], Setting]] = []
    for steps in itertools.product(*(range(len(values)) for values in grid)):
        setting = Setting(*(values[i] for values, i in zip(grid, steps, strict=True)))
        gated = apply(setting, fact_path)
        scored.append(((keeps_guarantees(gated), objective(gated)), steps, setting))
    top = max(score for score, _, _ in scored)
    plateau = [(steps, setting) for score, steps, setting in scored if score == top]
    centre = [sum(steps[d] for steps, _ in plateau) / len(plateau) for d in range(len(grid))]

    def rank(item: tuple[tuple[int, ...], Setting]) -> tuple[float, float]:
        steps, setting = item
        strictness = (setting.refuse_below + setting.min_sentence + setting.min_coverage + setting.require_type
                      + setting.min_name_share - setting.excuse_known)
        return sum((s - c) ** 2 for s, c in zip(steps, centre, strict=True)), -strictness

    return min(plateau, key=rank)[1]


@dataclass
class CalibrationReport:
    chosen: dict[str, Setting] = field(default_factory=dict)         # newsletter held out -> setting; "all"
    held_out: dict[str, dict[str, Any]] = field(default_factory=dict)
    in_sample: dict[str, dict[str, Any]] = field(default_factory=dict)
    open_gate: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"chosen": {k: v.as_settings() for k, v in self.chosen.items()}, "held_out": self.held_out,
                "in_sample": self.in_sample, "open_gate": self.open_gate}


def leave_one_out(outcomes: list[Outcome]) -> CalibrationReport:
    report = CalibrationReport()
    names = sorted({o.newsletter for o in outcomes})
    report.chosen["all"] = choose(outcomes)
    report.in_sample = score_outcomes(apply(report.chosen["all"], outcomes))
    report.open_gate = score_outcomes(outcomes)
    held: list[Outcome] = []
    for name in names:
        setting = choose([o for o in outcomes if o.newsletter != name])
        report.chosen[name] = setting
        held.extend(apply(setting, [o for o in outcomes if o.newsletter == name]))
    report.held_out = score_outcomes(held)
    return report
