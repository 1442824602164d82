"""corpusmill: raw dumps to a clean, deduplicated, tokenized, mixed corpus, and a GPT trained on it."""
__version__ = "0.1.0"
