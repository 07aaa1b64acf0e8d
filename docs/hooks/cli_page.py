"""MkDocs hook: tidy the CLI page that mkdocs-click generates.

click >= 8.3 marks "no default" with a sentinel (`Sentinel.UNSET`) that mkdocs-click 0.9 prints as the default;
the page shows "none" there instead, as `--help` does (it prints no default at all).
"""

from __future__ import annotations

from typing import Any

UNSET_CELL = "<td><code>Sentinel.UNSET</code></td>"


def on_page_content(html: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    if UNSET_CELL in html:
        html = html.replace(UNSET_CELL, "<td>none</td>")
    return html
