"""Issue #14 item 7: feed credentials masked in every output; `stats --json` embedded_last_run is the last write
run's own count. In-process CLI (CliRunner) with the hashed-words fake encoder, feeds on 127.0.0.1."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.sources.feedlist import FeedList
from assistant.sources.urlmask import mask_url, mask_urls_in
from tests.conftest import SEED_DIR
from tests.feedserver import FeedServer
from tests.test_refresh import item, rss

SECRETS = ("hunter2secret", "tok3nvalue", "k3yvalue", "ap1keyvalue")


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:hunter2secret@host.example/feed.xml", "https://***@host.example/feed.xml"),
    ("https://host.example/feed.xml?token=tok3nvalue&page=2", "https://host.example/feed.xml?token=***&page=2"),
    ("https://host.example/f?key=k3yvalue", "https://host.example/f?key=***"),
    ("https://host.example/f?apikey=ap1keyvalue#top", "https://host.example/f?apikey=***#top"),
    ("https://host.example/feed.xml", "https://host.example/feed.xml"),
    ("corpus/feeds/local.xml", "corpus/feeds/local.xml"),
])
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert mask_urls_in(f"redirect to {url} refused") == f"redirect to {shown} refused"


@pytest.fixture
def cli(tmp_path: Path, fake_embedder, monkeypatch: pytest.MonkeyPatch):
    from assistant.cli.main import main
    from assistant.embedding.encoder import Embedder

    monkeypatch.setattr(Embedder, "from_settings", classmethod(lambda cls, s, **kw: fake_embedder))
    env = {"NEWSDESK_FEEDS_FILE": str(tmp_path / "feeds.opml"), "NEWSDESK_INDEX_DIR": str(tmp_path / "index"),
           "NEWSDESK_FETCH_ALLOW": "127.0.0.1", "NEWSDESK_FEED_TIMEOUT": "2", "NEWSDESK_FEED_RETRIES": "0"}
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), env=env)


def _clean(result) -> str:  # noqa: ANN001 - click's Result
    seen = result.stdout + result.stderr
    assert not any(secret in seen for secret in SECRETS), seen
    return seen


def test_feed_credentials_never_printed(tmp_path: Path, cli) -> None:
    with FeedServer() as srv:
        good = srv.add_file("/good.xml?token=tok3nvalue&page=1",  # the server keys files by path and query
                            rss("Grid News", [item(1, "Batteries stored the evening peak.")]))
        good = good.replace("http://", "http://reader:hunter2secret@")
        gone = srv.url("/gone.xml") + "?key=k3yvalue"
        moved = srv.url("/moved.xml") + "?apikey=ap1keyvalue"
        srv.routes["/moved.xml?apikey=ap1keyvalue"] = lambda h: h.reply(  # "redirect loop: URL -> URL"
            302, headers={"Location": "/moved.xml?apikey=ap1keyvalue"})
        for url in (good, gone, moved):
            added = cli("feeds", "add", url)
            assert added.exit_code == 0 and "***" in _clean(added)
        assert "already listed" in _clean(cli("feeds", "add", good))
        # The stored feed list keeps the real URL: the fetch needs it.
        assert [f.url for f in FeedList.load(tmp_path / "feeds.opml").feeds] == [good, gone, moved]

        for args in (["refresh"], ["refresh", "--json"], ["refresh", "--force"]):
            res = cli(*args)
            assert res.exit_code == 0 and "failed" in _clean(res)
        data = json.loads(cli("refresh", "--json").stdout.strip().splitlines()[-1])
        assert [f["status"] for f in data["feeds"]][0] in ("ok", "not modified") and data["failed"] == 2

    listed = cli("feeds", "list")
    assert listed.exit_code == 0 and "***" in _clean(listed)
    rows = json.loads(_clean(cli("feeds", "list", "--json")))["feeds"]
    assert rows[0]["url"].startswith("http://***@127.0.0.1:") and rows[0]["url"].endswith("?token=***&page=1")
    assert rows[1]["status"] == "failed" and rows[1]["error"]
    assert rows[2]["error"].startswith("redirect loop: http://127.0.0.1:") and "apikey=***" in rows[2]["error"]
    assert _clean(cli("feeds", "remove", good + "x")).count("***") >= 1


def test_stats_embedded_last_run_is_the_last_write_runs(tmp_path: Path, cli) -> None:
    folder = tmp_path / "issues"
    folder.mkdir()
    shutil.copy(SEED_DIR / "000_31baea9013c4bfac.txt", folder / "seed.txt")

    assert cli("ingest", str(folder)).exit_code == 0
    first = json.loads(cli("stats", "--json").stdout)
    assert first["embedded_last_run"] > 0
    again = cli("ingest", str(folder))
    assert again.exit_code == 0 and "nothing changed" in again.output
    second = json.loads(cli("stats", "--json").stdout)
    assert second["embedded_last_run"] == 0 and second["version"] == first["version"]


def test_admin_feed_list_and_messages_mask_credentials(tmp_path: Path) -> None:
    from assistant.pipeline import Newsdesk
    from assistant.sources.feedlist import FeedSpec
    from assistant.ui import admin
    from tests.conftest import make_settings

    secret_url = "https://reader:hunter2secret@feeds.example/feed.xml?token=tok3nvalue"
    flist = FeedList(path=tmp_path / "feeds.opml", feeds=[FeedSpec(url=secret_url)])
    flist.save()
    settings = make_settings(tmp_path / "index", feeds_file=flist.path, fetch_allow="127.0.0.1")
    desk = Newsdesk(settings)
    assert admin.list_feeds(desk) == [{"name": "", "url": "https://***@feeds.example/feed.xml?token=***"}]
    assert not any(s in admin.feeds_html(desk) for s in SECRETS)
    with pytest.raises(LookupError) as missing:
        admin.remove_feed(desk, secret_url + "x")
    with pytest.raises(admin.FeedCheckError) as refused:  # the fetch policy refuses it: the message names it
        admin.check_feed(settings, "http://u:hunter2secret@127.0.0.1:1/f.xml?apikey=ap1keyvalue")
    for message in (str(missing.value), str(refused.value)):
        assert "***" in message and not any(s in message for s in SECRETS), message
