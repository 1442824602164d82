"""Mixture spec, quota planning, Arrow token shards (issue 6)."""
