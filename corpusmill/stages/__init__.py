"""Stages: one file (or small folder) per stage; each knows nothing of Ray or of other stages."""
