"""Deduplication: exact, URL and MinHash LSH near-duplicates, across a Ray cluster, resumable."""
from corpusmill.stages.dedup.stage import Dedup

__all__ = ["Dedup"]
