"""Developer tools: tiny random-weight models for tests and benchmarks (not used by the pipeline)."""

from sarcgen.devtools.tiny_gguf import QWEN3_CHAT_TEMPLATE, quantize_gguf, write_tiny_qwen3_gguf

__all__ = ["QWEN3_CHAT_TEMPLATE", "quantize_gguf", "write_tiny_qwen3_gguf"]
