"""Which feed entry is which, and which stories are the same story.

Identity (one entry of one feed over time): its GUID, else its canonical link (tracking parameters stripped),
else a hash of its title and text.

Near-duplicates (one story told by several sources: two feeds, a feed and a newsletter issue): the same
canonical link, or mostly the same wording, or the same headline a few days apart. Items of one source never
match each other by text (a blog's weekly link posts look alike); they are told apart by identity. The
thresholds below were measured on the real feeds and newsletters (see README, "Source feeds").
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from assistant.records import content_hash

# Query parameters that only say where a click came from. Exact names (lower case) and prefixes.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "hsctatracking", "mkt_tok", "ncid", "ocid", "cmpid", "cmp", "xtor", "sr_share",
    "soc_src", "soc_trk", "wt_mc", "wt.mc_id", "s_cid", "ref_src", "ref_url", "spm", "scid", "__twitter_impression",
    "rss", "feature", "at_medium", "at_campaign", "smid",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "wt.", "wt_", "at_", "oly_")
# Fragments that are click tags rather than anchors (`#tk.rss_all`, `#ftag=…`, `#xtor=…`).
_TRACKING_FRAGMENT_RE = re.compile(r"^(tk\.|ftag=|xtor=|rss|utm_|.*\butm_)", re.IGNORECASE)
# `source=rss-...` is Medium's feed tag; elsewhere `source` can be meaningful, so only that form goes.
_MEDIUM_SOURCE_RE = re.compile(r"^rss[-_]", re.IGNORECASE)

# Chinese, Japanese and Korean run words together: each of their characters is a token, other scripts split
# on non-word characters.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD_RE = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+", re.UNICODE)
_CJK_RE = re.compile(f"[{_CJK}]")
# Near-duplicate detection keeps its own short stop list (not assistant/terms.py's): its Unicode word split also
# serves CJK text, and the list was measured with it (precision 40/41 on hand-checked pairs).
_STOP = ("a an and are as at be by for from has have how in into is it its of on or that the this to was were "
         "what when which who why will with you your our we new not but after over about than more can says")
STOPWORDS = frozenset(_STOP.split(" "))

SHINGLE = 4                # words per shingle: long enough that stock phrases rarely collide
TEXT_CONTAINMENT = 0.5     # share of the shorter text's shingles found in the other
MIN_SHINGLES = 12          # texts shorter than this are too short to compare by wording
TITLE_JACCARD = 0.75       # headline token overlap for a headline match
MIN_TITLE_TOKENS = 5       # "Weekly links", "Podcast #12": too short to mean the same story
MAX_DAYS_APART = 4         # a headline or wording match must be published within this many days
MAX_POSTING = 200          # a shingle shared by more stories than this is boilerplate
MAX_LINK_POSTING = 3       # a link shared by more stories than this is a hub


def _is_tracking(name: str, value: str) -> bool:
    low = name.lower()
    if low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES):
        return True
    return low == "source" and bool(_MEDIUM_SOURCE_RE.match(value))


def clean_url(url: str) -> str:
    """The link as shown to readers: tracking parameters removed, everything else as published."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v)]
    fragment = "" if _TRACKING_FRAGMENT_RE.match(parts.fragment) else parts.fragment
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), fragment))


def link_key(url: str | None) -> str | None:
    """A comparison key for links: scheme, `www.`, default ports, trailing slashes, tracking parameters and
    parameter order do not matter. None for anything that is not an http(s) URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/").rstrip("/") or "/"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v))
    # Fragments are kept: some feeds (Scripting News) publish every entry as an anchor of one page.
    fragment = "" if _TRACKING_FRAGMENT_RE.match(parts.fragment) else parts.fragment
    key = host + path
    if query:
        key += "?" + urlencode(query)
    if fragment:
        key += "#" + fragment
    return key


def entry_identity(*, guid: str | None, link: str | None, title: str, text: str) -> str:
    """GUID, else canonical link, else content hash; prefixed so the three kinds never collide."""
    guid = (guid or "").strip()
    if guid:
        return f"guid:{guid}"
    key = link_key(link)
    if key:
        return f"link:{key}"
    return f"hash:{content_hash(title.strip(), text.strip())}"


# ---------------------------------------------------------------- near-duplicates


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD_RE.findall(folded)


def title_tokens(title: str) -> frozenset[str]:
    return frozenset(t for t in _tokens(title)
                     if t not in STOPWORDS and (len(t) > 2 or t.isdigit() or _CJK_RE.match(t)))


def shingles(text: str, *, size: int = SHINGLE) -> frozenset[int]:
    words = _tokens(text)
    if len(words) < size:
        return frozenset()
    return frozenset(zlib.crc32(" ".join(words[i:i + size]).encode("utf-8")) for i in range(len(words) - size + 1))


@dataclass
class Signature:
    """What near-duplicate detection knows about one story."""

    key: str                       # story id
    source: str                    # issue id / feed id: items of one source never match each other
    title: frozenset[str]
    text: frozenset[int]
    link: str | None               # link key of the story's own link (not the links it mentions)
    day: date | None = None

    @classmethod
    def of(cls, *, key: str, source: str, headline: str, body: str, url: str | None,
           day: date | None = None) -> Signature:
        link = link_key(url)
        # A bare home page ("https://example.com/") names a site, not a story.
        if link and link.endswith("/") and link.count("/") == 1:
            link = None
        return cls(key=key, source=source, title=title_tokens(headline), text=shingles(body), link=link, day=day)


@dataclass
class Match:
    key: str       # the story this one duplicates
    reason: str    # "same link", "same text", "same headline"
    score: float


def _days_apart(a: date | None, b: date | None) -> int | None:
    if a is None or b is None:
        return None
    return abs((a - b).days)


def compare(a: Signature, b: Signature) -> Match | None:
    """Is `a` the same story as `b`? Symmetric apart from the key reported."""
    if a.source == b.source:
        return None
    if a.link and a.link == b.link:
        return Match(key=b.key, reason="same link", score=1.0)
    apart = _days_apart(a.day, b.day)
    if apart is not None and apart > MAX_DAYS_APART:
        return None
    small = min(len(a.text), len(b.text))
    if small >= MIN_SHINGLES:
        containment = len(a.text & b.text) / small
        if containment >= TEXT_CONTAINMENT:
            return Match(key=b.key, reason="same text", score=containment)
    if len(a.title) >= MIN_TITLE_TOKENS and len(b.title) >= MIN_TITLE_TOKENS:
        jaccard = len(a.title & b.title) / len(a.title | b.title)
        if jaccard >= TITLE_JACCARD:
            return Match(key=b.key, reason="same headline", score=jaccard)
    return None


def _title_prefix(tokens: frozenset[str]) -> list[str]:
    """Prefix filtering: two token sets with Jaccard >= t share a token among the first |X| - ceil(t|X|) + 1
    tokens of each, in any fixed global order. So only those are indexed and looked up."""
    if len(tokens) < MIN_TITLE_TOKENS:
        return []
    ordered = sorted(tokens, key=lambda t: (zlib.crc32(t.encode("utf-8")), t))
    return ordered[: len(ordered) - math.ceil(TITLE_JACCARD * len(ordered)) + 1]


@dataclass
class DuplicateFinder:
    """Signatures indexed by link, headline-token prefix and shingle, so a lookup compares only plausible
    candidates. `find` returns the best earlier story that `sig` duplicates."""

    sigs: dict[str, Signature] = field(default_factory=dict)
    _by_link: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _by_token: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _by_shingle: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, sig: Signature) -> None:
        self.sigs[sig.key] = sig
        if sig.link:
            self._by_link[sig.link].add(sig.key)
        for tok in _title_prefix(sig.title):
            self._by_token[tok].add(sig.key)
        for sh in sig.text:
            self._by_shingle[sh].add(sig.key)

    def candidates(self, sig: Signature) -> set[str]:
        found: set[str] = set()
        linked = self._by_link.get(sig.link, set()) if sig.link else set()
        # A link that many stories share is a hub (a meetup page, a repository), not one story's address.
        if len(linked) <= MAX_LINK_POSTING:
            found |= linked
        for tok in _title_prefix(sig.title):
            found |= self._by_token.get(tok, set())
        shared: dict[str, int] = defaultdict(int)
        for sh in sig.text:
            posting = self._by_shingle.get(sh)
            # A shingle in hundreds of stories is boilerplate; it says nothing about this pair.
            if posting and len(posting) <= MAX_POSTING:
                for key in posting:
                    shared[key] += 1
        found.update(k for k, n in shared.items() if n >= 3)
        found.discard(sig.key)
        return found

    def find(self, sig: Signature) -> Match | None:
        best: Match | None = None
        for match in self.find_all(sig):
            if best is None or (match.reason == "same link", match.score) > (best.reason == "same link", best.score):
                best = match
        return best

    def find_all(self, sig: Signature) -> list[Match]:
        """Every indexed story that `sig` is the same story as (the same pairwise rule as `find`)."""
        return [m for key in sorted(self.candidates(sig)) if (m := compare(sig, self.sigs[key])) is not None]

    def discard(self, key: str) -> None:
        """Forget a story (it became a link of another); its index postings are skipped from now on."""
        sig = self.sigs.pop(key, None)
        if sig is None:
            return
        if sig.link:
            self._by_link[sig.link].discard(key)
        for tok in _title_prefix(sig.title):
            self._by_token[tok].discard(key)
        for sh in sig.text:
            self._by_shingle[sh].discard(key)


def merge_links(*groups: Iterable[str | None], limit: int = 20) -> list[str]:
    """Links in order of first appearance, one per link key."""
    out: list[str] = []
    seen: set[str] = set()
    for group in groups:
        for link in group:
            if not link:
                continue
            key = link_key(link) or link
            if key in seen:
                continue
            seen.add(key)
            out.append(link)
            if len(out) >= limit:
                return out
    return out
