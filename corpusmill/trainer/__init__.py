"""GPT pretraining loop (issue 7)."""
