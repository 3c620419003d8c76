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
# A llama-cpp-python wheel built natively elsewhere (pip caches it) can die with SIGILL here: seen on a
# VM whose CPU flags list AMX that the VM does not run. Probe a real model; rebuild without AMX if it dies.
probe=0
.venv/bin/python -m sarcgen.devtools.llama_probe >/dev/null 2>&1 || probe=$?
if [ "$probe" -ne 0 ] && [ "$probe" -ne 3 ]; then
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/sarcgen/llama-cpp-no-amx"
  version="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
  if ! ls "$wheels"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
    echo "sarcgen setup: llama-cpp-python $version cannot run a model on this CPU (SIGILL); rebuilding it without AMX (~8 min)" >&2
    CMAKE_ARGS="${CMAKE_ARGS:-} -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
      .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir "llama-cpp-python==$version" -w "$wheels"
  fi
  .venv/bin/python -m pip install -q --no-deps --force-reinstall "$wheels"/llama_cpp_python-"$version"-*.whl
  .venv/bin/python -m sarcgen.devtools.llama_probe >&2 || { echo "sarcgen setup: llama-cpp-python still cannot run a model here" >&2; exit 1; }
fi
echo "$want" > "$stamp"
