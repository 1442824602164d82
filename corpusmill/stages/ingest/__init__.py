"""Streaming readers, one per input format. Each yields record dicts and `Problem`s, never
holds a whole file in memory, and turns bad input into counted problems instead of raising."""
