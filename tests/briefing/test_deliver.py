"""Briefing e-mail (assistant/briefing/deliver.py) against a real SMTP server on loopback (aiosmtpd): the message
received has a plain-text and an HTML part with every link; a server that is down, refuses the login or refuses a
recipient is one clear line without the password; STARTTLS against a self-signed certificate."""

from __future__ import annotations

import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from assistant.briefing.brief import Briefing
from assistant.briefing.deliver import DeliveryError, briefing_links, send_briefing
from assistant.config import Settings
from assistant.pipeline import Newsdesk
from tests.briefing import smallindex
from tests.conftest import free_port, run_cli
from tests.fakes import FakeEmbedder
from tests.requires import require

USER, PASSWORD = "briefer", "s3cret-Pa55word!"
REFUSED_DOMAIN = "refused.example"


@dataclass
class Mailbox:
    """What the loopback server received: one entry per DATA (envelope sender, recipients, raw bytes)."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.endswith("@" + REFUSED_DOMAIN):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def last(self) -> EmailMessage:
        assert self.messages, "the server received nothing"
        msg = email.message_from_bytes(self.messages[-1][2], policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server (no TLS) on a free loopback port that takes a login (USER, PASSWORD)."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=_authenticator,
                                                auth_require_tls=False)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return smallindex.build(tmp_path_factory.mktemp("deliver"), FakeEmbedder())


@pytest.fixture(scope="module")
def briefing(settings: Settings) -> Briefing:
    return Newsdesk(settings).brief(since="7d")


def smtp(settings: Settings, port: int, **kw: Any) -> Settings:
    values: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                              "smtp_from": "newsdesk@example.com", "smtp_timeout": 10, **kw}
    return Settings(**{**settings.model_dump(), **values})


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs.extend(v or "" for k, v in attrs if tag == "a" and k == "href")


def parts(msg: EmailMessage) -> tuple[str, str]:
    plain, rich = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and rich is not None, msg.get_content_type()
    return plain.get_content(), rich.get_content()


class TestMessage:
    def test_received_message_has_both_parts_and_every_link(self, briefing: Briefing, settings: Settings,
                                                            smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        send_briefing(briefing, ["team@example.com", "Editor <editor@example.com>"], smtp(settings, port))
        assert len(box.messages) == 1
        sender, rcpts, _raw = box.messages[0]
        assert sender == "newsdesk@example.com" and rcpts == ["team@example.com", "editor@example.com"]
        msg = box.last()
        assert msg.get_content_type() == "multipart/alternative"
        assert msg["Subject"] == f"Newsdesk briefing: {briefing.window}" == \
            "Newsdesk briefing: 2026-03-12 to 2026-03-18"
        plain, rich = parts(msg)
        links = briefing_links(briefing)
        # Every story's link and the developing story's first coverage, http(s) only.
        assert len(links) == 4 and "https://orbit.example/1/z9" in links
        parser = Hrefs()
        parser.feed(rich)
        for link in links:
            assert link in plain, link
            assert link in parser.hrefs, link
        for item in briefing.items:
            assert " ".join(item.headline.split()) in plain
        # The hostile entry: text in both parts, its javascript: link in neither, no markup from it in the HTML.
        assert smallindex.HOSTILE_HEADLINE in plain and "javascript:" not in plain
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rich and "&lt;img src=x onerror=alert(2)&gt;" in rich
        assert not {"script", "img", "b", "i"} & parser.tags, parser.tags
        assert not any(h.lower().startswith("javascript:") for h in parser.hrefs)

    def test_login_over_plain_smtp_when_starttls_is_off(self, briefing: Briefing, settings: Settings,
                                                        smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        send_briefing(briefing, ["team@example.com"], smtp(settings, port, smtp_user=USER, smtp_password=PASSWORD))
        assert len(box.messages) == 1


class TestErrors:
    def test_server_down_is_one_line(self, briefing: Briefing, settings: Settings) -> None:
        port = free_port()  # bound and closed at once: nothing listens there
        with pytest.raises(DeliveryError) as info:
            send_briefing(briefing, ["team@example.com"], smtp(settings, port))
        assert str(info.value) == (f"cannot reach the SMTP server 127.0.0.1:{port}: connection refused "
                                   "(is it running?)")

    def test_refused_login_never_shows_the_password(self, briefing: Briefing, settings: Settings,
                                                    smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        with pytest.raises(DeliveryError) as info:
            send_briefing(briefing, ["team@example.com"],
                          smtp(settings, port, smtp_user=USER, smtp_password=PASSWORD + "-wrong"))
        text = str(info.value)
        assert text.startswith(f"the SMTP server 127.0.0.1:{port} refused the login of 'briefer': 535")
        assert "\n" not in text and PASSWORD not in text and box.messages == []
        assert PASSWORD not in repr(smtp(settings, port, smtp_password=PASSWORD))

    def test_refused_recipient_is_named(self, briefing: Briefing, settings: Settings,
                                        smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        with pytest.raises(DeliveryError) as info:
            send_briefing(briefing, [f"nobody@{REFUSED_DOMAIN}"], smtp(settings, port))
        assert str(info.value) == (f"the SMTP server 127.0.0.1:{port} refused every recipient "
                                   f"(nobody@{REFUSED_DOMAIN}: 550 5.1.1 <nobody@{REFUSED_DOMAIN}>: no such "
                                   "mailbox here); nothing was sent")
        # One of two refused: the other still gets it, and the error says so.
        with pytest.raises(DeliveryError, match=r"refused nobody@refused\.example: 550 .*; sent to ok@example\.com"
                                                r" only"):
            send_briefing(briefing, [f"nobody@{REFUSED_DOMAIN}", "ok@example.com"], smtp(settings, port))
        assert [m[1] for m in box.messages] == [["ok@example.com"]]

    def test_setup_mistakes(self, briefing: Briefing, settings: Settings) -> None:
        with pytest.raises(DeliveryError, match="e-mail is not set up: set NEWSDESK_SMTP_HOST"):
            send_briefing(briefing, ["team@example.com"], settings)
        with pytest.raises(DeliveryError, match="recipient 'not an address' is not an e-mail address"):
            send_briefing(briefing, ["not an address"], smtp(settings, 25))
        with pytest.raises(DeliveryError, match="recipient .* is not an e-mail address"):
            send_briefing(briefing, ["a@example.com\r\nBcc: b@example.com"], smtp(settings, 25))
        with pytest.raises(DeliveryError, match="NEWSDESK_SMTP_USER is set but NEWSDESK_SMTP_PASSWORD is not"):
            send_briefing(briefing, ["team@example.com"], smtp(settings, 25, smtp_user=USER))

    def test_starttls_required_but_not_offered(self, briefing: Briefing, settings: Settings,
                                               smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        with pytest.raises(DeliveryError, match=f"the SMTP server 127.0.0.1:{port} does not offer STARTTLS"):
            send_briefing(briefing, ["team@example.com"], smtp(settings, port, smtp_starttls=True))
        assert box.messages == []


# ---------------------------------------------------------------- STARTTLS with a self-signed certificate
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    require(openssl is not None, "openssl is not installed (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int]]:
    """STARTTLS required before anything else, login only over TLS (aiosmtpd's defaults)."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                                                require_starttls=True, authenticator=_authenticator)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class TestStartTls:
    def test_login_and_send_over_starttls(self, briefing: Briefing, settings: Settings,
                                          certificate: tuple[Path, Path], tls_server: tuple[Mailbox, int]) -> None:
        box, port = tls_server
        trust = ssl.create_default_context(cafile=str(certificate[0]))
        send_briefing(briefing, ["team@example.com"],
                      smtp(settings, port, smtp_starttls=True, smtp_user=USER, smtp_password=PASSWORD),
                      ssl_context=trust)
        plain, rich = parts(box.last())
        assert all(link in plain for link in briefing_links(briefing)) and "<ol>" in rich

    def test_untrusted_certificate_is_one_line(self, briefing: Briefing, settings: Settings,
                                               tls_server: tuple[Mailbox, int]) -> None:
        box, port = tls_server
        with pytest.raises(DeliveryError) as info:  # the system's trust store does not know the self-signed one
            send_briefing(briefing, ["team@example.com"],
                          smtp(settings, port, smtp_starttls=True, smtp_user=USER, smtp_password=PASSWORD))
        assert str(info.value).startswith(f"the certificate of the SMTP server 127.0.0.1:{port} does not verify: "
                                          "self-signed certificate")
        assert PASSWORD not in str(info.value) and box.messages == []

    def test_plain_sending_is_refused_by_a_starttls_server(self, briefing: Briefing, settings: Settings,
                                                           tls_server: tuple[Mailbox, int]) -> None:
        box, port = tls_server
        with pytest.raises(DeliveryError, match=f"the SMTP server 127.0.0.1:{port} refused the sender "
                                                r"'newsdesk@example\.com': 530 .*STARTTLS"):
            send_briefing(briefing, ["team@example.com"], smtp(settings, port))
        assert box.messages == []


# ---------------------------------------------------------------- the CLI, as cron runs it
def cli_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    return {"NEWSDESK_INDEX_DIR": str(settings.index_dir), "NEWSDESK_SMTP_HOST": "127.0.0.1",
            "NEWSDESK_SMTP_PORT": str(port), "NEWSDESK_SMTP_STARTTLS": "false",
            "NEWSDESK_SMTP_FROM": "Newsdesk <newsdesk@example.com>", **extra}


class TestCli:
    def test_brief_email_sends_one_message_to_every_address(self, settings: Settings,
                                                            smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        res = run_cli("brief", "--since", "7d", "--email", "a@example.com", "--email", "b@example.com",
                      env=cli_env(settings, port, NEWSDESK_SMTP_USER=USER, NEWSDESK_SMTP_PASSWORD=PASSWORD))
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == ('Sent "Newsdesk briefing: 2026-03-12 to 2026-03-18" (4 items) to '
                                      "a@example.com, b@example.com.")
        assert [m[1] for m in box.messages] == [["a@example.com", "b@example.com"]]
        plain, rich = parts(box.last())
        assert "Tidewell opens a tidal power station in Orkney" in plain and "https://wire.example/tidewell" in rich

    def test_server_down_and_refused_login_through_the_cli(self, settings: Settings,
                                                           smtp_server: tuple[Mailbox, int]) -> None:
        box, port = smtp_server
        down = free_port()
        res = run_cli("brief", "--since", "7d", "--email", "a@example.com", env=cli_env(settings, down))
        assert res.returncode == 1 and res.stdout == ""
        assert res.stderr.strip() == (f"error: cannot reach the SMTP server 127.0.0.1:{down}: connection refused "
                                      "(is it running?)")
        res = run_cli("brief", "--since", "7d", "--email", "a@example.com",
                      env=cli_env(settings, port, NEWSDESK_SMTP_USER=USER, NEWSDESK_SMTP_PASSWORD="wrong-" + PASSWORD))
        assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert "refused the login of 'briefer'" in res.stderr and PASSWORD not in res.stderr + res.stdout
        assert box.messages == []
