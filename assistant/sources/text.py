"""Text helpers shared by every source: HTML to clean text, sentences, and sponsor/footer detection."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from bs4 import BeautifulSoup, CData, Comment, Declaration, Doctype, ProcessingInstruction

# Tags whose content never belongs in the index.
_DROP_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "svg", "form", "template", "head")
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section",
               "article", "pre", "table", "ul", "ol", "hr")

# Phrases that mark sponsor, promo and footer material in newsletters. Matched case-insensitively on one line.
PROMO_PATTERNS = (
    r"\btry our\b",
    r"\bsponsored by\b",
    r"\bpresented by\b",
    r"\btogether with\b.*\bsponsor",
    r"\b(sign up|subscribe) (now|today|for free|here)\b",
    r"\bforward (it|this) to\b",
    # "Allow useQuery to unsubscribe from the query cache" and "X, in partnership with Y, launched ..." are news.
    r"^\W*unsubscribe\b|\b(?:click|tap)(?: here)? to unsubscribe\b|\b(?:you can|here to) unsubscribe\b"
    r"|\bunsubscribe (?:here|now|at any time)\b",
    r"\bupdate your preferences\b",
    r"\bview (it )?in (your )?browser\b",
    r"\badvertise (with|in) us\b",
)
FOOTER_PATTERNS = (
    r"^that'?s (it|all) for (today|this week|now)\b",
    r"^thanks for reading\b",
    r"^see (you|ya) (next|tomorrow)\b",
    r"^see ya\W*$",
    r"^until next (time|week)\b",
)
_PROMO_RE = re.compile("|".join(PROMO_PATTERNS), re.IGNORECASE)
_FOOTER_RE = re.compile("|".join(FOOTER_PATTERNS), re.IGNORECASE)
# The masthead line: the newsletter itself, as the line's subject, "is edited/curated/written by" ("This Week in
# Rust is edited by: ...", "*This newsletter is written by ..."). The subject is a name (capitalised words, with
# "in"/"of"/... between them) or "this/our newsletter"; a story sentence that merely says "code is written by
# Copilot" or "text is written by ChatGPT" (Last Week in AI #201, #249) is news, not the end of the issue.
_NAME_WORD = r"[A-Z0-9][\w'’.&+-]*"
_MASTHEAD_RE = re.compile(
    r"^[\W_]*(?:(?:[Tt]his|[Oo]ur|[Tt]he)(?: [\w'’-]+)? (?:newsletter|issue|digest|edition)"
    rf"|{_NAME_WORD}(?: (?:{_NAME_WORD}|in|of|on|for|the|a|an|and|&)){{0,5}})"
    r" is (?:edited|curated|written) by\b")
_WS_RE = re.compile(r"[ \t\u00a0]+")
_MANY_NL_RE = re.compile(r"\n{3,}")


def normalize_ws(text: str) -> str:
    lines = [_WS_RE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _MANY_NL_RE.sub("\n\n", "\n".join(lines)).strip()


_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_WIDGET_CLASSES = ("feedflare", "sharedaddy", "share-buttons", "jp-relatedposts")


def _is_hidden(tag: Any) -> bool:
    attrs = getattr(tag, "attrs", None)
    if not attrs:
        return False
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if _HIDDEN_STYLE_RE.search(str(attrs.get("style", ""))):
        return True
    classes = attrs.get("class") or []
    return any(c in _WIDGET_CLASSES for c in (classes if isinstance(classes, list) else str(classes).split()))


def html_to_text(html: str) -> str:
    """Untrusted HTML -> plain text. Scripts, styles, images (tracking pixels) and comments are dropped."""
    if not html or "<" not in html:
        return normalize_ws(html or "")
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for tag in soup(["img", "picture", "video", "audio", "source"]):
        tag.decompose()
    # Hidden text (email preheaders, "display:none" trackers) and share widgets (FeedBurner's feedflare) are
    # never what the reader saw.
    for tag in soup.find_all(_is_hidden):
        if not tag.decomposed:
            tag.decompose()
    # Comments, and the CDATA/declaration debris hostile feeds nest in HTML (`<![CDATA[<script>]]>`).
    for comment in soup.find_all(string=lambda s: isinstance(s, (Comment, CData, Declaration, Doctype,
                                                                 ProcessingInstruction))):
        comment.extract()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return normalize_ws(soup.get_text())


def is_promo(line: str) -> bool:
    """A sponsor or promo line: a call to action rather than news."""
    stripped = line.strip()
    if not stripped:
        return False
    if stripped.endswith(("→", "->", "»")) and len(stripped.split()) <= 25:
        return True
    return bool(_PROMO_RE.search(stripped)) and len(stripped.split()) <= 40


# Paid placements that carry no call to action are labelled instead: a "Sponsor(s)" heading, or the money-with-
# wings emoji some newsletters (This Week In React) put before a sponsored link.
_SPONSOR_LABEL_RE = re.compile(r"^[\s*+-]*\U0001F4B8|^\W*(sponsors?|sponsored( links?| content)?|advertisement)\W*$",
                               re.IGNORECASE)


def is_sponsor_label(text: str) -> bool:
    """A heading or list item that marks a sponsor block ("💸 Sponsor", "Sponsors", "- 💸 [Acme](...)")."""
    return bool(_SPONSOR_LABEL_RE.search(text.strip()))


def is_footer(line: str) -> bool:
    """The first line of an issue's sign-off; everything after it is footer and ads."""
    stripped = line.strip()
    return bool(_FOOTER_RE.search(stripped) or _MASTHEAD_RE.match(stripped))


def starts_with_symbol(line: str) -> bool:
    """Emoji headlines ("🚀 NVIDIA's ...") start with a pictographic symbol."""
    stripped = line.strip()
    return bool(stripped) and unicodedata.category(stripped[0]) in ("So", "Sk", "Cs")


def strip_leading_symbols(text: str) -> str:
    idx = 0
    while idx < len(text) and (unicodedata.category(text[idx]) in ("So", "Sk", "Cs", "Mn", "Cf", "Zs")
                               or text[idx] in "\ufe0f\u200d"):
        idx += 1
    return text[idx:].strip()


@lru_cache(maxsize=1)
def _punkt():  # type: ignore[no-untyped-def]
    # llama-index-core ships punkt_tab; config.offline_environment() points NLTK_DATA at it.
    from nltk.tokenize.punkt import PunktTokenizer

    try:
        return PunktTokenizer("english")
    except (LookupError, OSError):
        return None


_FALLBACK_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'“A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; line breaks always end a sentence (headlines, list items)."""
    out: list[str] = []
    tokenizer = _punkt()
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        parts = tokenizer.tokenize(line) if tokenizer is not None else _FALLBACK_SENT_RE.split(line)
        out.extend(p.strip() for p in parts if p.strip())
    return out


def word_count(text: str) -> int:
    return len(text.split())


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) links are ever made clickable; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c in url for c in "\r\n\t "):
        return None
    # Characters that would end a markdown link target or an HTML attribute are percent-encoded.
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")
