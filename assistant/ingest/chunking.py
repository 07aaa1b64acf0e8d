"""Stories -> Chunks: one chunk per story unless it exceeds the model window, then sentence windows."""

from __future__ import annotations

from collections.abc import Iterable

from assistant.records import Chunk, Story, content_hash
from assistant.sources.text import split_sentences

# all-MiniLM-L6-v2 reads 256 word pieces; news English averages ~1.3 pieces per word, so 170 words fit.
DEFAULT_MAX_WORDS = 170
DEFAULT_OVERLAP_SENTENCES = 1


def date_int(value: str | None) -> int:
    """"2026-03-18" -> 20260318; 0 for unknown dates so numeric filters keep working."""
    if not value:
        return 0
    return int(value[:10].replace("-", ""))


def _windows(sentences: list[str], *, max_words: int, overlap: int) -> list[list[str]]:
    windows: list[list[str]] = []
    cur: list[str] = []
    words = 0
    for sentence in sentences:
        n = len(sentence.split())
        if cur and words + n > max_words:
            windows.append(cur)
            cur = cur[-overlap:] if overlap else []
            words = sum(len(s.split()) for s in cur)
        cur.append(sentence)
        words += n
    if cur and (not windows or cur != windows[-1][-len(cur):]):
        windows.append(cur)
    return windows


def _sentences_by_line(body: str) -> list[str]:
    """The body's sentences, each that opens a line of the body marked with a leading newline, so a window keeps
    the story's line breaks: a "Related:" link list does not run into the paragraph after it."""
    out: list[str] = []
    for line in body.split("\n"):
        for i, sentence in enumerate(split_sentences(line)):
            out.append("\n" + sentence if i == 0 else sentence)
    return out


def _join(window: list[str]) -> str:
    return " ".join(window).replace(" \n", "\n").lstrip("\n")


def chunk_story(story: Story, *, max_words: int = DEFAULT_MAX_WORDS,
                overlap: int = DEFAULT_OVERLAP_SENTENCES) -> list[Chunk]:
    iso = story.date.isoformat() if story.date else None
    body = story.body.strip()
    if len(f"{story.headline} {body}".split()) <= max_words:
        texts = [story.text]
    else:
        # Each window repeats the headline so a chunk found alone still says what story it belongs to.
        budget = max(40, max_words - len(story.headline.split()))
        texts = [f"{story.headline}\n" + _join(w) for w in
                 _windows(_sentences_by_line(body), max_words=budget, overlap=overlap)]
    chunks = []
    for i, text in enumerate(texts):
        chunks.append(Chunk(
            chunk_id=f"{story.story_id}:{i}",
            story_id=story.story_id,
            chunk_index=i,
            text=text,
            content_hash=content_hash(text, story.issue_title, iso or "", story.section, story.url or "",
                                      story.source_name, "\n".join(story.links)),
            issue_id=story.issue_id,
            issue_title=story.issue_title,
            headline=story.headline,
            section=story.section,
            story_index=story.index,
            date=iso,
            date_int=date_int(iso),
            url=story.url,
            source_kind=story.source_kind.value,
            source_name=story.source_name,
            links=story.links,
            # Not part of the content hash: a retag should not cost an embedding.
            author=story.author,
            tags=story.tags,
        ))
    return chunks


def chunk_stories(stories: Iterable[Story], **kwargs: int) -> list[Chunk]:
    out: list[Chunk] = []
    for story in stories:
        out.extend(chunk_story(story, **kwargs))
    return out
