"""Find the GGUF a recipe asks for, check it is a whole GGUF, and describe it for provenance.

A `ModelSpec` names either a local file (`path`) or a Hugging Face Hub repo + file. Hub files go
into the standard Hugging Face cache: the cache is tried first (no network), then a download.
Offline with nothing cached gives one `ModelError` that says what was looked for and how to pass
`--model`. A file that is not a GGUF, or was cut short (an interrupted download), is caught here
by reading the GGUF header, not by llama.cpp crashing later.

The sha256 of a multi-GB file takes a while, so it is cached in a sidecar keyed by size, mtime and
name (`~/.cache/sarcgen/sha256/`, or `$SARCGEN_CACHE_DIR/sha256/`).
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sarcgen.errors import ModelError
from sarcgen.hub import hub_offline_mode, hub_reachable
from sarcgen.recipe import ModelSpec

GGUF_MAGIC = b"GGUF"

MetaValue = int | float | bool | str | None
"""A GGUF metadata value as read here: a number, a flag or text (arrays are skipped: None)."""


@dataclass(frozen=True)
class GGUFHeader:
    """What the GGUF header says about a file (metadata strings and scalars only)."""

    version: int
    n_tensors: int
    architecture: str | None
    name: str | None
    file_type: int | None
    quantization: str | None
    chat_template: str | None
    expected_size: int
    metadata: dict[str, MetaValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedModel:
    """A local, validated GGUF and its provenance."""

    path: Path
    sha256: str
    size: int
    header: GGUFHeader
    source: str  # "local" or "hub:<repo>/<file>@<revision>"

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def quantization(self) -> str | None:
        return self.header.quantization


# --------------------------------------------------------------------------------------------
# GGUF header reading (a small parser: fast on 150k-token vocabularies, exact about truncation)

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class _Truncated(Exception):
    pass


def _read(fh: BinaryIO, n: int) -> bytes:
    b = fh.read(n)
    if len(b) != n:
        raise _Truncated
    return b


def _read_value(fh: BinaryIO, vtype: int, keep: bool) -> MetaValue:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        value: int | float | bool = struct.unpack(fmt, _read(fh, struct.calcsize(fmt)))[0]
        return value
    if vtype == _STRING:
        (n,) = struct.unpack("<Q", _read(fh, 8))
        if n > 1 << 31:
            raise ValueError(f"string of {n} bytes")
        raw = _read(fh, n)
        return raw.decode("utf-8", errors="replace") if keep else None
    if vtype == _ARRAY:
        sub, n = struct.unpack("<IQ", _read(fh, 12))
        if sub in _SCALARS:
            size = struct.calcsize(_SCALARS[sub])
            if n * size > 1 << 32:
                raise ValueError(f"array of {n} values")
            _read(fh, size * n)
            return None
        for _ in range(n):  # arrays of strings (the vocabulary): skip each
            _read_value(fh, sub, keep=False)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")


def _text(value: MetaValue) -> str | None:
    """A metadata string; None when the key is missing or holds something else."""
    return value if isinstance(value, str) else None


def _quant_name(file_type: int | None) -> str | None:
    if file_type is None:
        return None
    import gguf

    try:
        name = gguf.LlamaFileType(file_type).name
    except ValueError:
        return f"ftype-{file_type}"
    return name.replace("MOSTLY_", "").replace("ALL_", "")


def _read_metadata(fh: BinaryIO, n_kv: int) -> dict[str, MetaValue]:
    meta: dict[str, MetaValue] = {}
    for _ in range(n_kv):
        (klen,) = struct.unpack("<Q", _read(fh, 8))
        key = _read(fh, klen).decode("utf-8", errors="replace")
        (vtype,) = struct.unpack("<I", _read(fh, 4))
        meta[key] = _read_value(fh, vtype, keep=True)
    return meta


def _tensors_end(fh: BinaryIO, n_tensors: int) -> int:
    """Where the last tensor's data ends, relative to the data section, from the tensor infos."""
    import gguf

    end = 0
    for _ in range(n_tensors):
        (nlen,) = struct.unpack("<Q", _read(fh, 8))
        _read(fh, nlen)
        (n_dims,) = struct.unpack("<I", _read(fh, 4))
        dims = struct.unpack(f"<{n_dims}Q", _read(fh, 8 * n_dims))
        ttype, offset = struct.unpack("<IQ", _read(fh, 12))
        block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ttype)]
        n_el = 1
        for d in dims:
            n_el *= d
        end = max(end, offset + n_el // block * type_size)
    return end


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """Parse the header of a GGUF file and compute the size its tensors need.

    Raises `ModelError` if the file is not a GGUF or is shorter than its header promises.
    """
    p = Path(path)
    size = p.stat().st_size
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
            if magic != GGUF_MAGIC:
                raise ModelError(
                    f"{p} is not a GGUF file (it starts with {magic!r}, not b'GGUF')",
                    "pass a llama.cpp .gguf model file with --model",
                )
            version, n_tensors, n_kv = struct.unpack("<IQQ", _read(fh, 20))
            if version not in (2, 3) or n_tensors > 1 << 24 or n_kv > 1 << 24:
                raise ModelError(f"{p}: unsupported or corrupt GGUF header (version {version})")
            meta = _read_metadata(fh, n_kv)
            end = _tensors_end(fh, n_tensors)
            align = int(meta.get("general.alignment") or 32)
            data_start = (fh.tell() + align - 1) // align * align
    except _Truncated:
        raise ModelError(
            f"{p} is truncated: its GGUF header ends early ({size} bytes); the download was probably interrupted",
            "delete the file and download it again, or pass another --model",
        ) from None
    except (ValueError, KeyError, struct.error) as exc:
        raise ModelError(f"{p}: corrupt GGUF header ({exc})", "download the model again") from None
    expected = data_start + end
    if size < expected:
        raise ModelError(
            f"{p} is truncated: {size:,} bytes, but its tensors need {expected:,}; the download was probably interrupted",
            "delete the file and download it again, or pass another --model",
        )
    ft = meta.get("general.file_type")
    file_type = ft if isinstance(ft, int) and not isinstance(ft, bool) else None
    return GGUFHeader(
        version=version,
        n_tensors=n_tensors,
        architecture=_text(meta.get("general.architecture")),
        name=_text(meta.get("general.name")),
        file_type=file_type,
        quantization=_quant_name(file_type),
        chat_template=_text(meta.get("tokenizer.chat_template")),
        expected_size=expected,
        metadata={k: v for k, v in meta.items() if v is not None and k != "tokenizer.chat_template"},
    )


# --------------------------------------------------------------------------------------------
# sha256 with a sidecar cache


def cache_dir() -> Path:
    """sarcgen's own cache (sha256 sidecars): $SARCGEN_CACHE_DIR or ~/.cache/sarcgen."""
    env = os.environ.get("SARCGEN_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "sarcgen"


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, computed once per (size, mtime, name) and cached in a sidecar."""
    p = Path(path).resolve()
    st = p.stat()
    sidecar = cache_dir() / "sha256" / f"{st.st_size}-{st.st_mtime_ns}-{p.name}"
    try:
        cached = sidecar.read_text().strip()
        if len(cached) == 64:
            return cached
    except OSError:
        pass
    h = hashlib.sha256()
    from tqdm import tqdm

    # Multi-GB models take a while: show it (once per file, thanks to the sidecar).
    with p.open("rb") as fh, tqdm(total=st.st_size, unit="B", unit_scale=True, desc=f"sha256 {p.name}",
                                  file=sys.stderr, leave=False, disable=st.st_size < 256 << 20) as bar:
        while chunk := fh.read(1 << 23):
            h.update(chunk)
            bar.update(len(chunk))
    digest = h.hexdigest()
    try:
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        tmp = sidecar.with_suffix(".tmp")
        tmp.write_text(digest + "\n")
        os.replace(tmp, sidecar)
    except OSError:
        pass  # a read-only home only costs a re-hash next time
    return digest


# --------------------------------------------------------------------------------------------
# resolving a spec


def parse_model_arg(value: str) -> dict[str, str]:
    """Turn a `--model` value into a `model` recipe section.

    Accepts `embedded` (or `embedded:NAME`: a GGUF shipped in a Python package, see
    `sarcgen.embedded`), a local path (`models/x.gguf`), `REPO_ID:FILE` (`unsloth/Qwen3-4B-Instruct-2507-GGUF:
    Qwen3-4B-Instruct-2507-Q4_K_M.gguf`) or `REPO_ID/FILE.gguf` (owner/name/file.gguf).
    """
    from sarcgen.embedded import DEFAULT_EMBEDDED, EMBEDDED, embedded_model

    v = value.strip()
    if v == EMBEDDED or v.startswith(EMBEDDED + ":"):
        name = v.partition(":")[2] or DEFAULT_EMBEDDED
        embedded_model(name)  # an unknown name fails here, naming the known ones
        return {"embedded": name}
    if Path(v).expanduser().exists():
        return {"path": str(Path(v).expanduser())}
    if ":" in v and not v.startswith(("/", ".", "~")) and not (len(v) > 1 and v[1] == ":"):
        repo, _, file = v.partition(":")
        if repo.count("/") == 1 and file:
            return {"repo": repo, "file": file}
    parts = v.split("/")
    if len(parts) >= 3 and v.endswith(".gguf") and not v.startswith(("/", ".", "~")):
        return {"repo": "/".join(parts[:2]), "file": "/".join(parts[2:])}
    if len(parts) == 2 and all(parts) and not v.endswith(".gguf") and not v.startswith((".", "~")):
        raise ModelError(
            f"--model {v!r} looks like a Hub repo id without a file",
            f"name the GGUF file too, e.g. --model {v}:MODEL-Q4_K_M.gguf, or pass a local .gguf path",
        )
    return {"path": v}


def _hub_download(spec: ModelSpec) -> Path:
    """The cached file for spec.repo/spec.file, downloading it when not cached."""
    from huggingface_hub import constants, hf_hub_download

    where = f"{spec.repo}:{spec.file}" + (f"@{spec.revision}" if spec.revision else "")
    try:
        return Path(hf_hub_download(spec.repo, spec.file, revision=spec.revision, local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError) or cache unreadable: try the network
        pass
    if not hub_reachable():
        why = "HF_HUB_OFFLINE is set" if hub_offline_mode() else "the Hugging Face Hub is not reachable"
        raise ModelError(
            f"model {where} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and could not be "
            f"downloaded ({why}); pass --model PATH.gguf to use a local file, or connect once to download it"
        )
    try:
        return Path(hf_hub_download(spec.repo, spec.file, revision=spec.revision))
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(reason) > 160:
            reason = reason[:157] + "..."
        offline = hub_offline_mode()
        raise ModelError(
            f"model {where} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and could not be "
            f"downloaded ({'HF_HUB_OFFLINE is set' if offline else type(exc).__name__ + ': ' + reason}); "
            f"pass --model PATH.gguf to use a local file, or connect once to download it"
        ) from None


def resolve_model(spec: ModelSpec, *, hash_file: bool = True) -> ResolvedModel:
    """Find (or download) the GGUF, validate it, hash it. Raises `ModelError` with what to do."""
    if spec.embedded:
        from sarcgen.embedded import embedded_gguf

        p, source = embedded_gguf(spec.embedded)
    elif spec.path:
        p = Path(spec.path).expanduser()
        if not p.is_file():
            raise ModelError(
                f"model file {p} not found",
                "pass --model with an existing .gguf file, or REPO_ID:FILE to download one from the Hub",
            )
        source = "local"
    else:
        p = _hub_download(spec)
        source = f"hub:{spec.repo}:{spec.file}" + (f"@{spec.revision}" if spec.revision else "")
    header = read_gguf_header(p)
    digest = file_sha256(p) if hash_file else ""
    return ResolvedModel(path=p, sha256=digest, size=p.stat().st_size, header=header, source=source)
