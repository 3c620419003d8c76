"""Does the installed llama.cpp run a real model on this CPU? (`python -m sarcgen.devtools.llama_probe`)

A llama-cpp-python wheel built with GGML_NATIVE on one machine can carry instructions another CPU
(or a virtual machine that hides them) cannot execute: seen here, a wheel whose AMX matrix kernels
(`tilezero`) killed every real model with SIGILL on a Firecracker VM whose CPU flags list AMX. Tiny
test models never reach those kernels, so `scripts/setup.sh` runs this probe on the embedded
SmolLM2 (Q4_1) in a child process and rebuilds llama-cpp-python without AMX when it dies.
Exit 0: it decoded; 3: no model to probe with (nothing to say); a signal: the library cannot run here.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from sarcgen.embedded import embedded_gguf

        path, _ = embedded_gguf()
    except Exception as exc:  # the embedded extra is not installed
        print(f"llama_probe: no embedded model ({exc})", file=sys.stderr)
        return 3
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_threads=1, verbose=False)
    llm.create_completion("The film was", max_tokens=2, temperature=0.0)
    print("llama_probe: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
