"""Helpers for tests that make mixtures from real text (tests/mixtures, tests/test_faults.py,
tests/test_seams.py): importable from any test folder, as conftest's folder is on sys.path."""
import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq


def write_docs(folder, name, texts):
    folder.mkdir(parents=True)
    for k in range(2):  # two parts, like a build output
        rows = list(range(k, len(texts), 2))
        pq.write_table(pa.table({"id": [f"{name}-{i}" for i in rows], "text": [texts[i] for i in rows],
                                 "source": [name] * len(rows), "lang": [None] * len(rows)}),
                       folder / f"part-{k}.parquet")


def chunks(text, size):
    return [text[i:i + size] for i in range(0, len(text), size) if text[i:i + size].strip()]


def write_yaml(d, output, **over):
    cfg = {"tokenizer": "tok", "output": output, "total_tokens": 400_000, "seq_len": 128, "seed": 1,
           "validation": {"fraction": 0.05}, "shard_tokens": 150_000,
           "sources": [{"name": "books", "path": "books", "weight": 0.5, "max_epochs": 1},
                       {"name": "news", "path": "news", "weight": 0.3, "max_epochs": 8},
                       {"name": "zh", "path": "zh", "weight": 0.2, "max_epochs": 2}], **over}
    y = d / f"{output}.yaml"
    y.write_text(json.dumps(cfg))  # YAML is a superset of JSON
    return y


def shard_bytes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.arrow"))}
