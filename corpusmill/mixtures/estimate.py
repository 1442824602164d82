"""`corpus mix --dry-run` without encoding every source: a source not yet encoded is measured
instead, its text bytes counted exactly (a column read, no tokenizer) and its tokens per byte taken
from a fixed, spread-out sample of documents encoded here. Encoded sources use their exact counts."""
from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusmill.common.artifact import parquet_files

SAMPLE_BYTES = 1 << 20  # text encoded to measure tokens per byte, per source
BATCH_ROWS = 1024


def estimate_train_tokens(folder: Path, tok, validation_fraction: float) -> dict:
    """{"tokens": estimated training tokens, "documents", "bytes", "sample_bytes", "tokens_per_byte"}."""
    files = [folder] if folder.is_file() else parquet_files(folder)
    # every k-th batch, k from the files' metadata: spread over the whole source, the same sample
    # every time, and only the sampled texts held (never the whole source's text)
    metas = [pq.ParquetFile(f).metadata for f in files]
    approx = sum(m.row_group(g).total_byte_size for m in metas for g in range(m.num_row_groups))
    step = max(1, approx // SAMPLE_BYTES)
    total_bytes = docs = k = 0
    sample = []
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(columns=["text"], batch_size=BATCH_ROWS):
            n = pc.fill_null(pc.binary_length(batch.column(0)), 0)
            total_bytes += int(pc.sum(n).as_py() or 0)
            docs += batch.num_rows
            if k % step == 0:
                sample += [t for t in batch.column(0).to_pylist() if t]
            k += 1
    sample_bytes = sum(len(t.encode()) for t in sample)
    pieces = sum(len(ids) for ids in tok.encode(sample, add_bos=False, add_eos=False)) if sample else 0
    per_byte = pieces / sample_bytes if sample_bytes else 0.0
    specials = int(tok.bos_id >= 0) + int(tok.eos_id >= 0)  # each document gets its BOS/EOS
    tokens = (per_byte * total_bytes + specials * docs) * (1 - validation_fraction)
    return {"tokens": int(tokens), "documents": docs, "bytes": total_bytes, "sample_bytes": sample_bytes,
            "tokens_per_byte": round(per_byte, 4)}


