"""Words as Newsdesk counts them: one place for tokenising, stopwords, stemming, names and numbers.

The answer gate, the citation verifier, follow-up rewriting and the coverage engine all ask the same questions of
a text ("which names does it hold? which numbers?"), and the BM25 side must tokenise exactly as its index was
built. Both live here so that they cannot drift apart.

    from assistant.terms import names_in, numbers_in, term_set

    names_in("What did Nvidia announce at GTC 2026?")   # {"nvidia", "gtc"}
    numbers_in("two lawsuits, 1,000 GPUs")               # {"2", "1000"}
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import bm25s

from assistant.sources.text import split_sentences

# The BM25 side's tokenisation (llama-index-retrievers-bm25's BM25Retriever: its default pattern, English
# stopwords and stemmer, lower-cased). Index building, queries and the coverage engine's mention rule all use it.
BM25_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
BM25_STOPWORDS = "en"


def new_stemmer() -> Any:
    """A fresh English stemmer (PyStemmer, as the BM25 side uses): one per writer, since its cache is not shared."""
    import Stemmer

    return Stemmer.Stemmer("english")


def bm25_tokenize(texts: list[str], stemmer: Any, *, return_ids: bool = True) -> Any:
    """`bm25s.tokenize` with the index's settings: a Tokenized (ids + vocab), or lists of strings."""
    return bm25s.tokenize(texts, stopwords=BM25_STOPWORDS, stemmer=stemmer, token_pattern=BM25_TOKEN_PATTERN,
                          return_ids=return_ids, show_progress=False)


CITATION_RE = re.compile(r"\[\s*((?:sources?\s*)?\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*\]", re.I)
TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-'’_]*[A-Za-z0-9+]|[A-Za-z0-9]")
_NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")

_STOP_TEXT = """
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing done down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our ours
out over own same she should so some such than that the their theirs them then there these they this those through
to too under until up very was we were what when where which while who whom whose why will with would you your
yours ever still much many get got gets make made makes use used uses let lets say said says tell told show shows
new latest recent recently happen happened happening announce announced announces announcement according anything
something thing things way ways kind does did week weeks weekend month months year years today yesterday tomorrow
last past since ago next early late lately current currently now day days january february march april may june
july august september october november december monday tuesday wednesday thursday friday saturday sunday
know news story stories issue issues newsletter newsletters archive cover covered report reported reports
"""
STOPWORDS = frozenset(_STOP_TEXT.split())


def strip_citations(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", CITATION_RE.sub("", text)).strip()


def tokens(text: str) -> list[str]:
    return [t.rstrip("'’").removesuffix("'s").removesuffix("’s") for t in TOKEN_RE.findall(text)]


_SMALL_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                  "sixteen seventeen eighteen nineteen twenty")
# "one" is too often a pronoun to count.
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(_SMALL_NUMBERS.split()) if i >= 2}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                      "ninety": "90", "dozen": "12", "twice": "2", "double": "2", "triple": "3"})
_NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)


def numbers_in(text: str) -> set[str]:
    """Numbers as written, commas dropped ("1,000" == "1000"), number words as digits ("two lawsuits" == "2");
    years included: a wrong year is a wrong claim."""
    text = strip_citations(text)
    found = {n.replace(",", "").rstrip(".") for n in _NUMBER_RE.findall(text)}
    return found | {_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD_RE.findall(text)}


def names_in(text: str) -> set[str]:
    """Proper names and identifiers: capitalised words after the first, all-caps or camel-case words ("OpenAI"),
    words with digits. A sentence's first word is capitalised anyway, so only its shape can make it a name."""
    names: set[str] = set()
    for sentence in split_sentences(strip_citations(text)) or [text]:
        for i, tok in enumerate(tokens(sentence)):
            low = tok.lower()
            if low in STOPWORDS or len(tok) < 2 or _NUMBER_RE.fullmatch(tok):
                continue
            shaped = any(ch.isdigit() for ch in tok) or tok.isupper() or any(ch.isupper() for ch in tok[1:])
            if shaped or (tok[0].isupper() and i > 0):
                names.add(low)
    return names


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    return english_stemmer().stemWord(word)


@lru_cache(maxsize=1)
def english_stemmer():  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer, the same stemmer the BM25 side uses

    return Stemmer.Stemmer("english")


def term_set(text: str) -> set[str]:
    """Lower-cased, stemmed words of a text, plus the parts of hyphenated and dotted identifiers."""
    out: set[str] = set()
    for tok in tokens(text):
        low = tok.lower()
        out.add(low)
        out.add(stem(low))
        for part in re.split(r"[-_.’']", low):
            if part:
                out.add(part)
                out.add(stem(part))
    return out
