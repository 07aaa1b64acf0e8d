from __future__ import annotations

from datetime import date

from assistant.ingest.chunking import chunk_story
from assistant.records import SourceKind, Story


def long_story(body: str) -> Story:
    return Story(story_id="i:0", issue_id="i", issue_title="Issue 1", index=0, headline="Headline here",
                 body=body, section="", date=date(2026, 5, 25), url=None, links=[], source_kind=SourceKind.NEWSLETTER,
                 source_name="S")


def test_windows_keep_the_story_s_line_breaks() -> None:
    related = "Related:\n* Another outlet's headline about it\n* A second outlet's headline"
    paragraph = " ".join(f"Sentence number {i} says something about the case." for i in range(40))
    chunks = chunk_story(long_story(f"{related}\n{paragraph}"), max_words=80)
    assert len(chunks) > 2
    first = chunks[0].text.split("\n")
    # The link list stays on its own lines instead of running into the paragraph that follows it.
    assert first[:4] == ["Headline here", "Related:", "* Another outlet's headline about it",
                         "* A second outlet's headline"]
    assert first[4].startswith("Sentence number 0 says")
    # Sentences of one paragraph stay on one line; every window repeats the headline.
    assert all(c.text.startswith("Headline here\n") for c in chunks)
    assert chunks[1].text.count("\n") == 1
