"""The file formats of a newsletter issue, before its stories are found: the checks every issue file passes,
bytes to text (UTF-8 or Windows-1252), HTML to the markdown shape the story parser reads, and an e-mail's body.

    raw = read_issue_bytes(path)                # IssueError: wrong type, too large, empty
    text, meta = html_to_markdown(decode_bytes(raw))
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from bs4 import BeautifulSoup

from assistant.errors import NewsdeskError
from assistant.sources.text import html_to_text, normalize_ws

SUPPORTED_SUFFIXES = {".md", ".markdown", ".mdx", ".txt", ".text", ".html", ".htm", ".eml"}
MAX_FILE_BYTES = 20_000_000


class IssueError(NewsdeskError, ValueError):
    """A file that cannot be read as an issue; the message names the reason."""

def read_issue_bytes(path: Path, raw: bytes | None = None) -> bytes:
    """The file's bytes after the checks every issue file passes (type, size, not empty)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IssueError(f"unsupported file type {suffix or '(none)'}")
    if raw is None:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise IssueError(f"file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    if not raw.strip():
        raise IssueError("empty file")
    return raw


def decode_bytes(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise IssueError("binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "cp1252" or "\ufffd" not in text:
            return text
    raise IssueError("cannot decode the file as UTF-8 or Windows-1252 text")


def html_to_markdown(html: str) -> tuple[str, dict[str, object]]:
    """Issue HTML -> the markdown shape parse_markdown_body understands (headings, links, list items)."""
    soup = BeautifulSoup(html, "html.parser")
    meta: dict[str, object] = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    for name in ("article:published_time", "date", "dc.date", "pubdate"):
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            meta["date"] = str(tag.get("content"))
            break
    if "date" not in meta:
        time_tag = soup.find("time")
        if time_tag and time_tag.get("datetime"):
            meta["date"] = str(time_tag.get("datetime"))
    for tag in soup(["script", "style", "noscript", "iframe", "head", "img", "svg", "form"]):
        tag.decompose()
    for anchor in soup.find_all("a"):
        href = str(anchor.get("href") or "")
        label = anchor.get_text(" ", strip=True)
        if href.startswith(("http://", "https://")) and label:
            anchor.replace_with(f"[{label}]({href})")
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for tag in soup.find_all("li"):
        tag.replace_with(f"\n* {tag.get_text(' ', strip=True)}\n")
    for tag in soup.find_all(["p", "div", "br", "tr", "blockquote", "section", "article", "table"]):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    return normalize_ws(soup.get_text()), meta


def email_parts(raw: bytes) -> tuple[str, str, dict[str, object]]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    meta: dict[str, object] = {}
    if msg["subject"]:
        meta["title"] = str(msg["subject"]).strip()
    if msg["date"]:
        try:
            meta["date"] = parsedate_to_datetime(str(msg["date"])).date()
        except (TypeError, ValueError):
            pass
    if msg["from"]:
        meta["from"] = str(msg["from"])
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        raise IssueError("e-mail has no text or HTML body")
    content = part.get_content()
    kind = "html" if part.get_content_type() == "text/html" else "plain"
    return kind, str(content), meta


def html_issue_text(html: str) -> str:
    """Convenience for callers that need the text of an HTML issue without its structure."""
    return html_to_text(html)
