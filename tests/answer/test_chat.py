"""Follow-ups, history and the streaming chat API (extractive mode, real index)."""

from __future__ import annotations

import pytest

from assistant.answer.chat import ChatSession, Turn, name_spans, rewrite_follow_up
from assistant.records import Answer, Citation, Filters


def turn(question: str, *, headline: str = "") -> Turn:
    cites = [Citation(n=1, issue="I", date=None, headline=headline, url=None, snippet="", score=0.5)] if headline \
        else []
    return Turn(message=question, question=question, answer=Answer(answer="x [1]", refused=False, citations=cites),
                names=name_spans(question))


@pytest.mark.parametrize(("message", "expected"), [
    ("and what about AMD?", "What did AMD announce at GTC 2026?"),
    ("What about AMD", "What did AMD announce at GTC 2026?"),
    ("how about Intel and AMD?", "What did Intel and AMD announce at GTC 2026?"),
    ("same for Google Cloud", "What did Google Cloud announce at GTC 2026?"),
    ("When will it ship?", "When will NVIDIA ship?"),
    ("What are its revenue forecasts?", "What are NVIDIA's revenue forecasts?"),
    ("why?", "why (What did NVIDIA announce at GTC 2026)?"),
    ("What did Apple announce about Siri?", "What did Apple announce about Siri?"),
])
def test_rule_based_rewrite(message: str, expected: str) -> None:
    assert rewrite_follow_up(message, turn("What did NVIDIA announce at GTC 2026?")) == expected


def test_rewrite_without_a_previous_turn_or_names() -> None:
    assert rewrite_follow_up("and what about AMD?", None) == "and what about AMD?"
    # The previous question named nothing: its answer's first source gives the subject.
    prev = turn("what happened with inference spending?", headline="AMD + Samsung: HBM4 for the MI455X")
    assert rewrite_follow_up("when does it ship?", prev) == "when does AMD ship?"
    assert name_spans("What did NVIDIA announce at GTC 2026?") == ["NVIDIA", "GTC 2026"]


def test_follow_up_is_answered_about_the_new_subject_with_the_same_filters(corpus_desk) -> None:
    session = ChatSession(corpus_desk)
    only_seed = Filters(sources=["Clustermind"])
    first = list(session.stream("What is NVIDIA betting on for inference?", filters=only_seed))
    assert first[0].kind == "status" and first[-1].kind == "answer"
    assert not first[-1].answer.refused and "NVIDIA" in first[-1].answer.answer

    events = list(session.stream("and what about AMD?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "status" and kinds[1] == "question" and kinds[-1] == "answer"
    assert events[1].text == "What is AMD betting on for inference?"
    answer = events[-1].answer
    assert not answer.refused
    assert "".join(e.text for e in events if e.kind == "delta") == answer.answer
    assert any("AMD" in c.headline for c in answer.citations)
    assert all(c.source_name == "Clustermind" for c in answer.citations), "filters carried over"
    assert [t.question for t in session.history] == ["What is NVIDIA betting on for inference?",
                                                     "What is AMD betting on for inference?"]
    assert session.history[-1].filters == only_seed

    session.reset()
    assert session.history == []
    assert not session.ask("Which company will supply HBM4 for AMD's MI455X?", filters=Filters()).refused


def test_empty_message_is_a_question_error(corpus_desk) -> None:
    from assistant.pipeline import QuestionError

    with pytest.raises(QuestionError):
        list(ChatSession(corpus_desk).stream("   "))
