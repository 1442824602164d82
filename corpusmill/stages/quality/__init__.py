"""Heuristic quality rules: Gopher repetition, Gopher quality, C4 and FineWeb, per language."""
from corpusmill.stages.quality.stage import Quality

__all__ = ["Quality"]
