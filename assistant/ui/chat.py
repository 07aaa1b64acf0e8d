"""Chat tab (subscribers): streamed cited answers, follow-ups, a sources panel, examples from the index, feedback.

The callbacks are thin adapters over the streaming protocol of assistant/answer/events.py: a ChatSession
(assistant/answer/chat.py) per browser session for the chat, Newsdesk.ask_stream for the stateless /ask API.
`answer_steps` is the only place that turns those events into what the page shows.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answer.chat import ChatSession
from assistant.answer.events import AnswerEvent
from assistant.archive.catalog import CatalogCache
from assistant.pipeline import Newsdesk
from assistant.records import Answer, Filters
from assistant.ui import render
from assistant.ui.errors import shown_errors
from assistant.ui.filters import FilterInputs, filter_inputs, parse_filters

SEARCHING = "_Searching the archive…_"


@dataclass
class Step:
    """One update of the answer being shown: the markdown so far and, on the last step, the Answer."""

    markdown: str
    answer: Answer | None = None


def answer_events(desk: Newsdesk, question: str, *, filters: Filters | None = None,
                  session: ChatSession | None = None, kind: str | None = None) -> Iterator[AnswerEvent]:
    """The answer as AnswerEvents: through the conversation when there is one (follow-ups are rewritten into a
    standalone question), else one stateless question."""
    if session is not None:
        # Filters() rather than None: the widgets show the filters in force, so empty means none (not "as before").
        yield from session.stream(question, filters=filters or Filters(), kind=kind)
        return
    question = desk.check_question(question)
    yield AnswerEvent(kind="status", text="Searching the archive…")
    yield from desk.ask_stream(question, filters=filters, kind=kind)


def answer_steps(desk: Newsdesk, question: str, *, filters: Filters | None = None,
                 session: ChatSession | None = None, kind: str | None = None) -> Iterator[Step]:
    """AnswerEvents -> what the chat shows after each: markdown so far, and the Answer on the last step."""
    shown = ""
    searched = ""
    for event in answer_events(desk, question, filters=filters, session=session, kind=kind):
        if event.kind == "status":
            yield Step(markdown=f"_{render.md_text(event.text)}_")
        elif event.kind == "question":  # a follow-up, rewritten: say what was searched
            searched = f"_Searched for: “{render.md_text(event.text)}”_\n\n"
            yield Step(markdown=searched + SEARCHING)
        elif event.kind == "delta":
            shown += event.text
            yield Step(markdown=searched + render.cited_markdown(shown))  # links come with the final answer
        elif event.kind == "answer" and event.answer is not None:
            yield Step(markdown=searched + render.answer_markdown(event.answer), answer=event.answer)


class ChatSessions:
    """One ChatSession (conversation history) per browser session, the most recent `limit` kept in memory.
    A lock per session: ChatSession handles one message at a time."""

    def __init__(self, desk: Newsdesk, *, limit: int = 1000) -> None:
        self.desk = desk
        self.limit = limit
        self._sessions: OrderedDict[str, tuple[ChatSession, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[ChatSession, threading.Lock]:
        with self._lock:
            entry = self._sessions.pop(key, None) or (ChatSession(self.desk), threading.Lock())
            self._sessions[key] = entry
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
            return entry

    def reset(self, key: str) -> None:
        with self._lock:
            entry = self._sessions.get(key)
        if entry is not None:
            with entry[1]:
                entry[0].reset()


class FeedbackLog:
    """Thumbs up/down, appended as one JSON object per line (question, answer, vote) for the team to read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, *, question: str, answer: str, vote: str, citations: list[dict[str, Any]],
               index_version: str | None) -> None:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "vote": vote,
                 "question": question, "answer": answer, "citations": citations, "index_version": index_version}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)


def _turn(question: str, answer: Answer) -> dict[str, Any]:
    return {"question": question, "answer": answer.answer,
            "citations": [{"n": c.n, "issue": c.issue, "date": c.date, "headline": c.headline, "url": c.url}
                          for c in answer.citations]}


def build_chat_tab(desk: Newsdesk, feedback: FeedbackLog, catalog: CatalogCache) -> dict[str, Any]:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chatbot = gr.Chatbot(
                label="Briefing", elem_id="nd-chatbot", height=520, latex_delimiters=[],
                feedback_options=("Like", "Dislike"), buttons=["copy"],
                placeholder="Ask what the newsletters and feeds covered. Every sentence cites its source.")
            with gr.Row():
                box = gr.Textbox(show_label=False, placeholder="Ask a question…", elem_id="nd-question",
                                 scale=6, lines=1, max_lines=4, autofocus=True)
                ask_btn = gr.Button("Ask", variant="primary", elem_id="nd-ask", scale=1, min_width=80)
                new_btn = gr.Button("New chat", elem_id="nd-new-chat", scale=1, min_width=100)
            with gr.Accordion("Filters", open=False, elem_id="nd-chat-filters"):
                filters = filter_inputs(prefix="chat")
                # Which tool answers: "auto" routes by the question (assistant/routing.py).
                kind_choice = gr.Dropdown(choices=["auto", "fact", "first_coverage", "every_issue", "count",
                                                   "evolution"], value="auto", label="Answer as",
                                          elem_id="nd-kind")
        with gr.Column(scale=2, min_width=320):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.sources_panel(None), elem_id="nd-sources")
    turns = gr.State({})  # assistant message index -> the turn, for feedback
    sessions = ChatSessions(desk)

    def respond(question: str, history: list[dict[str, Any]], turns: dict[Any, Any], since: Any, until: Any,
                sources: Any, sections: Any, kind: Any, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        question = " ".join((question or "").split())
        history = list(history or [])
        if not question:
            yield history, gr.skip(), turns, ""
            return
        history += [{"role": "user", "content": render.md_text(question)},
                    {"role": "assistant", "content": SEARCHING}]
        index = len(history) - 1
        # The box is cleared once, at once; later steps leave it alone so a next question typed while this
        # answer streams is kept.
        yield history, gr.skip(), turns, ""
        session, lock = sessions.get(_session_key(request))
        with shown_errors() as failure:  # the chat shows one clear line, never a traceback
            parsed = parse_filters(FilterInputs(since, until, sources, sections))
            with lock:
                for step in answer_steps(desk, question, filters=parsed, session=session,
                                         kind=kind if isinstance(kind, str) else None):
                    history[index] = {"role": "assistant", "content": step.markdown}
                    if step.answer is None:
                        yield history, gr.skip(), turns, gr.skip()
                    else:
                        turns = {**turns, index: _turn(question, step.answer)}
                        yield history, render.sources_panel(step.answer), turns, gr.skip()
        if failure.error is not None:
            history[index] = {"role": "assistant", "content": "Sorry: " + render.md_text(failure.message)}
            yield history, render.sources_panel(None, note="No sources."), turns, gr.skip()

    def on_example(history: list[dict[str, Any]], turns: dict[Any, Any], since: Any, until: Any, sources: Any,
                   sections: Any, kind: Any, evt: gr.SelectData, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        # Gradio passes the event data positionally after the inputs, so the filters are spelled out here.
        text = evt.value.get("text", "") if isinstance(evt.value, dict) else str(evt.value)
        yield from respond(text, history, turns, since, until, sources, sections, kind, request)

    def on_like(turns: dict[Any, Any], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = turns.get(index) or turns.get(str(index))  # State may round-trip int keys as strings
        if turn is None or data.liked in ("", None):
            return
        vote = "up" if data.liked is True else "down" if data.liked is False else str(data.liked)
        feedback.record(question=turn["question"], answer=turn["answer"], vote=vote,
                        citations=turn["citations"], index_version=desk.store.current())
        gr.Info("Thanks: your feedback was recorded.")

    def new_chat(request: gr.Request) -> tuple[Any, ...]:
        sessions.reset(_session_key(request))
        return [], render.sources_panel(None), {}, ""

    inputs = [box, chatbot, turns, *filters.components, kind_choice]
    outputs = [chatbot, sources, turns, box]
    for trigger in (box.submit, ask_btn.click):
        # A question asked while the previous answer still streams must run next, not be dropped (gradio's
        # default "once" ignores it; a slower machine made that visible in CI).
        trigger(respond, inputs, outputs, api_visibility="private", show_progress="minimal",
                trigger_mode="always_last")
    chatbot.example_select(on_example, [chatbot, turns, *filters.components, kind_choice], outputs,
                           api_visibility="private")
    chatbot.like(on_like, [turns], None, api_visibility="private")
    # Through the queue: the API guard (guard.py) answers 404 to /run/predict, which queue=False events use.
    new_btn.click(new_chat, None, outputs, api_visibility="private")
    chatbot.clear(new_chat, None, outputs, api_visibility="private")

    def on_load() -> tuple[Any, ...]:
        cat = catalog.get(desk.readers)
        return (gr.Chatbot(examples=[{"text": q} for q in cat.examples] or None),
                *filters.choices_update(cat))

    return {"load": (on_load, [chatbot, *filters.menus])}


def _session_key(request: gr.Request | None) -> str:
    return str(getattr(request, "session_hash", None) or "default")

