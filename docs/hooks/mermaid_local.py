"""MkDocs hook: serve mermaid from the site itself, on the pages that draw a diagram.

Material loads mermaid from a CDN unless a global `mermaid` already exists, so a page with a mermaid block gets
the vendored copy (docs/assets/javascripts/mermaid.min.js, MIT, see mermaid.LICENSE.txt) as a plain script
before Material's own bundle runs. No page fetches anything from outside the site.
"""

from __future__ import annotations

from typing import Any

from mkdocs.utils import get_relative_url

MERMAID_JS = "assets/javascripts/mermaid.min.js"


def on_page_content(html: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    if 'class="mermaid"' not in html:
        return html
    src = get_relative_url(MERMAID_JS, page.url)
    return f'<script src="{src}"></script>\n{html}'
