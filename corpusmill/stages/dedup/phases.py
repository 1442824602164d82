"""The units of work of each dedup phase; each runs in a Ray task, reads and writes files only,
and ends by writing its marker, so a re-run skips it. Documents are numbered by a gid:
(index of the part in the build's part list) << 32 | row in that part's documents file.

  sig     per part: normalise, exact key, URL key, MinHash -> band keys; keys scattered by hash
  bucket  per key partition: documents sharing a key -> edges to the group's first document
          (band groups, when a threshold is set: only pairs whose Jaccard similarity, computed
          exactly on the two documents' 32-bit shingle hashes, reaches it)
  cc      per node partition and round: large-star / small-star (cc.py) until stars
  labels  per node partition: each leaf's centre, reason and the centre's id, scattered by part
  final   per part (final.py): kept documents (with `dedup.cluster`) replace documents/, the
          rest go to removed/dedup/ with `duplicate_of`, `dedup.cluster`, stage and reason

Dedup against earlier builds (`against:`): their documents files are parts too, numbered first, so
a cluster holding an earlier document is centred on it (a centre is its cluster's smallest gid):
this build's members are removed as its duplicates. Earlier parts get sig units (their signatures
cached beside this build: against.py) but no final unit: they are read, never written.
"""
from __future__ import annotations

import os
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from corpusmill.stages.dedup import against, cc, minhash, text
from corpusmill.stages.dedup.files import (State, gather, read_arrow, tmp_name, write_arrow, write_json,
                                           write_npy, write_scatter)
from corpusmill.stages.dedup.options import DedupOptions

EXACT, URL, BAND = 0, 1, 2
KEEP, REASONS = 0, {1: "exact_duplicate", 2: "url_duplicate", 3: "near_duplicate"}
BATCH_ROWS = 2048
VERIFY_TRIES = 8  # earlier group members tried when a band candidate fails against the first


class Ctx:
    """What every unit needs; built from plain values so it travels to Ray tasks cheaply."""

    def __init__(self, out_root: str, options: dict, plan: dict):
        self.state = State(out_root)
        self.opts = DedupOptions.model_validate(options)
        self.plan = plan
        older = plan.get("older", [])  # earlier builds' parts (`against`), numbered before this build's
        self.parts: list[str] = [o["id"] for o in older] + plan["parts"]
        self.rows: list[int] = [o["rows"] for o in older] + plan["rows"]
        self.older = older
        self.P: int = plan["partitions"]

    def documents(self, i: int):
        """Part i's documents file: an earlier build's (read only) or this build's."""
        return Path(self.older[i]["path"]) if i < len(self.older) else self.state.documents(self.parts[i])

    def sig_path(self, i: int, ext: str) -> Path:
        """Part i's signature file (arrow, sh, npy): an earlier build's in the cache beside this build."""
        if i < len(self.older) and "cache" in self.older[i]:
            return against.Cached(self.state.out, self.older[i]).path(ext)
        return self.state.sig(self.parts[i], ext)

    def build_of(self, i: int) -> str | None:
        """The earlier build part i belongs to; None for this build's parts."""
        return self.older[i]["build"] if i < len(self.older) else None

    @property
    def verify(self) -> bool:
        return self.opts.minhash is not None and self.opts.minhash.threshold is not None


def _salt(ctx: Ctx, source: str) -> int:
    return xxhash.xxh64_intdigest(source) if ctx.opts.scope == "source" else 0


def _key128(data, seed: int) -> tuple[int, int]:
    h = xxhash.xxh3_128_intdigest(data, seed=seed)
    return h >> 64, h & 0xFFFFFFFFFFFFFFFF


def sig_unit(out_root: str, options: dict, plan: dict, i: int) -> dict:
    """Part i's keys, scattered to the bucket partitions. An earlier build's part (`against`) has
    its signatures from the cache beside this build (against.py), filled first if need be."""
    ctx, t0 = Ctx(out_root, options, plan), time.perf_counter()
    part, st = ctx.parts[i], ctx.state
    if i < len(ctx.older):
        cached = against.Cached(out_root, ctx.older[i])
        how = "cached"
        if not cached.valid():
            how = "state" if against.from_kept_state(cached, options, ctx.verify) else "computed"
            if how == "computed":
                compute_signatures(ctx, i, cached.path, keys_path=cached.path("keys.arrow"))
            cached.mark(how)
        keys, info = cached.keys(), {"signatures": how}
    else:
        keys, info = compute_signatures(ctx, i, lambda ext: st.sig(part, ext))
    k1 = keys["k1"]
    write_scatter(st.keys(part), (k1 % np.uint64(ctx.P)).astype(np.int32), {
        "kind": keys["kind"], "k1": k1, "k2": keys["k2"], "gid": keys["row"] + (np.int64(i) << 32)})
    result = {"docs": ctx.rows[i], "minhash_docs": info.get("minhash_docs", 0), "keys": int(len(k1)),
              "seconds": round(time.perf_counter() - t0, 3), "kernel": info.get("kernel"), **info}
    write_json(st.sig(part, "json"), result)
    return result


def compute_signatures(ctx: Ctx, i: int, out, keys_path: Path | None = None) -> tuple[dict, dict]:
    """Part i's exact and URL hashes (out("arrow")), shingle hashes when candidates are verified
    (out("sh"), out("npy")) and every key with its row, unscattered (also written to keys_path if
    given); returns (keys, facts)."""
    mh = ctx.opts.minhash
    a, b = minhash.permutations(mh.num_perm, mh.seed) if mh else (None, None)
    ids, ex, ur, keys, shoff, n, n_mh = [], [], [], [], [np.zeros(1, np.int64)], 0, 0
    sh_tmp = tmp_name(out("sh")) if ctx.verify else None
    sh_file = open(sh_tmp, "wb") if sh_tmp else None
    batches = pq.ParquetFile(ctx.documents(i)).iter_batches(BATCH_ROWS, columns=["id", "source", "url", "text"]) \
        if ctx.rows[i] else []
    for batch in batches:
        salt = _salt(ctx, batch.column("source")[0].as_py())
        raw, raw_off = text.utf8_buffers(batch.column("text"))
        norm, off, digits = text.normalize_column(raw, raw_off)
        rows = np.arange(n, n + batch.num_rows, dtype=np.int64)
        e = [_key128(norm[off[j]:off[j + 1]], salt ^ int(digits[j])) if off[j + 1] > off[j]
             else _key128(raw[raw_off[j]:raw_off[j + 1]], salt ^ 1) for j in range(batch.num_rows)]
        u = [_key128(k.encode(), salt) if k else (0, 0)
             for k in map(text.normalize_url, batch.column("url").to_pylist())]
        ex.append(np.array(e, np.uint64).reshape(-1, 2))
        ur.append(np.array(u, np.uint64).reshape(-1, 2))
        ids.append(batch.column("id"))
        if ctx.opts.exact:
            keys.append((EXACT, ex[-1][:, 0], ex[-1][:, 1], rows))
        if ctx.opts.url:
            has = np.array([k != (0, 0) for k in u], bool)
            keys.append((URL, ur[-1][has, 0], ur[-1][has, 1], rows[has]))
        if mh:
            if ctx.verify:  # shingle hashes for exact Jaccard, appended: memory stays per batch
                s, hashes, hoff = minhash.signatures(norm, off, mh.ngram, a, b, with_hashes=True)
                sh_file.write(hashes.tobytes())
                shoff.append(hoff[1:] + shoff[-1][-1])
            else:
                s = minhash.signatures(norm, off, mh.ngram, a, b)
            ok = np.diff(off) > 0  # documents with no token have no shingle: never near-duplicates
            n_mh += int(ok.sum())
            bk = minhash.band_keys(s[ok], mh.bands, mh.rows, salt)
            keys.append((BAND, bk.ravel(), np.repeat(np.arange(mh.bands, dtype=np.uint64)[None], ok.sum(), 0).ravel(),
                         np.repeat(rows[ok], mh.bands)))
        n += batch.num_rows
    ex_all = np.concatenate(ex) if ex else np.zeros((0, 2), np.uint64)
    ur_all = np.concatenate(ur) if ur else np.zeros((0, 2), np.uint64)
    write_arrow(out("arrow"), pa.table({
        "id": pa.concat_arrays([c.cast(pa.string()) for c in ids]) if ids else pa.array([], pa.string()),
        "exact_hi": ex_all[:, 0], "exact_lo": ex_all[:, 1], "url_hi": ur_all[:, 0], "url_lo": ur_all[:, 1]}))
    if ctx.verify:
        sh_file.close()
        write_npy(out("npy"), np.concatenate(shoff))
        os.replace(sh_tmp, out("sh"))
    cols = {"kind": np.concatenate([np.full(len(k[1]), k[0], np.uint8) for k in keys]) if keys else np.zeros(0, np.uint8),
            "k1": np.concatenate([k[1] for k in keys]) if keys else np.zeros(0, np.uint64),
            "k2": np.concatenate([k[2] for k in keys]) if keys else np.zeros(0, np.uint64),
            "row": np.concatenate([k[3] for k in keys]) if keys else np.zeros(0, np.int64)}
    if keys_path is not None:
        write_arrow(keys_path, pa.table(cols))
    return cols, {"minhash_docs": n_mh, "kernel": minhash.best_kernel() if mh else None}


class Shingles:
    """Each document's sorted shingle hashes by gid, from the parts' memory-mapped files
    (at most MAX_OPEN mapped at once)."""

    MAX_OPEN = 128

    def __init__(self, ctx: Ctx):
        self.ctx, self.maps = ctx, OrderedDict()

    def get(self, gid: int) -> np.ndarray:
        p = gid >> 32
        if p in self.maps:
            self.maps.move_to_end(p)
        else:
            if len(self.maps) >= self.MAX_OPEN:
                self.maps.popitem(last=False)
            path = self.ctx.sig_path(p, "sh")
            flat = np.memmap(path, np.uint32, "r") if path.stat().st_size else np.zeros(0, np.uint32)
            self.maps[p] = (flat, np.load(self.ctx.sig_path(p, "npy")))
        flat, off = self.maps[p]
        r = gid & 0xFFFFFFFF
        return flat[off[r]:off[r + 1]]

    def similar(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        t = self.ctx.opts.minhash.threshold
        return np.array([minhash.jaccard_sorted(self.get(int(a)), self.get(int(b))) >= t for a, b in zip(x, y)], bool)


def bucket_unit(out_root: str, options: dict, plan: dict, q: int) -> dict:
    ctx = Ctx(out_root, options, plan)
    k = gather([ctx.state.keys(p) for p, r in zip(ctx.parts, ctx.rows) if r], q, ["kind", "k1", "k2", "gid"])
    kind, k1, k2, gid = k["kind"], k["k1"], k["k2"], k["gid"]
    order = np.lexsort((gid, k2, k1, kind))
    kind, k1, k2, gid = kind[order], k1[order], k2[order], gid[order]
    new = np.r_[True, (kind[1:] != kind[:-1]) | (k1[1:] != k1[:-1]) | (k2[1:] != k2[:-1])] if len(gid) else np.zeros(0, bool)
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    first = gid[starts][group]  # each key's first document (smallest gid)
    cand = ~new
    src, dst = gid[cand], first[cand]
    rejected = 0
    if ctx.verify:
        band = kind[cand] == BAND
        ok = np.ones(len(src), bool)
        if band.any():
            shingles = Shingles(ctx)
            ok[band] = shingles.similar(src[band], dst[band])
            # a member unlike the group's first may still be like another earlier member
            pos = np.flatnonzero(cand)
            for j in np.flatnonzero(band & ~ok):
                g0 = starts[group[pos[j]]]
                for other in gid[max(g0 + 1, pos[j] - VERIFY_TRIES):pos[j]]:
                    if shingles.similar(np.array([src[j]]), np.array([other]))[0]:
                        dst[j], ok[j] = other, True
                        break
        rejected = int((~ok).sum())
        src, dst, ekind = src[ok], dst[ok], kind[cand][ok]
    else:
        ekind = kind[cand]
    hi, lo = cc.unique_pairs(np.maximum(src, dst), np.minimum(src, dst))
    node, nbr = cc.both(hi, lo)
    write_scatter(ctx.state.edges(0, q), cc.vpart(node, ctx.P), {"node": node, "nbr": nbr})
    # which kinds of edge each document has: the reason when it matches its kept one by no key
    fg = np.concatenate([src, dst])
    write_scatter(ctx.state.edges(0, q, "flags.arrow"), cc.vpart(fg, ctx.P),
                  {"gid": fg, "flag": np.left_shift(1, np.concatenate([ekind, ekind])).astype(np.uint8)})
    result = {"keys": int(len(gid)), "candidates": int(cand.sum()), "rejected": rejected, "edges": int(len(hi))}
    write_json(ctx.state.edges(0, q, "json"), result)
    return result


def cc_unit(out_root: str, options: dict, plan: dict, rnd: int, q: int) -> dict:
    """Odd rounds: large-star over "both" entries; even rounds: small-star over "down" ones."""
    ctx = Ctx(out_root, options, plan)
    e = gather([ctx.state.edges(rnd - 1, p) for p in range(ctx.P)], q, ["node", "nbr"])
    if rnd % 2:
        hi, lo, bad = cc.large_star(e["node"], e["nbr"])
        node, nbr = hi, lo
    else:
        hi, lo = cc.small_star(e["node"], e["nbr"])
        node, nbr, bad = *cc.both(hi, lo), None
    write_scatter(ctx.state.edges(rnd, q), cc.vpart(node, ctx.P), {"node": node, "nbr": nbr})
    result = {"edges_in": int(len(e["node"])), "edges_out": int(len(hi)), "bad": bad}
    write_json(ctx.state.edges(rnd, q, "json"), result)
    return result


def sig_rows(ctx: Ctx, gids: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
    """Columns of the parts' sig tables for these gids; one part's file mapped at a time."""
    out = {c: np.empty(len(gids), object if c == "id" else np.uint64) for c in columns}
    pidx = gids >> 32
    for p in np.unique(pidx):
        t = read_arrow(ctx.sig_path(int(p), "arrow"))
        sel = pidx == p
        rows = pa.array(gids[sel] & 0xFFFFFFFF)
        for c in columns:
            col = t.column(c).take(rows)
            out[c][sel] = col.to_pylist() if c == "id" else col.to_numpy()
        del t
    return out


def labels_unit(out_root: str, options: dict, plan: dict, rnd: int, q: int) -> dict:
    """rnd: the round whose output is the converged star forest ("both" layout)."""
    ctx = Ctx(out_root, options, plan)
    e = gather([ctx.state.edges(rnd, p) for p in range(ctx.P)], q, ["node", "nbr"])
    leaves, centres, c_nodes, sizes = cc.stars(e["node"], e["nbr"])
    cols = ["id", "exact_hi", "exact_lo", "url_hi", "url_lo"]
    mine, kept = sig_rows(ctx, leaves, cols[1:]), sig_rows(ctx, centres, cols)
    # A leaf's reason: exact if its text matches the kept document's, else url if its URL does,
    # else the kind of its own edges (near before url before exact): it joined the cluster so.
    f = gather([ctx.state.edges(0, p, "flags.arrow") for p in range(ctx.P)], q, ["gid", "flag"])
    order = np.argsort(f["gid"], kind="stable")
    g, fl = f["gid"][order], f["flag"][order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, np.int64)
    ug, uf = g[starts], np.bitwise_or.reduceat(fl, starts) if len(g) else np.zeros(0, np.uint8)
    own = uf[np.searchsorted(ug, leaves)] if len(leaves) else np.zeros(0, np.uint8)
    reason = np.select([own & (1 << BAND) > 0, own & (1 << URL) > 0], [3, 2], 1).astype(np.uint8)
    for kind, code in (("url", 2), ("exact", 1)):  # exact wins over url, url over the edges' kind
        if getattr(ctx.opts, kind):
            hi, lo = mine[f"{kind}_hi"], mine[f"{kind}_lo"]
            same = (hi == kept[f"{kind}_hi"]) & (lo == kept[f"{kind}_lo"])
            reason[same & ((hi != 0) | (lo != 0))] = code
    gids = np.concatenate([leaves, c_nodes])
    write_scatter(ctx.state.labels(q), (gids >> 32).astype(np.int32), {
        "gid": gids, "label": np.concatenate([centres, c_nodes]),
        "reason": np.concatenate([reason, np.full(len(c_nodes), KEEP, np.uint8)]),
        "duplicate_of": pa.array(list(kept["id"]) + [None] * len(c_nodes), pa.string()),
        "duplicate_in": pa.array([ctx.build_of(int(c >> 32)) for c in centres] + [None] * len(c_nodes), pa.string())})
    sizes_hist: dict[str, int] = {}
    for s in sizes.tolist():
        sizes_hist[str(s)] = sizes_hist.get(str(s), 0) + 1
    result = {"clusters": int(len(c_nodes)), "documents": int(sizes.sum()), "sizes": sizes_hist}
    write_json(ctx.state.labels(q, "json"), result)
    return result
