"""Validation per source: each source's validation shards evaluated apart, logged to metrics.jsonl
and TensorBoard (val/<source>/loss), with bits per byte from the bytes the mixture recorded."""
import json
import math
from pathlib import Path

import numpy as np

from corpusmill.mixtures.shards import ShardWriter
from corpusmill.trainer.config import ModelSpec, TrainConfig, TrainSpec
from corpusmill.trainer.metrics import read_metrics
from corpusmill.trainer.tb import read_scalars
from corpusmill.trainer.train import train
from trainer_fixtures import META, VOCAB


def two_source_mixture(folder: Path) -> Path:
    """`easy`: documents made of 8 fixed sentences (learnable); `noise`: uniform random tokens (not).
    Train holds both, interleaved; validation is one shard per source, with made-up text bytes."""
    rng = np.random.default_rng(0)
    sentences = [rng.integers(3, VOCAB, size=24) for _ in range(8)]

    def easy():
        return np.concatenate([[1], *(sentences[j] for j in rng.integers(0, 8, 4)), [2]]).astype(np.uint16)

    def noise():
        return np.concatenate([[1], rng.integers(3, VOCAB, 96), [2]]).astype(np.uint16)

    folder.mkdir(parents=True)
    w = ShardWriter(folder / "train-00000.arrow", META)
    w.write([easy() if i % 2 else noise() for i in range(400)], ["easy" if i % 2 else "noise" for i in range(400)])
    w.close()
    manifest = {"format": "corpusmill-mixture/1", "seq_len": 32, "seed": 0,
                "tokenizer": {"vocab_size": VOCAB, "tokenizer_sha256": META.tokenizer_sha256},
                "train": {"shards": [{"file": w.path.name, "documents": w.documents, "tokens": w.tokens}]},
                "validation": {"shards": [], "sources": {}}}
    for k, (name, make, nbytes) in enumerate((("easy", easy, 12_000), ("noise", noise, 9_000))):
        v = ShardWriter(folder / f"val-{k:05d}.arrow", META)
        v.write([make() for _ in range(40)], [name] * 40)
        v.close()
        manifest["validation"]["shards"].append({"file": v.path.name, "documents": 40, "tokens": v.tokens,
                                                 "source": name})
        manifest["validation"]["sources"][name] = {"documents": 40, "tokens": v.tokens, "text_bytes": nbytes}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_validation_loss_and_bits_per_byte_per_source(tmp_path):
    mix = two_source_mixture(tmp_path / "mix")
    cfg = TrainConfig(data=str(mix), output=str(tmp_path / "run"), model=ModelSpec(n_layer=2, n_head=2, d_model=64),
                      train=TrainSpec(steps=40, global_batch_tokens=32 * 8, micro_batch_size=4, lr=3e-3, warmup_steps=5,
                                      eval_every=20, eval_batches=2, ckpt_every=0, progress=False, seed=1, cpu_threads=1))
    train(cfg)
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    manifest = json.loads((mix / "manifest.json").read_text())["validation"]["sources"]
    per = {(r["source"], r["step"]): r for r in rows if r["kind"] == "val_source"}
    assert sorted(per) == [("easy", 20), ("easy", 40), ("noise", 20), ("noise", 40)]
    for (name, step), r in per.items():
        tpb = manifest[name]["tokens"] / manifest[name]["text_bytes"]
        assert math.isclose(r["bpb"], r["loss"] / math.log(2) * tpb, rel_tol=1e-9)
        assert read_scalars(tmp_path / "run" / "tb", f"val/{name}/loss")[step] == float(np.float32(r["loss"]))
        assert read_scalars(tmp_path / "run" / "tb", f"val/{name}/bpb")[step] == float(np.float32(r["bpb"]))
    # each source is evaluated on its own data: the learnable one far below the random one (ln 256 = 5.55)
    assert per[("easy", 40)]["loss"] < per[("noise", 40)]["loss"] - 1.5 and per[("noise", 40)]["loss"] > 5.0
    overall = [r for r in rows if r["kind"] == "val"]
    total = sum(m["tokens"] for m in manifest.values()) / sum(m["text_bytes"] for m in manifest.values())
    assert [r["step"] for r in overall] == [20, 40]
    assert all(math.isclose(r["bpb"], r["loss"] / math.log(2) * total, rel_tol=1e-9) for r in overall)
    # the whole split's fixed windows mix both sources: its loss lies between theirs
    assert per[("easy", 40)]["loss"] < overall[-1]["loss"] < per[("noise", 40)]["loss"]
