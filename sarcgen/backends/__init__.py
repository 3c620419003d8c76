"""Generation backends: one small interface, several engines.

- `llamacpp`: in-process llama-cpp-python on a local GGUF (sequential, or `parallel` sequences).
- `openai`: any OpenAI-compatible server (llama-server, vLLM, llama_cpp.server).
- `fake`: a queue-driven stand-in for fast tests.
"""

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo

__all__ = ["Backend", "GenerationRequest", "GenerationResult", "ModelInfo"]
