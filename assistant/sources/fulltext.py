"""Optional full text: fetch an entry's article page and keep its main text (trafilatura), for feeds whose
entries carry only a teaser. Enabled per feed (`newsdesk feeds add URL --full-text`)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.sources.fetch import PAGE_ACCEPT, Fetcher, FetchError
from assistant.sources.isolation import UnreadableInput, hostile_input
from assistant.sources.text import normalize_ws

MIN_WORDS = 40   # less than this is a cookie wall, a paywall stub or a nav page, not the article


@dataclass
class FullText:
    text: str | None
    reason: str = ""   # why there is no text, one line


def extract_main_text(html: bytes | str, *, url: str | None = None) -> str | None:
    """The article's main text without navigation, ads, comments or scripts; None when there is none."""
    import trafilatura

    if not html:
        return None
    try:  # a hostile page must cost one entry its full text, nothing more
        with hostile_input():
            text = trafilatura.extract(html, url=url, output_format="txt", include_comments=False,
                                       include_tables=False, include_images=False, favor_precision=True,
                                       deduplicate=True)
    except UnreadableInput:
        return None
    if not text:
        return None
    text = normalize_ws(text)
    return text if len(text.split()) >= MIN_WORDS else None


def fetch_full_text(fetcher: Fetcher, url: str) -> FullText:
    """Fetch one article page politely and extract its main text. Entry links come from the feed's author, so
    the page is fetched only through the Fetcher: its address policy (netpolicy.py) refuses loopback, private
    and link-local targets, redirects included, and the refusal becomes the reason."""
    try:
        result = fetcher.get(url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        return FullText(None, str(exc))
    kind = (result.content_type or "").lower()
    if kind and "html" not in kind and "xml" not in kind:
        return FullText(None, f"not an HTML page ({kind.split(';')[0]})")
    text = extract_main_text(result.body, url=result.final_url)
    if text is None:
        return FullText(None, "no article text found on the page")
    return FullText(text)
