"""The answer suite (tests/data/answers), its scoring, leave-one-newsletter-out calibration, and a CI-sized run."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from assistant.answer.gate import Evidence, StoryEvidence
from assistant.evaluation.answers import (
    FOLDERS,
    Gold,
    Outcome,
    cites_gold,
    load_suite,
    prepare_desks,
    run_suite,
    score_outcomes,
)
from assistant.evaluation.calibrate import Setting, apply, choose, leave_one_out
from tests.conftest import make_settings
from tests.requires import require

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "tests" / "data" / "answers"
NEWSLETTERS = REPO.parent / "shared" / "data" / "newsletters"


class TestSuiteFiles:
    def test_at_least_300_questions_40_per_newsletter_all_kinds(self) -> None:
        questions = load_suite(SUITE)
        per = Counter(q.newsletter for q in questions)
        assert len(questions) >= 300 and set(per) == set(FOLDERS) and min(per.values()) >= 40
        kinds = Counter(q.kind for q in questions)
        assert {"fact", "first_coverage", "every_issue", "count", "date_filtered", "evolution",
                "unanswerable_near", "unanswerable_far"} <= set(kinds)
        assert len({q.qid for q in questions}) == len(questions)

    def test_gold_stories_occur_in_their_files(self) -> None:
        require(NEWSLETTERS.is_dir(), f"shared newsletters at {NEWSLETTERS}")
        for q in load_suite(SUITE):
            for g in q.gold:
                text = (NEWSLETTERS / FOLDERS[q.newsletter] / g.issue_file).read_text(encoding="utf-8")
                assert g.headline in text, (q.qid, g.headline)
            if q.kind.startswith("unanswerable"):
                assert not q.gold


def _ev(*, dense: float, sentence: float, share: float = 1.0, typed: bool = True) -> dict:
    story = StoryEvidence(rank=0, identifiers_ok=True, name_share=share, best_sentence=sentence, type_found=typed)
    return Evidence(best_dense=dense, coverage=1.0, names=["x"], identifiers=[], missing_names=[],
                    missing_terms=[], answer_type="", stories=[story]).to_json()


def _outcome(name: str, kind: str, sentence: float) -> Outcome:
    return Outcome(qid=f"{name}-{kind}-{sentence}", newsletter=name, kind=kind, routed="fact", answered=True,
                   citations=[{"issue_id": "n--a", "date": "2026-01-01", "headline": "h", "supported": True}],
                   latency_ms=1.0, gold=[Gold("a.md", "2026-01-01", "h")], count=None, window=None,
                   features=_ev(dense=0.6, sentence=sentence))


class TestCalibration:
    def test_thresholds_come_from_the_other_newsletters(self) -> None:
        # Answerable questions' best sentences at 0.6+, unanswerable ones at 0.42: a sentence floor separates them.
        outcomes = [_outcome(n, k, s) for n in ("a", "b", "c")
                    for k, s in (("fact", 0.62), ("fact", 0.7), ("unanswerable_near", 0.42))]
        report = leave_one_out(outcomes)
        assert set(report.chosen) == {"all", "a", "b", "c"}
        assert 0.42 < report.chosen["all"].min_sentence <= 0.62
        held = report.held_out["all"]
        assert held["answered_when_answerable"] == 1.0 and held["refused_near"] == 1.0
        assert report.open_gate["all"]["refused_near"] == 0.0

    def test_a_tie_goes_to_the_centre_of_the_plateau(self) -> None:
        # Sentence floors 0.45, 0.5 and 0.55 all separate 0.42 from 0.62: the middle one is farthest from a flip.
        outcomes = [_outcome(n, k, s) for n in ("a", "b")
                    for k, s in (("fact", 0.62), ("fact", 0.7), ("unanswerable_near", 0.42))]
        assert choose(outcomes).min_sentence == 0.5

    def test_apply_refuses_what_the_setting_would_refuse(self) -> None:
        strict = Setting(refuse_below=0.2, min_sentence=0.65, min_coverage=0.0, require_type=True,
                         min_name_share=1.0)
        got = apply(strict, [_outcome("a", "fact", 0.62), _outcome("a", "fact", 0.7)])
        assert [o.answered for o in got] == [False, True] and got[0].citations == []
        assert choose([_outcome("a", "fact", 0.7), _outcome("a", "unanswerable_far", 0.3)]).min_sentence > 0.3

    def test_gold_issue_matching(self) -> None:
        assert cites_gold("lwkd--week-ending-may-5--2024-05-05-update", "2024-05-08",
                          Gold("2024-05-05-update.md", "2024-05-05", "x"))
        assert not cites_gold("lwkd--2024-05-12-update", "2024-05-14", Gold("2024-05-05-update.md", "2024-05-05", "x"))
        assert cites_gold("ml-papers-of-the-week--readme--2025-06-29", "2025-06-29",
                          Gold("README.md", "2025-06-29", "x"))


class TestSuiteSample:
    """A CI-sized run: every question of two newsletters whose gold lies in a sample of their issues, asked of an
    index of that sample, against floors well below the full suite's held-out scores (docs/answers.md)."""

    def test_sample_of_two_newsletters(self, tmp_path: Path, embedder) -> None:
        require(NEWSLETTERS.is_dir(), f"shared newsletters at {NEWSLETTERS}")
        rng = random.Random(11)
        questions = []
        for name in ("lwkd", "this-week-in-react"):
            pool = [q for q in load_suite(SUITE, newsletters=[name])
                    if q.kind in ("fact", "first_coverage", "unanswerable_near", "unanswerable_far")]
            questions += rng.sample(pool, 12)
        data = tmp_path / "newsletters"
        for q in questions:  # the sample's gold issues, plus a few others so that retrieval has to choose
            folder = NEWSLETTERS / FOLDERS[q.newsletter]
            files = {g.issue_file for g in q.gold} | set(sorted(p.name for p in folder.iterdir())[:: 40])
            target = data / FOLDERS[q.newsletter]
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                if (folder / f).suffix in (".md", ".mdx"):
                    (target / f).write_bytes((folder / f).read_bytes())
        desks = prepare_desks(questions, settings=make_settings(tmp_path / "unused"), data_root=data,
                              cache_dir=tmp_path / "indexes")
        for desk in desks.values():
            desk.__dict__["embedder"] = embedder
        scores = score_outcomes(run_suite(questions, desks))["all"]
        (tmp_path / "scores.json").write_text(json.dumps(scores))
        assert scores["answered_when_answerable"] >= 0.6, scores
        assert scores["refused_far"] == 1.0, scores
        assert scores["first_coverage_exact"] is None or scores["first_coverage_exact"] >= 0.5, scores
        assert scores["citation_precision_verifier"] == 1.0, scores
