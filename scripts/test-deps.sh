#!/usr/bin/env bash
# System packages the test suite needs that pip cannot provide: Debian's chromium for the browser tests.
# Playwright's own browser download cannot work offline, so it is never used.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian chromium for the browser tests..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing and cannot be installed here; browser tests will fail" >&2
  fi
fi
