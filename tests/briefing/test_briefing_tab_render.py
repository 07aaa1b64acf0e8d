"""The Briefing tab's cards (assistant/ui/briefing.py) over a small real index: sources, the "developing" link to
the first coverage, hostile feed text as text, the window choices and their errors. The browser test is
tests/ui/test_briefing_tab.py."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from assistant.config import Settings
from assistant.pipeline import Newsdesk
from tests.briefing import smallindex
from tests.fakes import FakeEmbedder


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Newsdesk:
    settings: Settings = smallindex.build(tmp_path_factory.mktemp("tab"), FakeEmbedder())
    return Newsdesk(settings)


def test_cards_have_sources_developing_links_and_escaped_text(desk: Newsdesk) -> None:
    from assistant.ui.briefing import run_briefing

    html, md = run_briefing(desk, "range", "2026-03-12", "2026-03-18", [])
    parser = Tags()
    parser.feed(html)
    hrefs = [a.get("href") for tag, a in parser.tags if tag == "a"]
    assert html.count('class="nd-card nd-brief-item"') == 4
    assert 'class="nd-developing"' in html and "Developing: first covered 2026-03-02 in Orbit Weekly #1" in html
    assert "https://orbit.example/1/z9" in hrefs and "https://wire.example/tidewell" in hrefs
    assert "https://orbit.example/2/z9-orbit?a=1&b=2" in hrefs
    assert not {"script", "img", "b", "i"} & {tag for tag, _ in parser.tags}
    assert not any((h or "").startswith("javascript:") for h in hrefs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Quokka &lt;b&gt;bold&lt;/b&gt; &amp;" in html
    assert md.startswith("## Briefing: 2026-03-12 to 2026-03-18") and "\\<script\\>alert(1)\\</script\\>" in md
    assert "*Developing: first covered 2026-03-02 in Orbit Weekly \\#1:* [Zephyrix launches" in md


def test_windows_and_source_filter(desk: Newsdesk) -> None:
    from assistant.ui.briefing import run_briefing

    html, _ = run_briefing(desk, "last-issue", None, None, ["Orbit Weekly"])
    assert "Briefing: 2026-03-16 to 2026-03-16 (Orbit Weekly)" in html and html.count("nd-brief-item") == 2
    html, _ = run_briefing(desk, "7d", None, None, [])
    assert "2026-03-12 to 2026-03-18" in html
    with pytest.raises(ValueError, match="pick a From date"):
        run_briefing(desk, "range", None, None, [])
    with pytest.raises(ValueError, match="unknown source 'Nope'"):
        run_briefing(desk, "7d", None, None, ["Nope"])
