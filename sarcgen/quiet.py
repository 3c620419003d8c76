"""One voice: sarcgen's own lines, not the libraries' progress bars and info logs.

datasets, transformers and huggingface_hub draw progress bars on stderr ("Creating parquet from
Arrow format", "Saving the dataset (1/1 shards)", "Loading weights", "Writing model shards") and
log at info level, between and over sarcgen's summary lines. `quiet_libraries` turns them off
once, from the CLI group (`sarcgen -v COMMAND` keeps them), without importing datasets or
transformers, so `sarcgen --help` stays instant:

- `QUIET_ENV`: variables that datasets and transformers read when they are imported (and that child
  processes such as Ray workers inherit);
- huggingface_hub's switch, flipped in its light `utils.tqdm` module, because transformers copies
  it at import (`_tqdm_active`): every hub bar off but the downloads' (`HUB_SHOWN`). Its variable,
  HF_HUB_DISABLE_PROGRESS_BARS=1, would also hide the bar of a first 2.5 GB GGUF download, which
  would look like a hang;
- a library already imported (a test, a notebook) has read its variables, so its switches are
  flipped too.

A variable the user set is left as it is (HF_DATASETS_DISABLE_PROGRESS_BARS=0 keeps the bars).
sarcgen's own progress bars (generate, filter, training) are plain tqdm and keep their `-q` flags.
llama.cpp's log goes to sarcgen's log (`sarcgen.backends.llamacpp_log`); `VERBOSE_ENV`, set by
`sarcgen -v` and inherited by child processes, echoes it to stderr too.
"""

from __future__ import annotations

import os
import sys
import warnings

QUIET_ENV: dict[str, str] = {
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "DATASETS_VERBOSITY": "error",
    "TRANSFORMERS_VERBOSITY": "error",
}
HUB_ENV = "HF_HUB_DISABLE_PROGRESS_BARS"  # the user's setting wins; sarcgen never sets it
VERBOSE_ENV = "SARCGEN_VERBOSE"  # "1": `sarcgen -v` (read by `verbose_requested`)
HUB_SHOWN = ("huggingface_hub.http_get", "huggingface_hub.xet_get")  # downloads: minutes with no other sign of life

# (module that must already be imported, function to call quiet, function to call verbose, variable it follows)
_SWITCHES: tuple[tuple[str, str, str, str], ...] = (
    ("datasets.utils.tqdm", "disable_progress_bars", "enable_progress_bars", "HF_DATASETS_DISABLE_PROGRESS_BARS"),
    ("datasets.utils.logging", "set_verbosity_error", "set_verbosity_warning", "DATASETS_VERBOSITY"),
    ("transformers.utils.logging", "set_verbosity_error", "set_verbosity_warning", "TRANSFORMERS_VERBOSITY"),
    ("transformers.utils.logging", "disable_progress_bar", "enable_progress_bar", HUB_ENV),
)

_set_here: set[str] = set()  # what this process switched (undone by a later verbose call)


def quiet_libraries(verbose: bool = False) -> None:
    """Silence the libraries' progress bars and info logs unless `verbose`.

    Quiet: set `QUIET_ENV` where the user has not set a variable, turn huggingface_hub's bars off
    but the downloads', and flip the same switches in libraries already imported. Verbose: undo
    what an earlier quiet call in this process did (the in-process CLI tests run both); datasets,
    if it was imported while quiet, read its variable once and keeps its bars off in this process."""
    if verbose:
        _flip_loaded(quiet=False, only=set(_set_here))
        if HUB_ENV in _set_here:
            _hub_bars(quiet=False)
        for name in _set_here & set(QUIET_ENV):
            os.environ.pop(name, None)
        _set_here.clear()
        if VERBOSE_ENV not in os.environ:
            os.environ[VERBOSE_ENV] = "1"
            _set_here.add(VERBOSE_ENV)
        return
    if VERBOSE_ENV in _set_here:
        os.environ.pop(VERBOSE_ENV, None)
        _set_here.discard(VERBOSE_ENV)
    for name, value in QUIET_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            _set_here.add(name)
    ours = {n for n, v in QUIET_ENV.items() if os.environ.get(n) == v}
    if HUB_ENV not in os.environ:
        ours.add(HUB_ENV)
        _set_here.add(HUB_ENV)
    _flip_loaded(quiet=True, only=ours)
    if HUB_ENV in ours:
        _hub_bars(quiet=True)  # after transformers' switch, which turns every hub bar off


def verbose_requested() -> bool:
    """Did the user ask for the libraries' own output (`sarcgen -v`, here or in a parent process)?"""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def _hub_bars(*, quiet: bool) -> None:
    """huggingface_hub's bars: all off but `HUB_SHOWN` (quiet), or all on again."""
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    if quiet:
        disable_progress_bars()
        for group in HUB_SHOWN:
            enable_progress_bars(group)
    else:
        enable_progress_bars()


def _flip_loaded(*, quiet: bool, only: set[str]) -> None:
    """Call each already-imported library's switch whose variable is in `only` (never import one)."""
    for module_name, quiet_fn, verbose_fn, variable in _SWITCHES:
        module = sys.modules.get(module_name)
        if module is None or variable not in only:
            continue
        switch = getattr(module, quiet_fn if quiet else verbose_fn, None)
        if switch is None:  # pragma: no cover - another layout of the library
            continue
        with warnings.catch_warnings():  # "Cannot enable progress bars: environment variable ... has priority"
            warnings.simplefilter("ignore")
            switch()
