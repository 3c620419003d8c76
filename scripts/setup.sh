#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtual environment in .venv with sarcgen and its test extras.
# Re-runs are quick: it reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
# torch: keep whatever the environment has; otherwise take a specific release (override with TORCH_SPEC,
# e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124").
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
if [ ! -x .venv/bin/python ]; then
  echo "sarcgen setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
# The browser test (tests/review/test_browser.py) drives Debian's chromium with Playwright; checked on
# every run (cheap), so a machine that lost it gets it back. Under CI=true that test fails without it.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "sarcgen setup: installing chromium (apt-get) for the review page's browser test" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
      || echo "sarcgen setup: apt-get could not install chromium: the browser test will skip (and fail under CI=true)" >&2
  else
    echo "sarcgen setup: /usr/bin/chromium not found and not root: tests/review/test_browser.py will skip" \
         "(it fails under CI=true); install it with: sudo apt-get install chromium" >&2
  fi
fi
stamp=.venv/.sarcgen-setup
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "sarcgen setup: installing dependencies (llama-cpp-python builds from source the first time: ~8 min on 2 cores)" >&2
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q $TORCH_SPEC
fi
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
  .venv/bin/python -m pip install -q -e ".[test]"
echo "$want" > "$stamp"
