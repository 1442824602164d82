"""A deterministic, bounded-memory sample of clean documents for tokenizer training, on Ray.

Each document gets a key, xxh64(id, seed). The top `heldout_fraction` of the key range is held
out (never trained on; fertility is measured there). The training sample is, per stratum, the
documents of lowest key whose bytes fit the stratum's quota: a bottom-k by bytes, so it depends
on (seed, ids, cap) only, not on how the corpus is split into parts, and any part's share of it
is within that part's own bottom-`cap` prefix. Hence two passes, each holding O(cap) at most:
  1. per part, in batches: the (key, bytes) prefix of each stratum up to the cap; the driver
     merges these as they arrive and prunes back to the cap, then sets a key threshold per stratum;
  2. per part: the documents under their stratum's threshold, as training lines (long lines cut
     to SentencePiece's max_sentence_length) written in part order to one text file.
"""
from __future__ import annotations

import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.tokenizer.bottom import Bottom
from corpusmill.tokenizer.inputs import doc_keys, iter_batches, utf8_bytes

SEP = "\x1f"  # joins stratum values into one label
HELDOUT_BY = ("source", "lang")  # fertility is reported per source and language


@dataclass(frozen=True)
class SampleSpec:
    sample_bytes: int
    seed: int = 0
    stratify: tuple[str, ...] = ()  # any of "source", "lang"
    balance: Literal["proportional", "equal"] = "proportional"
    heldout_fraction: float = 0.01
    heldout_bytes: int = 2 << 20  # per (source, lang)
    max_line_bytes: int = 4192  # SentencePiece skips longer sentences; we cut them instead

    @property
    def heldout_key(self) -> int:
        """Keys at or above this are held out."""
        return min(int((1.0 - self.heldout_fraction) * 2**64), 2**64 - 1)


@dataclass
class SampleResult:
    text_path: Path
    heldout: pa.Table  # id, text, source, lang
    stats: dict = field(default_factory=dict)


def _labels(t: pa.Table, by: tuple[str, ...]) -> np.ndarray:
    if not by:
        return np.full(t.num_rows, "all", dtype=object)
    cols = [pc.fill_null(pc.cast(t[c], pa.string()), "") for c in by]
    return np.asarray((cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, SEP)).to_pylist(), object)


def _feed(into: dict, label: str, keys: np.ndarray, nbytes: np.ndarray, cap: int) -> None:
    into.setdefault(label, Bottom(cap)).add(keys, nbytes)


def _add_counts(into: dict, labels: np.ndarray, nbytes: np.ndarray) -> None:
    for lab in np.unique(labels) if len(labels) else []:
        m = labels == lab
        c = into.setdefault(str(lab), [0, 0])
        c[0] += int(m.sum())
        c[1] += int(nbytes[m].sum())


def scan_part(spec: SampleSpec, path: str) -> dict:
    """Pass 1 on one part: per-stratum (key, bytes) prefixes and totals."""
    train, held, totals, corpus = {}, {}, {}, {}
    for t in iter_batches(path):
        keys, nbytes = doc_keys(t["id"], spec.seed), utf8_bytes(t["text"])
        is_held = keys >= np.uint64(spec.heldout_key)
        lab_t, lab_h = _labels(t, spec.stratify), _labels(t, HELDOUT_BY)
        _add_counts(corpus, lab_h, nbytes)
        _add_counts(totals, lab_t[~is_held], nbytes[~is_held])
        for lab in np.unique(lab_t[~is_held]):
            m = (lab_t == lab) & ~is_held
            _feed(train, str(lab), keys[m], nbytes[m], spec.sample_bytes)
        for lab in np.unique(lab_h[is_held]):
            m = (lab_h == lab) & is_held
            _feed(held, str(lab), keys[m], nbytes[m], spec.heldout_bytes)
    return {"train": {k: b.result() for k, b in train.items()}, "heldout": {k: b.result() for k, b in held.items()},
            "totals": totals, "corpus": corpus, "rss": _rss_mb()}


def quotas(totals: dict[str, list[int]], cap: int, balance: str) -> dict[str, int]:
    """Bytes per stratum: its share of the corpus (proportional), or equal shares where strata
    smaller than their share give their remainder to the others (water-filling)."""
    size = {k: v[1] for k, v in totals.items()}
    whole = sum(size.values())
    if whole <= cap:
        return dict(size)
    if balance == "proportional":
        return {k: int(cap * s / whole) for k, s in size.items()}
    out, left, todo = {}, cap, sorted(size, key=lambda k: (size[k], k))
    while todo:
        share = left // len(todo)
        k = todo.pop(0)
        out[k] = min(size[k], share)
        left -= out[k]
    return out


def _threshold(keys: np.ndarray, nbytes: np.ndarray, quota: int) -> int | None:
    if quota <= 0 or not len(keys):
        return None
    n = int(np.searchsorted(np.cumsum(nbytes), quota, side="right"))
    return int(keys[max(n, 1) - 1])


def cut_lines(text: str, limit: int) -> list[str]:
    """Non-empty lines, each at most `limit` UTF-8 bytes: long ones cut at a space when one is in
    the second half of the window, else at a character boundary (Chinese has no spaces).
    One pass over each line's bytes, so a megabyte-long line costs no more than many short ones."""
    out, limit = [], max(limit, 4)  # 4 bytes always hold a whole character
    for line in text.split("\n"):
        b = line.encode()
        if len(b) <= limit:
            if line:
                out.append(line)
            continue
        pos = 0
        while len(b) - pos > limit:
            head = b[pos:pos + limit].decode("utf-8", "ignore")  # drops a character cut in two
            sp = head.rfind(" ")
            head = head[:sp] if sp > len(head) // 2 else head
            out.append(head)
            pos += len(head.encode())
        out.append(b[pos:].decode())
    return out


def _under(keys: np.ndarray, labels: np.ndarray, th: dict[str, int]) -> np.ndarray:
    """Rows whose stratum has a threshold and whose key is at or below it (exact uint64)."""
    has = np.fromiter((lab in th for lab in labels), bool, len(labels))
    lim = np.array([th.get(lab, 0) for lab in labels], dtype=np.uint64)
    return has & (keys <= lim)


def select_part(spec: SampleSpec, train_th: dict, held_th: dict, path: str) -> dict:
    """Pass 2 on one part: training lines (one blob) and held-out documents under the thresholds."""
    lines, held, counts = [], [], {}
    for t in iter_batches(path):
        keys = doc_keys(t["id"], spec.seed)
        is_held = keys >= np.uint64(spec.heldout_key)
        lab_t, lab_h = _labels(t, spec.stratify), _labels(t, HELDOUT_BY)
        take_t = ~is_held & _under(keys, lab_t, train_th)
        take_h = is_held & _under(keys, lab_h, held_th)
        texts = t["text"].to_pylist()
        nbytes = utf8_bytes(t["text"])
        for i in np.flatnonzero(take_t):
            doc_lines = cut_lines(texts[i] or "", spec.max_line_bytes)
            lines.extend(doc_lines)
            c = counts.setdefault(str(lab_t[i]), [0, 0, 0])
            c[0] += 1
            c[1] += int(nbytes[i])
            c[2] += len(doc_lines)
        if take_h.any():
            held.append(t.filter(pa.array(take_h)))
    blob = ("\n".join(lines) + "\n").encode() if lines else b""
    heldout = pa.concat_tables(held) if held else None
    return {"blob": blob, "heldout": heldout, "counts": counts, "rss": _rss_mb()}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_documents(parts: list[str], spec: SampleSpec, text_path: Path, cpus: int) -> SampleResult:
    """Both passes on the Ray the caller started (see ray_session); writes text_path."""
    from corpusmill.common.units import Tasks, run_units

    window = 2 * cpus
    train, held, totals, corpus, rss = {}, {}, {}, {}, 0.0
    scan = Tasks(scan_part, (spec,))
    for _, r in run_units([(p,) for p in parts], scan, window=window, label="tokenizer sample: scan"):
        for lab, (k, b) in r["train"].items():
            _feed(train, lab, k, b, spec.sample_bytes)
        for lab, (k, b) in r["heldout"].items():
            _feed(held, lab, k, b, spec.heldout_bytes)
        for dst, src in ((totals, r["totals"]), (corpus, r["corpus"])):
            for lab, (d, b) in src.items():
                c = dst.setdefault(lab, [0, 0])
                c[0], c[1] = c[0] + d, c[1] + b
        rss = max(rss, r["rss"])
    q = quotas(totals, spec.sample_bytes, spec.balance)
    train_th = {lab: th for lab, bot in train.items() if (th := _threshold(*bot.result(), q.get(lab, 0))) is not None}
    held_th = {lab: int(k[-1]) for lab, bot in held.items() if len(k := bot.result()[0])}
    del train, held
    counts, held_tables = {}, []
    text_path.parent.mkdir(parents=True, exist_ok=True)
    select = Tasks(select_part, (spec, train_th, held_th))
    with open(text_path, "wb") as fh:
        for _, r in run_units([(p,) for p in parts], select, window=window, ordered=True,
                              label="tokenizer sample: select"):
            fh.write(r["blob"])
            if r["heldout"] is not None:
                held_tables.append(r["heldout"])
            for lab, (d, b, n) in r["counts"].items():
                c = counts.setdefault(lab, [0, 0, 0])
                c[0], c[1], c[2] = c[0] + d, c[1] + b, c[2] + n
            rss = max(rss, r["rss"])
    heldout = pa.concat_tables(held_tables) if held_tables else pa.table(
        {c: pa.array([], pa.string()) for c in ("id", "text", "source", "lang")})
    stats = {
        "parts": len(parts),
        "corpus": {_show(k): {"documents": v[0], "bytes": v[1]} for k, v in sorted(corpus.items())},
        "sample": {_show(k): {"documents": v[0], "bytes": v[1], "lines": v[2]} for k, v in sorted(counts.items())},
        "sample_documents": sum(v[0] for v in counts.values()),
        "sample_bytes": sum(v[1] for v in counts.values()),
        "sample_lines": sum(v[2] for v in counts.values()),
        "quota_bytes": {_show(k): v for k, v in sorted(q.items())},
        "heldout_documents": heldout.num_rows,
        "heldout_bytes": int(utf8_bytes(heldout["text"]).sum()) if heldout.num_rows else 0,
        "worker_peak_rss_mb": round(rss, 1),
    }
    return SampleResult(text_path, heldout, stats)


def _show(label: str) -> str:
    return label.replace(SEP, "/")
