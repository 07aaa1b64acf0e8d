"""Builds the Gradio app over one Newsdesk pipeline and launches it on the configured host and port."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from assistant.config import Settings, offline_environment
from assistant.models import Answer
from assistant.pipeline import Newsdesk


def render_markdown(answer: Answer) -> str:
    """Answer -> markdown for the chat, every piece of source text escaped (it is untrusted HTML)."""
    text = html.escape(answer.answer)
    for c in answer.citations:
        if c.url:
            text = text.replace(f"[{c.n}]", f"[[{c.n}]]({html.escape(c.url, quote=True)})")
    if answer.citations:
        lines = []
        for c in answer.citations:
            head = html.escape(c.headline)
            link = f" — [link]({html.escape(c.url, quote=True)})" if c.url else ""
            lines.append(f"{c.n}. **{head}** — {html.escape(c.issue)} ({c.date or 'date unknown'}){link}")
        text += "\n\n**Sources**\n\n" + "\n".join(lines)
    return text


def build_app(desk: Newsdesk) -> Any:
    import gradio as gr

    def ask(message: str, history: list[dict[str, Any]]) -> Iterator[str]:
        try:
            answer = desk.ask(message)
        except Exception as exc:  # noqa: BLE001 - the chat shows one clear line, never a traceback
            yield f"Sorry: {html.escape(str(exc))}"
            return
        yield render_markdown(answer)

    with gr.Blocks(title="Newsdesk") as demo:
        gr.Markdown("# Newsdesk\nAsk the newsletter archive. Every claim cites its issue and story.")
        gr.ChatInterface(fn=ask, api_name="ask")
    return demo


def launch(settings: Settings) -> None:
    offline_environment()
    desk = Newsdesk(settings)
    build_app(desk).launch(server_name=settings.host, server_port=settings.port)
