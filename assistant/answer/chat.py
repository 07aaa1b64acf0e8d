"""Conversations: follow-up questions, history, and the streaming API that `newsdesk chat` and the web app use.

Follow-ups ("and what about AMD?" after "What did NVIDIA announce at GTC?") are rewritten into a standalone
question before retrieval: with an LLM backend through a condense prompt (checked: the rewrite must keep the
names the follow-up mentions, otherwise the rule-based rewrite is used), without one by rules over the previous
turn's names: a new name replaces the previous question's subject; a pronoun ("when does it ship?") is replaced
by it. The previous turn's filters carry over unless the caller passes new ones.

Use from a UI (one ChatSession per browser session; not thread-safe, one question at a time):

    session = ChatSession(desk)
    for event in session.stream("What did NVIDIA announce at GTC?", filters=None, as_of=None):
        if event.kind == "status":      show event.text as a transient status line
        elif event.kind == "question":  the standalone question searched (differs from what was typed)
        elif event.kind == "delta":     append event.text to the answer shown (already verified)
        elif event.kind == "answer":    event.answer: the final Answer (text == the deltas joined, citations,
                                        refused, unsupported_dropped, suggestions); the turn is now in history
    session.history  -> list[Turn]; session.reset() starts over.

Errors are raised before the first delta where possible: QuestionError (bad question), LLMError (the LLM server
failed; one line), IndexMissingError (no index yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from assistant.answer.events import AnswerEvent, final_answer
from assistant.answer.llm import LLMError
from assistant.records import Answer, Filters
from assistant.terms import STOPWORDS, TOKEN_RE, names_in, tokens

SEARCHING = "Searching the archive…"
# "and what about AMD?", "what about AMD", "how about AMD?", "same for AMD", "and AMD?", "and for AMD?"
FOLLOW_UP_RE = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|and|but|so|also|then)[\s,]+)*(?:(?:what|how)\s+about|what\s+of|same\s+(?:for|with|about)"
    r"|and\s+for|and\s+with|and|also|as\s+for|regarding)\b\s*(?P<subject>.*?)[\s?.!]*$", re.I)
QUESTION_START_RE = re.compile(r"^(what|how|why|when|where|who|which|is|are|was|were|did|does|do|will|can|could|"
                               r"should|has|have|had)\b", re.I)
PRONOUN_RE = re.compile(r"\b(it|its|it's|they|them|their|this|that|these|those|he|him|his|she|her)\b", re.I)
_POSSESSIVE = {"its", "their", "his", "her"}


@dataclass
class Turn:
    message: str        # what the user typed
    question: str       # the standalone question that was searched
    answer: Answer
    filters: Filters | None = None
    names: list[str] = field(default_factory=list)  # name spans of the question, in order ("NVIDIA", "GTC 2026")


def name_spans(text: str) -> list[str]:
    """Runs of consecutive name tokens as written: "What did NVIDIA announce at GTC 2026?" -> NVIDIA, GTC 2026.
    Punctuation between two names ends a run ("AMD + Samsung: HBM4" -> AMD, Samsung, HBM4)."""
    names = names_in(text)
    spans: list[str] = []
    current: list[str] = []
    last_end = 0
    for match in TOKEN_RE.finditer(text):
        tok = tokens(match.group(0))[0] if tokens(match.group(0)) else match.group(0)
        joined = not text[last_end: match.start()].strip()
        if current and not joined:
            spans.append(" ".join(current))
            current = []
        if tok.lower() in names or (current and re.fullmatch(r"\d+(?:\.\d+)*", tok)):
            current.append(tok)
        elif current:
            spans.append(" ".join(current))
            current = []
        last_end = match.end()
    if current:
        spans.append(" ".join(current))
    return spans


def _replace_first(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", lambda _m: new, text, count=1)


def rewrite_follow_up(message: str, previous: Turn | None) -> str:
    """The rule-based rewrite (no LLM). Returns the message unchanged when it stands on its own."""
    message = " ".join(message.split())
    if previous is None:
        return message
    subject_prev = previous.names[0] if previous.names else ""
    if not subject_prev:
        # The previous question named nothing; its answer's first source usually does.
        cited = previous.answer.citations[0].headline if previous.answer.citations else ""
        subject_prev = (name_spans(cited) or [""])[0]
    match = FOLLOW_UP_RE.match(message)
    subject = match.group("subject").strip() if match else ""
    if subject and not QUESTION_START_RE.match(subject):
        if subject_prev and _replace_first(previous.question, subject_prev, subject) != previous.question:
            return _replace_first(previous.question, subject_prev, subject)
        return f"{previous.question.rstrip(' ?.')}: {subject}?"
    words = [t for t in tokens(message) if t.lower() not in STOPWORDS]
    pronoun = PRONOUN_RE.search(message)
    if pronoun and not name_spans(message) and subject_prev:
        word = pronoun.group(1)
        replacement = f"{subject_prev}'s" if word.lower() in _POSSESSIVE or word.lower() == "it's" else subject_prev
        if word.lower() == "it's":
            replacement = f"{subject_prev} is"
        return message[: pronoun.start()] + replacement + message[pronoun.end():]
    if len(words) <= 2 and not name_spans(message):
        # "why?", "when?", "any numbers?": too short to search alone; keep the previous question's topic.
        return f"{message.rstrip(' ?.')} ({previous.question.rstrip(' ?.')})?"
    return message


class ChatDesk(Protocol):
    """What a ChatSession uses of the desk (`Newsdesk` is one): the question check, the answer stream, and the
    answerer, whose `condense(history, message)` (LLM backends only) rewrites a follow-up."""

    @property
    def answerer(self) -> object: ...

    def check_question(self, question: str) -> str: ...

    def ask_stream(self, question: str, *, filters: Filters | None = None, as_of: date | None = None,
                   kind: str | None = None) -> Iterator[AnswerEvent]: ...


class ChatSession:
    """One conversation over a Newsdesk. See the module docstring for the streaming protocol."""

    def __init__(self, desk: ChatDesk, *, max_turns: int = 20) -> None:
        if max_turns < 1:
            raise ValueError("max_turns must be >= 1")
        self.desk = desk
        self.max_turns = max_turns
        self.history: list[Turn] = []
        # How the last `standalone` question was made: "" (no previous turn), "llm" (the condense prompt) or
        # "rules" (no LLM backend, or its rewrite failed or was refused: `rewrite_note` says which).
        # `llm_rewrite` is what the model replied (None when it was not asked or failed).
        self.rewritten_by = ""
        self.rewrite_note = ""
        self.llm_rewrite: str | None = None

    def reset(self) -> None:
        self.history.clear()

    def standalone(self, message: str) -> str:
        """The question to search for `message`, given the history."""
        previous = self.history[-1] if self.history else None
        rule_based = rewrite_follow_up(message, previous)
        condense = getattr(self.desk.answerer, "condense", None)
        self.rewritten_by, self.rewrite_note, self.llm_rewrite = ("rules" if previous else ""), "", None
        if previous is None or condense is None:
            self.rewrite_note = "no LLM backend" if previous else ""
            return rule_based
        try:
            condensed = condense([(t.question, t.answer.answer) for t in self.history], message)
        except LLMError as exc:  # a failed condense step falls back to the rules, never to an error
            self.rewrite_note = f"the LLM rewrite failed: {exc}"
            return rule_based
        self.llm_rewrite = condensed
        wanted = {n.lower() for n in name_spans(message)}
        got = condensed.lower()
        if not condensed or len(condensed) > 3 * max(len(rule_based), 40) or any(w not in got for w in wanted):
            self.rewrite_note = f"the LLM rewrite was refused (empty, too long or dropped a name): {condensed!r}"
            return rule_based
        self.rewritten_by = "llm"
        return condensed

    def stream(self, message: str, *, filters: Filters | None = None,
               as_of: date | None = None, kind: str | None = None) -> Iterator[AnswerEvent]:
        """Answer one message: status, question (when rewritten), verified deltas, then the Answer.
        `filters=None` keeps the previous turn's filters; pass `Filters()` to clear them."""
        message = self.desk.check_question(message)
        yield AnswerEvent(kind="status", text=SEARCHING)
        question = self.standalone(message)
        if question != message:
            yield AnswerEvent(kind="question", text=question)
        if filters is None and self.history:
            filters = self.history[-1].filters
        for event in self.desk.ask_stream(question, filters=filters, as_of=as_of, kind=kind):
            if event.kind == "answer" and event.answer is not None:
                # Recorded before the answer is handed out: a caller may stop reading right after it.
                self.history.append(Turn(message=message, question=question, answer=event.answer,
                                         filters=filters, names=name_spans(question)))
                del self.history[: -self.max_turns]
            yield event

    def ask(self, message: str, *, filters: Filters | None = None, as_of: date | None = None) -> Answer:
        return final_answer(self.stream(message, filters=filters, as_of=as_of))
