"""Options of the `dedup` stage:

    - dedup: {exact: true, url: true, minhash: {ngram: 5, bands: 14, rows: 8}}
    - dedup: {minhash: {threshold: 0.8}, scope: source}
    - dedup: {minhash: null}            # exact and URL only
    - dedup: {against: [out/crawl-2024]}  # also remove what earlier builds already hold
"""
from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, model_validator

from corpusmill.common.config import ConfigPath, Strict


class MinHashOptions(Strict):
    ngram: int = Field(5, ge=1, le=64, description="Shingle size in tokens (words; characters in CJK, Thai...).")
    bands: int | None = Field(None, ge=1, description="LSH bands (default 14, FineWeb's; or derived from `threshold`).")
    rows: int | None = Field(None, ge=1, description="Signature values per band (default 8; or derived from `threshold`).")
    threshold: float | None = Field(
        None, gt=0, lt=1, description="Jaccard similarity that makes a near-duplicate. When set, each LSH candidate "
        "pair is kept only if its Jaccard similarity, computed exactly on the two documents' shingle hashes, "
        "reaches it; with bands/rows unset they are derived from it.")
    num_perm: int | None = Field(None, ge=1, le=1024, description="Permutations (default bands x rows, or 128 with a threshold).")
    seed: int = Field(1, ge=0, description="Seed of the permutations (datasketch's default 1: identical signatures).")

    @model_validator(mode="after")
    def _resolve(self) -> "MinHashOptions":
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both `bands` and `rows`, or neither")
        if self.bands is None:
            if self.threshold is None:
                self.bands, self.rows = 14, 8
            else:
                self.num_perm = self.num_perm or 128
                self.bands, self.rows = derive_bands(self.threshold, self.num_perm)
        self.num_perm = self.num_perm or self.bands * self.rows
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def s_curve(self, j: float) -> float:
        """Probability that a pair of Jaccard similarity j shares at least one band."""
        return 1 - (1 - j ** self.rows) ** self.bands


class DedupOptions(Strict):
    exact: bool = Field(True, description="Remove documents whose normalised text is identical (128-bit hash).")
    url: bool = Field(True, description="Remove documents whose normalised URL was seen before (scheme, www., "
                      "ports, fragments, trailing slashes, tracking parameters and query order ignored).")
    minhash: MinHashOptions | None = Field(default_factory=MinHashOptions,
                                           description="Near-duplicates by MinHash LSH; null turns it off.")
    scope: Literal["global", "source"] = Field(
        "global", description="global: across all inputs; source: only within each input.")
    against: list[ConfigPath] = Field(
        default_factory=list, description="Earlier `corpus build` outputs (finished): documents of this build that "
        "are exact, URL or near duplicates of a document they kept are removed, `duplicate_of` naming its id and "
        "`duplicate_in` its build. They are read, never written; their signatures are taken from their kept dedup "
        "state (keep_state) or computed, once, and cached in this build's _state/dedup-against/ (a rebuilt "
        "earlier build is computed again).")
    keep_state: bool = Field(False, description="Keep the bulky intermediate files (signatures, keys, edges) "
                             "under _state/dedup/ after a successful run; the small markers are always kept.")


@cache
def derive_bands(threshold: float, num_perm: int, recall: float = 0.97) -> tuple[int, int]:
    """Bands x rows for a threshold, leaning to recall: candidates are verified against the
    threshold afterwards, so a false candidate costs one signature comparison while a missed
    one is lost. The steepest S-curve (most rows) that still makes a pair at the threshold a
    candidate with probability >= `recall`, using as many bands as num_perm allows."""
    for r in range(num_perm, 0, -1):
        b = num_perm // r
        if 1 - (1 - threshold ** r) ** b >= recall:
            return b, r
    return num_perm, 1
