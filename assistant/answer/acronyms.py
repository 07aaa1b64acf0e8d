"""What an acronym stands for: the questions that ask it, and the sentences that define it.

"What does the acronym of DARPA's TRACTOR program stand for?" is answered by "Translating All C TO Rust
(TRACTOR)", a headline that shares one word with the question and scores 0.36 against it: a sentence cosine cannot
tell a definition from a mention. A definition has a shape, though, and finding it is the classic
abbreviation-definition test (Schwartz & Hearst, PSB 2003): the short form in parentheses next to a long form
whose words start with its letters, in order.

    acronyms_asked("What does MUM stand for?")                        # ["MUM"]
    defines("Translating All C TO Rust (TRACTOR)", "TRACTOR")         # True
    defines("Can DARPA's TRACTOR Pull C to Rust?", "TRACTOR")         # False
    chunk_defines(hit.chunk, acronyms_asked(question))                # the story's headline or text defines one
"""

from __future__ import annotations

import re

from assistant.records import Chunk

# The question asks for an expansion: "stand for", "short for", "what is the acronym/abbreviation ... for".
_ASKS = re.compile(r"\b(?:stands?|stood) for\b|\bshort for\b|\b(?:acronym|abbreviation|initialism)\b", re.IGNORECASE)
# A short form: two to ten letters or digits, at least two of them capitals, starting with a capital ("TRACTOR",
# "MUM", "KEP", "gRPC" does not start with one and is a name, not an acronym).
_SHORT = re.compile(r"\b[A-Z][A-Za-z0-9]{1,9}\b")
_WORD = re.compile(r"[A-Za-z0-9]+")
_EXTRA_WORDS = 5  # a long form may hold this many more words than the short form has letters ("of", "the", ...)


def acronyms_asked(question: str) -> list[str]:
    """The short forms whose expansion the question asks for ([] for any other question)."""
    if not _ASKS.search(question):
        return []
    found = [m.group(0) for m in _SHORT.finditer(question) if sum(ch.isupper() for ch in m.group(0)) >= 2]
    return list(dict.fromkeys(found))


def defines(text: str, short: str) -> bool:
    """Whether `text` defines `short`: "Long Form (SHORT)" or "SHORT (Long Form)", the long form's words starting
    with the short form's first letter and holding its letters in order."""
    escaped = re.escape(short)
    for m in re.finditer(rf"\(\s*{escaped}\s*\)", text):
        words = _WORD.findall(text[: m.start()])[-(len(short) + _EXTRA_WORDS):]
        if _spells(short, words):
            return True
    for m in re.finditer(rf"\b{escaped}\s*\(([^()]{{3,200}})\)", text):
        if _spells(short, _WORD.findall(m.group(1))):
            return True
    return False


def chunk_defines(chunk: Chunk, shorts: list[str]) -> bool:
    """Whether the story's headline or text defines one of the short forms."""
    text = f"{chunk.headline}\n{chunk.text}"
    return any(defines(text, short) for short in shorts)


def _spells(short: str, words: list[str]) -> bool:
    """Some tail of `words` starts with the short form's first letter and holds all its letters in order, each
    word contributing at least its first letter (Schwartz & Hearst's match, word-initial)."""
    letters = [ch.lower() for ch in short if ch.isalnum()]
    for start in range(len(words) - 1, -1, -1):
        tail = words[start:]
        if tail[0][0].lower() != letters[0]:
            continue
        if _in_order(letters, " ".join(w.lower() for w in tail)) and len(tail) <= len(letters) + _EXTRA_WORDS:
            return True
    return False


def _in_order(letters: list[str], text: str) -> bool:
    pos = 0
    for ch in letters:
        pos = text.find(ch, pos)
        if pos < 0:
            return False
        pos += 1
    return True
