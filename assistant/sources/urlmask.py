"""Credentials in feed URLs never reach an output: `mask_url` hides the user:password part and the values of
token/key/secret-like query parameters. The feed list keeps the real URL (the fetch needs it); every place that
prints or shows one goes through here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# Query parameter names whose values are secrets: token, key, apikey, api_key, access_token, secret, password...
_SECRET_PARAM = re.compile(r"(token|key|secret|pass(word|wd)?|auth|sig(nature)?|session|credential)", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def mask_url(url: str) -> str:
    """`https://user:secret@host/feed.xml?token=abc&page=2` -> `https://***@host/feed.xml?token=***&page=2`;
    anything without a scheme (a local feed file's path) comes back as it was."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host: mask by hand
        return re.sub(r"(?<=://)[^/?#@\s]*@", MASK + "@", url)
    if not parts.scheme or "://" not in url:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    query = "&".join(_mask_param(p) for p in parts.query.split("&")) if parts.query else parts.query
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_urls_in(text: str) -> str:
    """Every URL inside a message (an error that names the URL it failed on) masked with `mask_url`."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def _mask_param(param: str) -> str:
    name, eq, value = param.partition("=")
    return f"{name}={MASK}" if eq and value and _SECRET_PARAM.search(name) else param
