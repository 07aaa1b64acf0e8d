"""Follow-ups, history and the streaming chat API (extractive mode, real index)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

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


class ScriptedCondense:
    """A fake chat LLM for the condense step only: replies with fixed text, or raises it when it is an error."""

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def chat(self, messages: list[Any]) -> Any:
        from llama_index.core.llms import ChatMessage, ChatResponse

        self.prompts.append(messages[-1].content)
        if isinstance(self.reply, Exception):
            raise self.reply
        return ChatResponse(message=ChatMessage(role="assistant", content=self.reply))


def llm_session(reply: str | Exception, fake_embedder: Any) -> tuple[ChatSession, ScriptedCondense]:
    from assistant.answer.gate import AnswerGate
    from assistant.answer.llm import LLMAnswerer
    from assistant.answer.verify import Verifier

    llm = ScriptedCondense(reply)
    desk = SimpleNamespace(answerer=LLMAnswerer(llm=llm, verifier=Verifier(embedder=fake_embedder),
                                                gate=AnswerGate(refuse_below=0.45)))
    session = ChatSession(desk)  # type: ignore[arg-type] - standalone() needs only the answerer
    session.history.append(turn("What is NVIDIA betting on for inference?"))
    return session, llm


def test_llm_rewrite_is_used_only_when_it_keeps_the_names(fake_embedder: Any) -> None:
    rules = "What is AMD betting on for inference?"
    session, llm = llm_session('"What is AMD planning for inference chips?"\nextra line', fake_embedder)
    assert session.standalone("and what about AMD?") == "What is AMD planning for inference chips?"
    assert (session.rewritten_by, session.llm_rewrite) == ("llm", "What is AMD planning for inference chips?")
    assert "User: What is NVIDIA betting on for inference?" in llm.prompts[0] and "and what about AMD?" in llm.prompts[0]

    session, _ = llm_session("What is NVIDIA betting on for inference?", fake_embedder)  # dropped "AMD"
    assert session.standalone("and what about AMD?") == rules
    assert session.rewritten_by == "rules" and "refused" in session.rewrite_note
    assert session.llm_rewrite == "What is NVIDIA betting on for inference?"

    session, _ = llm_session(ConnectionError("connection refused"), fake_embedder)
    assert session.standalone("and what about AMD?") == rules
    assert session.rewritten_by == "rules" and session.llm_rewrite is None
    assert "failed" in session.rewrite_note


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
