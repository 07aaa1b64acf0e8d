"""The contract of an answerer: what `Newsdesk` needs to turn a question and its retrieved hits into a cited
Answer. `extractive.ExtractiveAnswerer` (quotes verified sentences; the default) and `llm.LLMAnswerer` (an LLM
writes, each sentence is verified before it is shown) are the two; `make_answerer(settings, embedder)` picks one
from `settings.answer_mode`.

Usage::

    from assistant.answer import Answerer, final_answer, make_answerer

    answerer: Answerer = make_answerer(settings, embedder)
    result = retriever.search("Who supplies HBM4 to NVIDIA?")        # a retrieval.hybrid.SearchResult
    for event in answerer.stream(result.query, result.hits, result.query_vector):
        if event.kind == "delta":
            print(event.text, end="")                  # verified text, never taken back
        elif event.kind == "answer":
            answer = event.answer                      # the whole Answer: citations, refused, suggestions
    answer = answerer.run(result.query, result.hits, result.query_vector)   # the same, without the stream
    assert answer.answer == final_answer(answerer.stream(result.query, result.hits, result.query_vector)).answer
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.answer.events import AnswerEvent
from assistant.records import Answer, ScoredChunk


@runtime_checkable
class Answerer(Protocol):
    """Question + ranked hits in, a cited Answer out; refuses (`Answer.refused`) when the hits cannot answer."""

    def stream(self, question: str, hits: list[ScoredChunk], query_vector: np.ndarray) -> Iterator[AnswerEvent]:
        """The answer as AnswerEvents (assistant/answer/events.py): `delta` events of verified text, then exactly
        one `answer` event carrying the whole Answer, whose text is the deltas joined. `hits` come best first, as
        the retriever ranked them; `query_vector` is the question's embedding (unit norm) from that search."""
        ...

    def run(self, question: str, hits: list[ScoredChunk], query_vector: np.ndarray) -> Answer:
        """The finished Answer: `final_answer(self.stream(question, hits, query_vector))`."""
        ...
