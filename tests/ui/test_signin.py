"""The admin sign-in's lockout and session logic on a fake clock, the upload guard's part counter and the API
argument checks, without a server (tests/ui/test_hardening.py runs the same against the real app)."""

from __future__ import annotations

import logging
import threading

import pytest

from assistant.ui import apiargs
from assistant.ui.guard import _PartCounter, format_size
from assistant.ui.signin import AdminSessions, SignInError, SignInThrottle, password_matches

SECRET = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def attempt(throttle: SignInThrottle, client: str, password: str, checked: list[str] | None = None) -> object:
    def check() -> bool:
        if checked is not None:
            checked.append(password)
        return password_matches(password, SECRET)

    return throttle.attempt(client, check)


def test_five_wrong_passwords_then_a_doubling_wait_refused_unchecked() -> None:
    clock = Clock()
    throttle = SignInThrottle(after=5, global_after=1000, first=1.0, longest=900.0, clock=clock)
    checked: list[str] = []
    results = [attempt(throttle, "10.0.0.1", f"guess {n}", checked) for n in range(5)]
    assert [r.outcome for r in results] == ["wrong"] * 5  # type: ignore[attr-defined]
    assert results[-1].wait == 1  # type: ignore[attr-defined]
    locked = attempt(throttle, "10.0.0.1", SECRET, checked)  # even the right password is not looked at
    assert locked.outcome == "locked" and locked.message() == "too many wrong passwords; try again in 1 s"  # type: ignore[attr-defined]
    assert len(checked) == 5
    waits = []
    for _ in range(4):  # each further wrong password doubles the wait: 2, 4, 8, 16 s
        clock.now += throttle.wait("10.0.0.1") + 0.01
        waits.append(attempt(throttle, "10.0.0.1", "again").wait)  # type: ignore[attr-defined]
    assert waits == [2, 4, 8, 16]
    assert throttle.wait("10.0.0.2") == 0  # another client is not held back
    assert attempt(throttle, "10.0.0.2", SECRET).ok  # type: ignore[attr-defined]


def test_hammering_after_lockout_gets_at_most_ten_checks_a_minute() -> None:
    clock = Clock()
    throttle = SignInThrottle(after=5, global_after=1000, first=1.0, longest=900.0, clock=clock)
    checked: list[str] = []
    for n in range(5):
        attempt(throttle, "10.0.0.1", f"guess {n}", checked)
    start, per_minute = clock.now, []
    for minute in range(3):
        before = len(checked)
        while clock.now < start + 60 * (minute + 1):  # ten tries a second, for three minutes
            attempt(throttle, "10.0.0.1", "guess", checked)
            clock.now += 0.1
        per_minute.append(len(checked) - before)
    assert max(per_minute) <= 10, per_minute
    assert per_minute[0] >= 3  # not locked for good: the waits are 1, 2, 4, 8, 16, 32 s
    assert sum(per_minute) <= 10


def test_right_password_after_the_wait_signs_in_and_clears_the_count() -> None:
    clock = Clock()
    throttle = SignInThrottle(after=3, global_after=1000, first=5.0, longest=60.0, clock=clock)
    for _ in range(3):
        attempt(throttle, "c", "wrong")
    clock.now += 5.1
    assert attempt(throttle, "c", SECRET).ok  # type: ignore[attr-defined]
    assert [attempt(throttle, "c", "wrong").outcome for _ in range(2)] == ["wrong", "wrong"]  # type: ignore[attr-defined]
    assert throttle.wait("c") == 0


def test_wrong_tries_are_forgotten_only_after_a_quiet_spell_past_the_wait() -> None:
    clock = Clock()
    throttle = SignInThrottle(after=2, global_after=1000, first=10.0, longest=30.0, clock=clock)
    for _ in range(2):
        attempt(throttle, "c", "wrong")
    clock.now += 10.5  # the wait is over, but the count stands: the next wrong one doubles it
    assert attempt(throttle, "c", "wrong").wait == 20  # type: ignore[attr-defined]
    clock.now += 20 + 31  # a quiet spell longer than the longest wait after the wait ended
    assert attempt(throttle, "c", "wrong").wait == 0  # type: ignore[attr-defined]


def test_guessing_from_many_addresses_locks_everyone() -> None:
    clock = Clock()
    throttle = SignInThrottle(after=5, global_after=10, first=1.0, longest=900.0, clock=clock)
    for n in range(10):  # two wrong passwords each from five addresses: no single one is locked
        attempt(throttle, f"10.0.0.{n % 5}", "wrong")
    refused = attempt(throttle, "192.168.1.1", SECRET)
    assert refused.outcome == "locked"  # type: ignore[attr-defined]
    clock.now += 1.1
    assert attempt(throttle, "192.168.1.1", SECRET).ok  # type: ignore[attr-defined]


def test_concurrent_guesses_cannot_slip_past_the_allowance() -> None:
    throttle = SignInThrottle(after=5, global_after=1000, first=30.0, longest=900.0)
    checked: list[str] = []
    barrier = threading.Barrier(50)

    def guess(n: int) -> None:
        barrier.wait()
        for k in range(4):
            attempt(throttle, "127.0.0.1", f"guess {n}/{k}", checked)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checked) == 5  # 200 tries, 5 looked at


def test_a_client_that_keeps_trying_through_the_wait_is_refused_at_the_edge() -> None:
    clock = Clock()
    throttle = SignInThrottle(after=2, global_after=1000, first=10.0, longest=900.0, edge_after=3, clock=clock)
    for _ in range(2):
        attempt(throttle, "c", "wrong")
    assert throttle.flooding("c") == 0  # locked, but a person retrying once still reads the form's answer
    for _ in range(3):
        assert attempt(throttle, "c", SECRET).outcome == "locked"  # type: ignore[attr-defined]
    assert throttle.flooding("c") == pytest.approx(10.0)
    assert throttle.flooding("other") == 0
    clock.now += 10.5
    assert throttle.flooding("c") == 0  # the wait is over: the next try is looked at again
    assert attempt(throttle, "c", "wrong").wait == 20  # type: ignore[attr-defined]
    assert throttle.flooding("c") == 0  # a new wait starts a new count


def test_the_log_names_the_client_never_the_password(caplog: pytest.LogCaptureFixture) -> None:
    throttle = SignInThrottle(after=2, global_after=1000, first=1.0, longest=10.0, clock=Clock())
    with caplog.at_level(logging.DEBUG, logger="assistant.ui.signin"):
        for word in ("hunter2-first", "hunter2-second", "hunter2-third"):
            attempt(throttle, "203.0.113.9", word)
        attempt(throttle, "198.51.100.7", SECRET)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "203.0.113.9: wrong password (1 in a row" in text and "must wait 1 s" in text
    assert "refused unchecked" in text
    assert "hunter2" not in text and SECRET not in text


def test_password_matches_only_the_exact_text() -> None:
    assert password_matches(SECRET, SECRET)
    assert not password_matches(SECRET + " ", SECRET)
    assert not password_matches(12345, "12345") and not password_matches(None, SECRET)
    assert not password_matches("", "") and not password_matches("x", None)


def test_sessions_expire_when_idle_and_end_at_sign_out() -> None:
    clock = Clock()
    sessions = AdminSessions(idle=60.0, cookie="nd_admin_1", clock=clock)
    key, other = "ab" * 32, "cd" * 32
    assert sessions.key_from({"nd_admin_1": key}) == key
    assert sessions.key_from({"nd_admin_1": "not-hex; drop table"}) is None
    assert sessions.key_from({"nd_admin_2": key}) is None
    with pytest.raises(SignInError, match="allow cookies"):
        sessions.grant(None, "c")
    sessions.grant(key, "c")
    sessions.check(key)
    with pytest.raises(SignInError, match="Sign in to the admin tab first"):
        sessions.check(other)  # another browser's key, or none
    with pytest.raises(SignInError, match="Sign in"):
        sessions.check(None)
    clock.now += 59
    sessions.check(key)  # use restarts the idle clock
    clock.now += 59
    assert sessions.valid(key)
    clock.now += 2
    with pytest.raises(SignInError, match="expired after 1 min without use"):
        sessions.check(key)
    assert not sessions.valid(key)  # and it stays gone
    sessions.grant(key, "c")
    assert sessions.revoke(key) and not sessions.valid(key)


@pytest.mark.parametrize(("size", "shown"), [(100, "100 B"), (5 * 1024 * 1024, "5.0 MB"), (5_000_000, "4.8 MB"),
                                             (20 * 1024 * 1024, "20 MB"), (1536, "1.5 KB")])
def test_sizes_read_as_the_upload_widget_prints_them(size: int, shown: str) -> None:
    assert format_size(size) == shown


def test_part_counter_finds_delimiters_split_across_chunks() -> None:
    boundary = b"----WebKitFormBoundaryAbC"
    part = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n\r\nhello\r\n'
    body = part * 3 + b"--" + boundary + b"--\r\n"
    for size in (1, 5, 7, 64, len(body)):
        counter = _PartCounter(boundary)
        for i in range(0, len(body), size):
            counter.feed(body[i:i + size])
        assert counter.parts == 3 and counter.size == len(body), size


@pytest.mark.parametrize(("call", "message"), [
    (lambda: apiargs.text(42, "question", required=True), "question must be text, not a number (42)"),
    (lambda: apiargs.text(None, "question", required=True), "question is missing"),
    (lambda: apiargs.text("  ", "query", required=True), "query is empty"),
    (lambda: apiargs.text(["a"], "since"), "since must be text, not a list of 1"),
    (lambda: apiargs.names({"a": 1}, "source"), "source must be text or a list of texts, not an object"),
    (lambda: apiargs.names(["a", 2], "section"), "section must be text or a list of texts"),
    (lambda: apiargs.whole_number(True, "limit"), "limit must be a whole number, not true/false"),
    (lambda: apiargs.whole_number("lots", "limit"), "limit must be a whole number, not str"),
    (lambda: apiargs.whole_number(2.5, "limit"), "limit must be a whole number, not a number (2.5)"),
    (lambda: apiargs.whole_number(0, "limit"), "limit must be between 1 and 1000, not 0"),
])
def test_api_arguments_of_the_wrong_type_get_one_line(call: object, message: str) -> None:
    with pytest.raises(apiargs.ApiArgumentError) as caught:
        call()  # type: ignore[operator]
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_api_arguments_of_the_right_type_pass() -> None:
    assert apiargs.text(None, "since") == "" and apiargs.text("x", "since") == "x"
    assert apiargs.names(["a", "b"], "source") == ["a", "b"] and apiargs.names("a, b", "source") == "a, b"
    assert apiargs.whole_number("20", "limit") == 20 and apiargs.whole_number(20.0, "limit") == 20
