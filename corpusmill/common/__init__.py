"""The shared floor: atomic files, config basics, the Ray session, artifact manifests and locks.

Everything above (pipeline, stages, tokenizer, mixtures, trainer, report, cli) may import from
here; nothing here imports from above.
"""
