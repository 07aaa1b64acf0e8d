"""Markdown links whose URL holds parentheses (one balanced level, the CommonMark rule)."""
from __future__ import annotations

import pytest

from assistant.sources.newsletter import _IMAGE_LINE_RE, link_text, links_of

WIKI = "https://en.wikipedia.org/wiki/Foo_(bar)"


@pytest.mark.parametrize(("markdown", "text", "links"), [
    (f"[click me]({WIKI}) and !", "click me and !", [WIKI]),
    ("See [Mercury](https://en.wikipedia.org/wiki/Mercury_(planet)) and "
     "[Python](https://en.wikipedia.org/wiki/Python_(programming_language)).",
     "See Mercury and Python.",
     ["https://en.wikipedia.org/wiki/Mercury_(planet)",
      "https://en.wikipedia.org/wiki/Python_(programming_language)"]),
    # The sentence's own closing parenthesis stays outside the URL.
    ("(as [the post](https://example.com/post) says)", "(as the post says)", ["https://example.com/post"]),
    (f"(see [Foo]({WIKI}))", "(see Foo)", [WIKI]),
    (f'[titled]({WIKI} "A title") ok', "titled ok", [WIKI]),
    (f"[angle](<{WIKI}>) ok", "angle ok", [WIKI]),
    # Image links give their alt text and are not story links.
    ("![a chart](https://example.com/img/chart_(v2).png) after", "a chart after", []),
])
def test_links_with_parentheses(markdown: str, text: str, links: list[str]) -> None:
    assert link_text(markdown) == text
    assert links_of(markdown) == links


def test_image_line_with_parentheses_is_an_image_line() -> None:
    assert _IMAGE_LINE_RE.match("![diagram](https://upload.wikimedia.org/Foo_(bar).svg)")
    assert not _IMAGE_LINE_RE.match("![diagram](https://example.com/a.png) and text")
