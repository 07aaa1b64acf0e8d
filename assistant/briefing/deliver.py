"""A briefing by e-mail: one message with a plain-text and an HTML part, sent over SMTP (STARTTLS by default).

    briefing = desk.brief(since="1d")
    send_briefing(briefing, ["team@example.com"], settings)      # NEWSDESK_SMTP_HOST/PORT/USER/PASSWORD/FROM

Both parts carry every link of the briefing (each source's story and each "developing" first coverage; only
http(s) links, as everywhere else). Whatever goes wrong (no server, a refused login, a refused recipient, a
certificate that does not verify) is one `DeliveryError` line naming the server; the password never appears in
it, even when a server echoes what it was sent.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from assistant.briefing.brief import Briefing
from assistant.briefing.render import safe_url, to_html, to_text
from assistant.config import Settings
from assistant.errors import NewsdeskError

DEFAULT_SENDER = "newsdesk@localhost"


class DeliveryError(NewsdeskError, RuntimeError):
    """A briefing e-mail that could not be sent (one line, never the password)."""


def subject_of(briefing: Briefing) -> str:
    what = briefing.window or briefing.title or "the archive"
    return " ".join(f"Newsdesk briefing: {what}".split())


def briefing_links(briefing: Briefing) -> list[str]:
    """Every http(s) link of the briefing, in order, once each (as the renderers write them)."""
    seen: dict[str, None] = {}
    for item in briefing.items:
        urls = [s.url for s in item.sources]
        if item.first_covered:
            urls.append(item.first_covered.url)
        for url in urls:
            link = safe_url(url)
            if link:
                seen.setdefault(link, None)
    return list(seen)


def _with_safe_links(briefing: Briefing) -> Briefing:
    """A copy whose links are the ones a reader may follow: http(s) only, encoded (None otherwise)."""
    items = []
    for item in briefing.items:
        sources = [dataclasses.replace(s, url=safe_url(s.url)) for s in item.sources]
        first = (dataclasses.replace(item.first_covered, url=safe_url(item.first_covered.url))
                 if item.first_covered else None)
        items.append(dataclasses.replace(item, sources=sources, first_covered=first))
    return dataclasses.replace(briefing, items=items)


def plain_text(briefing: Briefing) -> str:
    safe = _with_safe_links(briefing)
    text = to_text(safe)
    developing = [(i.rank, i.first_covered.url) for i in safe.items if i.first_covered and i.first_covered.url]
    if developing:
        text += "\n\nEarlier coverage of developing stories:\n" + "\n".join(f"  {rank}. {url}"
                                                                           for rank, url in developing)
    return text + "\n\n-- \nSent by Newsdesk (newsdesk brief --email).\n"


def html_document(briefing: Briefing) -> str:
    title = html.escape(subject_of(briefing))
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
            f"<body>{to_html(briefing)}\n<p><small>Sent by Newsdesk.</small></p></body></html>\n")


def _address(value: str, what: str) -> str:
    text = value.strip()
    _name, addr = parseaddr(text)
    if not addr or "@" not in addr or any(c in text for c in "\r\n") or addr.startswith("@") or addr.endswith("@"):
        raise DeliveryError(f"{what} {value!r} is not an e-mail address")
    return addr


def sender_of(settings: Settings) -> str:
    if settings.smtp_from:
        return _address(settings.smtp_from, "NEWSDESK_SMTP_FROM")
    if settings.smtp_user and "@" in settings.smtp_user:
        return _address(settings.smtp_user, "NEWSDESK_SMTP_USER")
    return DEFAULT_SENDER


def briefing_message(briefing: Briefing, recipients: Iterable[str], *, sender: str) -> EmailMessage:
    """The message: From, To, Subject "Newsdesk briefing: <window>", text/plain + text/html alternatives."""
    to = [_address(r, "recipient") for r in recipients]
    if not to:
        raise DeliveryError("no recipient: give --email ADDRESS")
    msg = EmailMessage()
    msg["Subject"] = subject_of(briefing)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(plain_text(briefing))
    msg.add_alternative(html_document(briefing), subtype="html")
    return msg


def _scrub(text: str, secret: str | None) -> str:
    """The text without the password in any form a server might echo (as sent, base64 of AUTH PLAIN/LOGIN)."""
    if not secret:
        return text
    forms = {secret, base64.b64encode(secret.encode()).decode()}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _reply(exc: smtplib.SMTPResponseException | tuple[int, bytes | str]) -> str:
    code, message = (exc.smtp_code, exc.smtp_error) if isinstance(exc, smtplib.SMTPResponseException) else exc
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def send_message(msg: EmailMessage, settings: Settings, *, ssl_context: ssl.SSLContext | None = None) -> None:
    """Send over SMTP as the settings say. Raises DeliveryError (one line) for every failure."""
    host = (settings.smtp_host or "").strip()
    if not host:
        raise DeliveryError("e-mail is not set up: set NEWSDESK_SMTP_HOST (and NEWSDESK_SMTP_PORT, _USER, "
                            "_PASSWORD, _FROM as your server needs)")
    where = f"SMTP server {host}:{settings.smtp_port}"
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    if settings.smtp_user and not password:
        raise DeliveryError(f"NEWSDESK_SMTP_USER is set but NEWSDESK_SMTP_PASSWORD is not (for the {where})")
    recipients = [a.strip() for a in str(msg["To"]).split(",") if a.strip()]
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"the {where} does not offer STARTTLS; set NEWSDESK_SMTP_STARTTLS=false "
                                        "only for a server on a network you trust")
                smtp.starttls(context=ssl_context or ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user and password:
                smtp.login(settings.smtp_user, password)
            refused = smtp.send_message(msg, from_addr=str(msg["From"]), to_addrs=recipients)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(_scrub(f"the {where} refused the login of {settings.smtp_user!r}: {_reply(exc)}",
                                   password)) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"the {where} does not support this: {' '.join(str(exc).split())} (login over a "
                            "connection without STARTTLS is often refused)") from None
    except smtplib.SMTPRecipientsRefused as exc:
        who = "; ".join(f"{addr}: {_reply(reply)}" for addr, reply in exc.recipients.items())
        raise DeliveryError(_scrub(f"the {where} refused every recipient ({who}); nothing was sent",
                                   password)) from None
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryError(_scrub(f"the {where} refused the sender {exc.sender!r}: {_reply(exc)} "
                                   "(set NEWSDESK_SMTP_FROM)", password)) from None
    except smtplib.SMTPConnectError as exc:
        raise DeliveryError(f"the {where} turned the connection away: {_reply(exc)}") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(_scrub(f"the {where} refused the message: {_reply(exc)}", password)) from None
    except smtplib.SMTPServerDisconnected:
        raise DeliveryError(f"the {where} closed the connection") from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"the certificate of the {where} does not verify: {exc.verify_message}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"STARTTLS with the {where} failed: {exc.reason or exc}") from None
    except socket.gaierror:
        raise DeliveryError(f"cannot find the {where}: unknown host {host!r}") from None
    except TimeoutError:
        raise DeliveryError(f"the {where} did not answer within {settings.smtp_timeout:g} s") from None
    except ConnectionRefusedError:
        raise DeliveryError(f"cannot reach the {where}: connection refused (is it running?)") from None
    except (OSError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DeliveryError(_scrub(f"cannot send through the {where}: {reason}", password)) from None
    if refused:
        who = "; ".join(f"{addr}: {_reply(reply)}" for addr, reply in refused.items())
        sent = [r for r in recipients if r not in refused]
        raise DeliveryError(_scrub(f"the {where} refused {who}; sent to {', '.join(sent)} only", password))


def send_briefing(briefing: Briefing, recipients: Iterable[str], settings: Settings, *,
                  ssl_context: ssl.SSLContext | None = None) -> EmailMessage:
    """Build the briefing's message and send it; returns the message sent."""
    msg = briefing_message(briefing, recipients, sender=sender_of(settings))
    send_message(msg, settings, ssl_context=ssl_context)
    return msg
