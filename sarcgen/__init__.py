"""sarcgen: labelled sarcastic training data from a local LLM, and proof that it helps."""

__version__ = "0.1.0"
