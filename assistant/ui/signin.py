"""Admin sign-in: a lockout on wrong passwords and sign-ins bound to the browser, with an idle expiry.

Lockout (`SignInThrottle`): each client (its IP address) may get `after` passwords wrong; then it must wait
`first` seconds, doubling with each further wrong password up to `longest`. All clients together have a
second, higher allowance (`global_after`) so that guessing from many addresses slows down too. A client that
must wait is refused at once, before its password is looked at ("too many wrong passwords; try again in N s"):
nothing sleeps in a server thread. Every decision is logged, never the password.

Binding (`AdminSessions`): the browser makes a random key and keeps it in a cookie (`SIGN_IN_JS` runs before
each sign-in and sets a new one); a sign-in grants that key, and every admin action must present it. The key
never travels from the server to the browser, so another client replaying the page's session hash (which the
queue's data stream shares with anyone who knows it) does not have it. A grant ends after `idle` seconds
without an admin action, or at sign-out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from assistant.config import Settings
from assistant.errors import NewsdeskError

log = logging.getLogger(__name__)

GLOBAL = "*all clients*"
MAX_CLIENTS = 10_000  # remembered clients (least recently seen dropped first)
MAX_GRANTS = 1_000
KEY_PATTERN = re.compile(r"[0-9a-f]{32,128}")


class SignInError(NewsdeskError, PermissionError):
    """A sign-in refused or an admin action without a valid sign-in; the message is shown as is."""


@dataclass
class _Tries:
    wrong: int = 0
    last_wrong: float = -math.inf
    locked_until: float = -math.inf
    refused: int = 0  # tries refused unchecked during the current wait


@dataclass(frozen=True)
class Attempt:
    """What one sign-in attempt came to: ok, wrong (the password was checked) or locked (it was not)."""

    outcome: str
    wait: int = 0  # seconds until the next password is looked at, when > 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def checked(self) -> bool:
        return self.outcome != "locked"

    def message(self) -> str:
        if self.outcome == "locked":
            return f"too many wrong passwords; try again in {self.wait} s"
        if self.outcome == "wrong":
            return "Wrong password." + (f" Too many wrong passwords; try again in {self.wait} s."
                                        if self.wait else "")
        return "signed in"


class SignInThrottle:
    """Per-client and global allowances of wrong passwords, then exponential waits. Thread-safe."""

    def __init__(self, *, after: int = 5, global_after: int = 20, first: float = 1.0, longest: float = 900.0,
                 edge_after: int = 10, clock: Callable[[], float] = time.monotonic) -> None:
        self.after = after
        self.edge_after = edge_after
        self.global_after = global_after
        self.first = first
        self.longest = longest
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Tries] = OrderedDict()
        self._global = _Tries()

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInThrottle:
        return cls(after=settings.admin_lockout_after, global_after=settings.admin_global_lockout_after,
                   first=settings.admin_lockout_seconds, longest=settings.admin_lockout_max_seconds)

    def attempt(self, client: str, check: Callable[[], bool]) -> Attempt:
        """Run `check` (the password comparison) unless `client` or everyone must wait; record the result.
        The decision, the check and the record happen under one lock, so concurrent tries cannot slip past."""
        with self._lock:
            now = self._clock()
            tries = self._client(client, now)
            self._forget_old(self._global, now)
            wait = max(tries.locked_until, self._global.locked_until) - now
            if wait > 0:
                tries.refused += tries.locked_until > now
                self._global.refused += self._global.locked_until > now
                log.debug("admin sign-in from %s refused unchecked: locked for %.1f s more", client, wait)
                return Attempt("locked", wait=math.ceil(wait))
            if check():
                self._clients.pop(client, None)
                self._global = _Tries()
                log.info("admin sign-in from %s", client)
                return Attempt("ok")
            client_wait = self._wrong(tries, now, self.after)
            global_wait = self._wrong(self._global, now, self.global_after)
            log.warning("admin sign-in from %s: wrong password (%d in a row from it, %d from all clients)%s",
                        client, tries.wrong, self._global.wrong,
                        f"; it must wait {client_wait:.0f} s" if client_wait else "")
            if global_wait:
                log.warning("admin sign-in locked for every client for %.0f s after %d wrong passwords",
                            global_wait, self._global.wrong)
            return Attempt("wrong", wait=math.ceil(max(client_wait, global_wait)))

    def wait(self, client: str) -> float:
        """Seconds `client` must still wait before a password is looked at (0 when it may try now)."""
        with self._lock:
            now = self._clock()
            tries = self._clients.get(client) or _Tries()
            return max(0.0, max(tries.locked_until, self._global.locked_until) - now)

    def flooding(self, client: str) -> float:
        """The wait, when `client` (or everyone) kept trying through it `edge_after` times: the app then refuses
        its sign-ins before they reach the queue (guard.py). A person who retries once or twice still reads the
        answer in the form; a flood costs the server almost nothing. 0 otherwise."""
        with self._lock:
            now = self._clock()
            tries = self._clients.get(client) or _Tries()
            flood = [t.locked_until - now for t in (tries, self._global)
                     if t.locked_until > now and t.refused >= self.edge_after]
            return max(flood, default=0.0)

    # ------------------------------------------------------------ internals (under the lock)
    def _client(self, client: str, now: float) -> _Tries:
        tries = self._clients.pop(client, None) or _Tries()
        self._forget_old(tries, now)
        self._clients[client] = tries
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)
        return tries

    def _forget_old(self, tries: _Tries, now: float) -> None:
        # Forgotten only after a quiet spell as long as the longest wait, counted from when the wait ended, so
        # sitting out a lockout does not buy a fresh allowance.
        if tries.wrong and now - max(tries.last_wrong, tries.locked_until) > self.longest:
            tries.wrong, tries.locked_until = 0, -math.inf

    def _wrong(self, tries: _Tries, now: float, allowance: int) -> float:
        tries.wrong += 1
        tries.last_wrong = now
        if tries.wrong < allowance:
            return 0.0
        delay = min(self.first * 2.0 ** min(tries.wrong - allowance, 60), self.longest)
        tries.locked_until = now + delay
        tries.refused = 0
        return delay


@dataclass
class _Grant:
    client: str
    created: float
    last_used: float


class AdminSessions:
    """Signed-in browser keys (stored as SHA-256 digests) with an idle expiry. Thread-safe."""

    def __init__(self, *, idle: float, cookie: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle
        self.cookie = cookie
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: OrderedDict[str, _Grant] = OrderedDict()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def key_from(self, cookies: Mapping[str, str] | None) -> str | None:
        key = (cookies or {}).get(self.cookie) or ""
        return key if KEY_PATTERN.fullmatch(key) else None

    def grant(self, key: str | None, client: str) -> None:
        if key is None:
            raise SignInError("this browser sent no sign-in cookie: allow cookies for this site and sign in again")
        now = self._clock()
        with self._lock:
            self._grants[self._digest(key)] = _Grant(client=client, created=now, last_used=now)
            while len(self._grants) > MAX_GRANTS:
                self._grants.popitem(last=False)

    def check(self, key: str | None, *, touch: bool = True) -> None:
        """Raise SignInError unless `key` holds a live grant; `touch` restarts its idle clock."""
        digest = self._digest(key) if key else None
        now = self._clock()
        with self._lock:
            grant = self._grants.get(digest) if digest else None
            if grant is None:
                raise SignInError("Sign in to the admin tab first.")
            if now - grant.last_used > self.idle:
                del self._grants[digest]  # type: ignore[arg-type]
                log.info("admin sign-in from %s expired after %.0f s idle", grant.client, now - grant.last_used)
                raise SignInError(f"Your admin sign-in expired after {_duration(self.idle)} without use; "
                                  "sign in again.")
            if touch:
                grant.last_used = now
                self._grants.move_to_end(digest)  # type: ignore[arg-type]

    def valid(self, key: str | None) -> bool:
        try:
            self.check(key, touch=False)
        except SignInError:
            return False
        return True

    def revoke(self, key: str | None) -> bool:
        if not key:
            return False
        with self._lock:
            return self._grants.pop(self._digest(key), None) is not None


def password_matches(given: object, expected: str | None) -> bool:
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def cookie_name(settings: Settings) -> str:
    # One name per port: cookies are shared by every port of a host, and two apps must not rotate each other's.
    return f"nd_admin_{settings.port}"


def sign_in_js(cookie: str) -> str:
    """Runs in the browser before each sign-in: a fresh random key in a session cookie (gone when the browser
    closes; SameSite=Strict), so a key planted earlier can never be the one signed in."""
    return ("(...args) => { const b = new Uint8Array(32); crypto.getRandomValues(b); "
            "const k = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); "
            f"document.cookie = '{cookie}=' + k + '; path=/; SameSite=Strict' + "
            "(location.protocol === 'https:' ? '; Secure' : ''); "
            "return args.length === 1 ? args[0] : args; }")


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:g} s"


@dataclass
class AdminAccess:
    """The app's one throttle and one table of signed-in browsers, shared by the Admin tab and the upload guard."""

    throttle: SignInThrottle
    sessions: AdminSessions

    @classmethod
    def from_settings(cls, settings: Settings) -> AdminAccess:
        return cls(throttle=SignInThrottle.from_settings(settings),
                   sessions=AdminSessions(idle=settings.admin_session_idle_seconds, cookie=cookie_name(settings)))
