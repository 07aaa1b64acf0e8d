"""The web app's plain HTTP routes for briefings: `/briefings.atom` (the Atom feed of daily briefings,
assistant/briefing/atom.py) and `/briefings/<day>.html` (one day's briefing, the feed entries' link).

    GET /briefings.atom                              every source
    GET /briefings.atom?source=Last%20Week%20in%20AI  one source (repeatable)

serve() adds them to the FastAPI app Gradio's launch() built (add_briefing_routes). Any failure is a one-line
text/plain reply: 404 for an unknown source or day, 503 while there is no index.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from assistant.briefing.atom import DAY_PATH, FEED_PATH, FeedCache, day_page
from assistant.errors import NewsdeskError
from assistant.index.errors import IndexMissingError, IndexUnavailableError
from assistant.pipeline import Newsdesk
from assistant.ui.errors import shown_errors

log = logging.getLogger(__name__)
ATOM_TYPE = "application/atom+xml; charset=utf-8"
# The pages hold sanitised HTML only; nothing on them may run or load anything.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff"}


def _fail(failure: shown_errors) -> Any:
    from starlette.responses import PlainTextResponse

    exc = failure.error
    if isinstance(exc, (IndexMissingError, IndexUnavailableError)):
        status = 503
    elif isinstance(exc, NewsdeskError):
        status = 404
    else:
        log.error("briefing route failed: %s", failure.message, exc_info=exc)
        return PlainTextResponse("error: the briefing could not be made (see the server log)", status_code=500)
    return PlainTextResponse(f"error: {failure.message}", status_code=status)


def add_briefing_routes(app: Any, desk: Newsdesk, *, cache: FeedCache | None = None) -> None:
    """Register the routes on a running (or about to run) FastAPI/Starlette app."""
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response

    feeds = cache or FeedCache()

    def briefings_feed(request: Request) -> Response:
        with shown_errors() as failure:  # one line for a feed reader, never a traceback
            body = feeds.get(desk.readers.get(), base_url=str(request.base_url),
                             sources=request.query_params.getlist("source"))
        if failure.error is not None:
            return _fail(failure)
        return Response(body, media_type=ATOM_TYPE, headers={"X-Content-Type-Options": "nosniff"})

    def briefing_page(request: Request) -> Response:
        raw = str(request.path_params.get("day", ""))
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return PlainTextResponse("error: use /briefings/YYYY-MM-DD.html", status_code=404)
        with shown_errors() as failure:
            page = day_page(desk.readers.get(), day, sources=request.query_params.getlist("source"))
        if failure.error is not None:
            return _fail(failure)
        return HTMLResponse(page, headers=PAGE_HEADERS)

    app.add_route(FEED_PATH, briefings_feed, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route(DAY_PATH, briefing_page, methods=["GET", "HEAD"], include_in_schema=False)
