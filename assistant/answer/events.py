"""The streaming protocol every answer path speaks (extractive, LLM, chat), for the CLI and the web app.

A stream is a sequence of `AnswerEvent`s:

- `status`: a progress line ("Searching the archive…"); show it, then replace it with the answer text.
- `question`: the standalone question that was actually searched (chat follow-ups are rewritten); `text`.
- `delta`: text to append to the answer shown so far. Deltas are already verified: a sentence is only
  streamed once its citation has been checked, so nothing shown is taken back later.
- `answer`: the last event, always present: the complete `Answer` (`event.answer`); its `answer.answer`
  equals the concatenation of the deltas, and it carries the citations (renumbered [1], [2], ... in order of
  first use), `refused`, `unsupported_dropped` and `suggestions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from assistant.records import Answer

EventKind = Literal["status", "question", "delta", "answer"]


@dataclass
class AnswerEvent:
    kind: EventKind
    text: str = ""
    answer: Answer | None = None
    raw: str = ""  # on the answer event of an LLM stream: what the model wrote, before verification


def stream_answer(answer: Answer) -> Iterator[AnswerEvent]:
    """A finished Answer as a stream: one delta per cited sentence, then the answer itself."""
    for piece in re.split(r"(?<=\])(?=\s)", answer.answer):
        if piece:
            yield AnswerEvent(kind="delta", text=piece)
    yield AnswerEvent(kind="answer", answer=answer)


def final_answer(events: Iterator[AnswerEvent]) -> Answer:
    """Drain a stream and return its Answer."""
    answer: Answer | None = None
    for event in events:
        if event.kind == "answer":
            answer = event.answer
    if answer is None:  # pragma: no cover - every stream ends with an answer event
        raise RuntimeError("the answer stream ended without an answer")
    return answer
