"""The outbound fetch policy (assistant/sources/netpolicy.py) against real HTTP servers on loopback.

The servers stand in for what a hostile feed points at: 127.0.0.1 is the local admin port, a second server on
127.0.0.2 plays an internal host. Every refusal test also asserts that the server saw no request, so a check
that only looked at the URL text and connected anyway fails here. Names are resolved by stubs: one replaces
the policy's resolver, the rebinding test replaces socket.getaddrinfo itself, so that a second lookup by any
code on the way to connect() would get the inward answer and reach the server."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.sources import netpolicy
from assistant.sources.feedlist import FeedSpec
from assistant.sources.feedread import OK, read_feed
from assistant.sources.feedstate import FeedMemo
from assistant.sources.fetch import Fetcher, FetchError
from tests.feedserver import FeedServer, Handler, _Server

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
UA = "Newsdesk-test/1.0 (+https://example.org/newsdesk)"
HINT = "(set NEWSDESK_FETCH_ALLOW to allow it)"
ARTICLE = ("<html><body><article><h1>Harbour</h1><p>" + "The harbour authority approved the new ferry terminal "
           "after a long debate about its cost and the traffic it brings to the old town. " * 6
           + "</p></article></body></html>").encode()

# Spellings of the local host, each refused before the server at 127.0.0.1 sees a request (`http://HOST:PORT/`).
LOOPBACK_FORMS = {
    "127.0.0.1": "127.0.0.1 is a loopback address",
    "127.1": "127.1 (127.0.0.1) is a loopback address",                 # short form
    "2130706433": "2130706433 (127.0.0.1) is a loopback address",       # one decimal number
    "0177.0.0.1": "0177.0.0.1 (127.0.0.1) is a loopback address",       # octal
    "0x7f.1": "0x7f.1 (127.0.0.1) is a loopback address",               # hex, short
    "0x7f000001": "0x7f000001 (127.0.0.1) is a loopback address",       # one hex number
    "127.0.0.1.": "127.0.0.1. (127.0.0.1) is a loopback address",       # trailing dot
    "%31%32%37.0.0.1": "127.0.0.1 is a loopback address",               # percent-encoded
    "127.255.255.254": "127.255.255.254 is a loopback address",         # anywhere in 127/8
    "0": "0 (0.0.0.0) is an unspecified address",                       # 0.0.0.0 reaches the local host
    "0.0.0.0": "0.0.0.0 is an unspecified address",
    "[::]": ":: is an unspecified address",
    "[::1]": "::1 is a loopback address",
    "[0:0:0:0:0:0:0:1]": "0:0:0:0:0:0:0:1 (::1) is a loopback address",
    "[::ffff:127.0.0.1]": "embeds 127.0.0.1, a loopback address",       # IPv4-mapped
    "[::ffff:7f00:1]": "embeds 127.0.0.1, a loopback address",
    "[64:ff9b::7f00:1]": "embeds 127.0.0.1, a loopback address",        # NAT64
    "[2002:7f00:1::1]": "embeds 127.0.0.1, a loopback address",         # 6to4
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]": "embeds 127.0.0.1, a loopback address",  # Teredo client
    "[::127.0.0.1]": "::7f00:1) is a reserved address",                 # IPv4-compatible (deprecated)
    "localhost": "which is a loopback address",                         # the system resolver's answer
}
# Inward addresses without a server behind them: refused without a connection attempt (no timeout).
INWARD_FORMS = {
    "10.0.0.1": "a private address", "172.16.5.4": "a private address", "192.168.1.1": "a private address",
    "169.254.169.254": "a link-local address",                          # cloud metadata
    "100.64.0.1": "a shared (carrier-grade NAT) address", "198.18.0.1": "a private address",
    "224.0.0.1": "a multicast address", "240.0.0.1": "a reserved address",
    "255.255.255.255": "a reserved address", "192.0.0.8": "192.0.0.8 is ",
    "[fe80::1]": "a link-local address", "[fe80::1%25eth0]": "a link-local address",
    "[fc00::1]": "a private address", "[fd12:3456::1]": "a private address",   # unique-local
    "[fec0::1]": "a site-local address", "[ff02::1]": "a multicast address", "[ff0e::1]": "a multicast address",
    "[::ffff:10.0.0.1]": "embeds 10.0.0.1, a private address",
    "[::ffff:169.254.169.254]": "embeds 169.254.169.254, a link-local address",
    "[2002:a9fe:a9fe::]": "embeds 169.254.169.254, a link-local address",
}
# Public-looking names and what a (stubbed) resolver answers for them.
NAMES = {
    "intranet.example": (["10.1.2.3"], "intranet.example resolves to 10.1.2.3, which is a private address"),
    "metadata.example": (["169.254.169.254"], "resolves to 169.254.169.254, which is a link-local address"),
    "v6only.example": (["::1"], "resolves to ::1, which is a loopback address"),
    "mapped.example": (["::ffff:127.0.0.1"], "which embeds 127.0.0.1, a loopback address"),
    "mixed.example": (["93.184.216.34", "127.0.0.1"], "resolves to 127.0.0.1, which is a loopback address"),
}


class HostServer(FeedServer):
    """A FeedServer on another loopback address or on a chosen port."""

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__()
        self._server.server_close()
        self._server = _Server((host, port), Handler)
        self._server.owner = self
        # poll_interval: shutdown() waits up to one interval; the default 0.5 s cost ~20 s a run of the fast tier.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="feedserver", daemon=True)
        self.host = host

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def fetcher(allow: str = "") -> Fetcher:
    return Fetcher(user_agent=UA, timeout=2, max_bytes=100_000, retries=0, allow=allow)


def stub_resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Replace the policy's resolver: `answers` for these names, no DNS for any other. Returns the lookups."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[netpolicy.IPAddress]:
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "stub resolver: unknown name")
        import ipaddress

        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(netpolicy, "resolve_host", resolve)
    return asked


@pytest.fixture()
def server():
    with FeedServer() as srv:
        srv.add_file("/feed.xml", FEED)
        yield srv


@pytest.fixture()
def inside():
    """The "internal host": a server on 127.0.0.2 that must never be reached."""
    with HostServer("127.0.0.2") as srv:
        srv.add_file("/secret", b"internal")
        yield srv


class TestFetchPolicy:
    # ------------------------------------------------------------ address forms

    @pytest.mark.parametrize("host", list(LOOPBACK_FORMS))
    def test_loopback_spellings_are_refused_before_connecting(self, server: FeedServer, host: str) -> None:
        with fetcher() as f, pytest.raises(FetchError) as info:
            f.get(f"http://{host}:{server.port}/feed.xml")
        message = str(info.value)
        assert message.startswith("refused: ") and message.endswith(HINT) and "\n" not in message
        assert LOOPBACK_FORMS[host] in message, message
        assert server.requests == []

    @pytest.mark.parametrize("host", list(INWARD_FORMS))
    def test_inward_addresses_are_refused_without_a_connection(self, host: str) -> None:
        started = time.monotonic()
        with fetcher() as f, pytest.raises(FetchError, match="^refused: ") as info:
            f.get(f"http://{host}/latest/meta-data/")
        assert INWARD_FORMS[host] in str(info.value) and str(info.value).endswith(HINT)
        assert time.monotonic() - started < 1.0  # no connect attempt (the timeout is 2 s)

    @pytest.mark.parametrize("name", list(NAMES))
    def test_names_resolving_inward_are_refused(self, monkeypatch: pytest.MonkeyPatch, server: FeedServer,
                                                name: str) -> None:
        answers, expected = NAMES[name]
        asked = stub_resolver(monkeypatch, {name: answers})
        with fetcher() as f, pytest.raises(FetchError, match="^refused: ") as info:
            f.get(f"http://{name}:{server.port}/feed.xml")
        assert expected in str(info.value) and asked == [name]
        assert server.requests == []

    def test_public_addresses_pass_the_check(self) -> None:
        policy = netpolicy.NetPolicy.from_allow("")
        for text in ("93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822",
                     "2002:5db8:d822::1"):
            assert policy.refusal(netpolicy.ip_literal(text)) is None, text  # type: ignore[arg-type]
        assert netpolicy.ip_literal("example.org") is None and netpolicy.ip_literal("1.2.3.4.5") is None
        assert netpolicy.ip_literal("256.1.1.1") is None and netpolicy.ip_literal("08.1.1.1") is None

    # ------------------------------------------------------------ redirects

    def test_redirect_from_an_allowed_server_to_an_inward_address_is_refused_at_the_hop(
            self, monkeypatch: pytest.MonkeyPatch, server: FeedServer, inside: HostServer) -> None:
        stub_resolver(monkeypatch, {"internal.example": ["127.0.0.2"]})
        targets = {"/to-ip": inside.url("/secret"), "/to-hex": f"http://0x7f.0.0.2:{inside.port}/secret",
                   "/to-mapped": f"http://[::ffff:127.0.0.2]:{inside.port}/secret",
                   "/to-name": f"http://internal.example:{inside.port}/secret",
                   "/to-metadata": "http://169.254.169.254/latest/meta-data/"}
        for path, target in targets.items():
            server.routes[path] = lambda h, t=target: h.reply(302, headers={"Location": t})
        server.routes["/hop1"] = lambda h: h.reply(301, headers={"Location": "/hop2"})
        server.routes["/hop2"] = lambda h: h.reply(307, headers={"Location": "/to-name"})
        with fetcher(allow="127.0.0.1/32") as f:
            assert f.get(server.url("/feed.xml")).body == FEED  # the allowed server itself is fine
            for path, target in [*targets.items(), ("/hop1", targets["/to-name"])]:
                with pytest.raises(FetchError) as info:
                    f.get(server.url(path))
                message = str(info.value)
                assert message.startswith(f"redirect to {target} refused: ") and message.endswith(HINT), message
        assert inside.requests == []
        assert [p for p, _ in server.requests].count("/hop2") == 1  # followed up to the refused hop

    # ------------------------------------------------------------ full text

    def test_full_text_links_to_loopback_are_not_fetched(self, tmp_path: Path, server: FeedServer,
                                                         inside: HostServer) -> None:
        """A full-text feed (a local file, which stays allowed) whose entries link to the local host."""
        links = [server.url("/a1"), f"http://2130706433:{server.port}/a2", f"http://[::1]:{server.port}/a3",
                 f"http://localhost:{server.port}/a4", f"http://0x7f.0.0.2:{inside.port}/secret"]
        for n in range(1, 5):
            server.add_file(f"/a{n}", ARTICLE)
        items = "".join(f"<item><guid>g{n}</guid><title>Story {n}</title><link>{link}</link>"
                        f"<description>Teaser {n}.</description></item>" for n, link in enumerate(links))
        feed = tmp_path / "f.xml"
        feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>{items}</channel></rss>')
        spec = FeedSpec(url=str(feed), full_text=True)
        settings = Settings(index_dir=tmp_path / "index", fetch_allow="")
        with Fetcher.from_settings(settings) as f:
            read = read_feed(spec, feed_id=spec.feed_id, base_dir=tmp_path, memo=FeedMemo(), fetcher=f,
                             settings=settings)
        assert read.outcome.status == OK and read.outcome.entries == 5 and read.outcome.full_text == 5
        refused = [line for line in read.outcome.skipped if "refused: " in line]
        assert len(refused) == 5, read.outcome.skipped
        assert server.requests == [] and inside.requests == []
        assert read.parsed is not None and all(e.story.body.startswith("Teaser") for e in read.parsed.entries)

    def test_full_text_feed_over_http_fetches_allowed_pages_only(self, tmp_path: Path, server: FeedServer,
                                                                 inside: HostServer) -> None:
        """The feed and one article on an allowed host (127.0.0.2), the other articles on the local host."""
        server.add_file("/a1.html", ARTICLE)
        inside.add_file("/ok.html", ARTICLE)
        links = [inside.url("/ok.html"), server.url("/a1.html"), f"http://127.1:{server.port}/a1.html"]
        items = "".join(f"<item><guid>g{n}</guid><title>Story {n}</title><link>{link}</link>"
                        f"<description>Teaser {n}.</description></item>" for n, link in enumerate(links))
        url = inside.add_file("/f.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>'
                                        f"{items}</channel></rss>".encode())
        spec = FeedSpec(url=url, full_text=True)
        settings = Settings(index_dir=tmp_path / "index", fetch_allow="127.0.0.2")
        with Fetcher.from_settings(settings) as f:
            read = read_feed(spec, feed_id=spec.feed_id, base_dir=tmp_path, memo=FeedMemo(), fetcher=f,
                             settings=settings)
        assert read.outcome.status == OK and read.outcome.full_text == 3
        assert len(inside.hits("/ok.html")) == 1 and server.requests == []
        assert read.parsed is not None
        bodies = [e.story.body for e in read.parsed.entries]
        assert "ferry terminal" in bodies[0] and bodies[1:] == ["Teaser 1.", "Teaser 2."]
        assert sum("refused: " in line for line in read.outcome.skipped) == 2

    # ------------------------------------------------------------ allow-list

    def test_allow_list_lets_a_network_or_a_host_through(self, monkeypatch: pytest.MonkeyPatch,
                                                         server: FeedServer) -> None:
        stub_resolver(monkeypatch, {"feeds.corp.example": ["127.0.0.1"], "evilcorp.example": ["127.0.0.1"],
                                    "localhost": ["127.0.0.1"]})
        url = server.url("/feed.xml")
        port = server.port
        for allow in ("127.0.0.0/8", "127.0.0.1", "10.0.0.0/8, 127.0.0.1/32", "127.0.0.0/24"):
            with fetcher(allow) as f:
                assert f.get(url).body == FEED, allow
        with fetcher("localhost") as f:  # a host name lets that name through, not its address
            assert f.get(f"http://localhost:{port}/feed.xml").body == FEED
            with pytest.raises(FetchError, match="refused: 127.0.0.1 is a loopback"):
                f.get(url)
        with fetcher("*.corp.example") as f:
            assert f.get(f"http://feeds.corp.example:{port}/feed.xml").body == FEED
            with pytest.raises(FetchError, match="refused: evilcorp.example resolves to 127.0.0.1"):
                f.get(f"http://evilcorp.example:{port}/feed.xml")
        with fetcher("10.0.0.0/8") as f, pytest.raises(FetchError, match="refused: "):
            f.get(url)
        assert len(server.hits("/feed.xml")) == 6

    def test_the_setting(self, monkeypatch: pytest.MonkeyPatch, server: FeedServer) -> None:
        monkeypatch.delenv("NEWSDESK_FETCH_ALLOW", raising=False)
        assert Settings().fetch_allow == ""  # the default allows nothing inward
        with Fetcher.from_settings(Settings()) as f, pytest.raises(FetchError, match="refused: "):
            f.get(server.url("/feed.xml"))
        monkeypatch.setenv("NEWSDESK_FETCH_ALLOW", "10.0.0.0/8, 127.0.0.1 ,intranet.example")
        with Fetcher.from_settings(Settings()) as f:
            assert f.get(server.url("/feed.xml")).status == 200
        assert Settings(fetch_allow=["10.0.0.0/8", "intranet.example"]).fetch_allow == "10.0.0.0/8,intranet.example"
        for bad in ("10.0.0.0/33", "http://intranet.example/", "a b"):
            monkeypatch.setenv("NEWSDESK_FETCH_ALLOW", bad)
            with pytest.raises(netpolicy.AllowListError, match=f"^NEWSDESK_FETCH_ALLOW: '{bad}' is neither"):
                Fetcher.from_settings(Settings())

    def test_https_keeps_the_host_name_for_sni_and_the_certificate(self, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
        """The connection goes to the checked address, TLS still speaks to and verifies the name."""
        if shutil.which("openssl") is None:
            pytest.skip("needs the openssl command to make a certificate")
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "2", "-subj", "/CN=feeds.test", "-addext",
                        "subjectAltName=DNS:feeds.test"], check=True, capture_output=True)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx's TLS context trusts it (trust_env)
        stub_resolver(monkeypatch, {"feeds.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        names: list[str | None] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc]
        with FeedServer() as srv:
            srv._server.socket = context.wrap_socket(srv._server.socket, server_side=True)
            srv.add_file("/feed.xml", FEED)
            with fetcher(allow="feeds.test,other.test") as f:
                assert f.get(f"https://feeds.test:{srv.port}/feed.xml").body == FEED
                with pytest.raises(FetchError, match="certificate|hostname"):
                    f.get(f"https://other.test:{srv.port}/feed.xml")  # the certificate is not for this name
            with fetcher() as f, pytest.raises(FetchError, match="refused: feeds.test resolves to 127.0.0.1"):
                f.get(f"https://feeds.test:{srv.port}/feed.xml")
        assert names[:2] == ["feeds.test", "other.test"] and len(srv.hits("/feed.xml")) == 1

    # ------------------------------------------------------------ DNS rebinding

    def test_dns_rebinding_never_reaches_the_private_address(self, monkeypatch: pytest.MonkeyPatch,
                                                             inside: HostServer) -> None:
        """rebind.example answers 127.0.0.2 (standing in for a public address: allowed), then 127.0.0.1 to
        every later lookup. The private server listens on the same port, so a second lookup between the check
        and connect() would reach it."""
        with HostServer("127.0.0.1", inside.port) as private:
            private.add_file("/feed.xml", b"private")
            inside.add_file("/feed.xml", FEED)
            real = socket.getaddrinfo
            answers: list[str] = []

            def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
                if host != "rebind.example":
                    return real(host, port, *args, **kwargs)
                answers.append("127.0.0.2" if not answers else "127.0.0.1")
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

            monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
            url = f"http://rebind.example:{inside.port}/feed.xml"
            with fetcher(allow="127.0.0.2") as f:
                assert f.get(url).body == FEED
                assert answers == ["127.0.0.2"]  # one lookup for the check and the connection
                for _ in range(3):  # later connections: each resolves again and is refused
                    with pytest.raises(FetchError, match="refused: rebind.example resolves to 127.0.0.1"):
                        f.get(url)
            assert private.requests == [] and len(inside.hits("/feed.xml")) == 1
