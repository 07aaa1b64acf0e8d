"""Turning retrieved stories into a short briefing with verified citations.

`make_answerer(settings, embedder)` picks the answer mode (extractive by default, or an LLM backend); every
answerer is an `Answerer` (protocol.py): `stream(question, hits, query_vector) -> Iterator[AnswerEvent]` (see
events.py) and `run(...) -> Answer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.answer.events import AnswerEvent, final_answer, stream_answer
from assistant.answer.protocol import Answerer
from assistant.config import AnswerMode, Settings

if TYPE_CHECKING:
    from assistant.answer.extractive import LeadFetcher
    from assistant.answer.gate import NameCounts
    from assistant.embedding import Encoder

__all__ = ["AnswerEvent", "Answerer", "final_answer", "make_answerer", "stream_answer"]


def make_answerer(settings: Settings, embedder: Encoder, *, lead_fetcher: LeadFetcher | None = None,
                  name_counts: NameCounts | None = None, llm: object | None = None) -> Answerer:
    from assistant.answer.extractive import ExtractiveAnswerer
    from assistant.answer.gate import AnswerGate
    from assistant.answer.verify import Verifier, VerifyPolicy

    policy = VerifyPolicy(settings.verify_policy)
    gate = AnswerGate(refuse_below=settings.refuse_below, min_coverage=settings.refuse_min_coverage,
                      min_sentence=settings.refuse_min_sentence, require_type=settings.refuse_require_type,
                      min_name_share=settings.refuse_min_name_share, excuse_known=settings.refuse_excuse_known,
                      name_counts=name_counts)
    verifier = Verifier(embedder=embedder, min_similarity=settings.verify_min_similarity, policy=policy)
    if AnswerMode(settings.answer_mode) is AnswerMode.EXTRACTIVE:
        return ExtractiveAnswerer(embedder=embedder, refuse_below=settings.refuse_below, gate=gate,
                                  verifier=verifier, policy=policy, lead_fetcher=lead_fetcher)
    from assistant.answer.llm import LLMAnswerer

    return LLMAnswerer.from_settings(settings, verifier=verifier, gate=gate, lead_fetcher=lead_fetcher, llm=llm)
