"""URL blocklist: a document is blocked when its url's host, or any parent domain of it, is listed.

The default list is the one datatrove ships inside its wheel (assets/url_filterblacklistsv0_3_0
.tar.gz, from the UT1 blacklists of Université Toulouse Capitole, mostly the `adult` category:
4.56M domains, including the adult TLDs .xxx .sex .porn .adult, plus 19.6k URLs), so it works
offline and is pinned with datatrove. As a Python set it would take ~400 MB per worker; we keep a
sorted array of 64-bit hashes instead (36 MB, cached on disk and memory-mapped, so workers on one
machine share it). A false hit needs a 64-bit collision: about 4.6e6 / 2**64 = 2.5e-13 per lookup.
"""
from __future__ import annotations

import io
import os
import tarfile
import tempfile
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import xxhash

ASSET = "url_filterblacklistsv0_3_0.tar.gz"
_hash = xxhash.xxh3_64_intdigest
_loaded: dict[str, tuple[np.ndarray, frozenset[str]]] = {}  # one copy per process, whatever the stages


def cache_dir() -> Path:
    if os.environ.get("CORPUSMILL_CACHE"):
        return Path(os.environ["CORPUSMILL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corpusmill"


def _asset() -> Path:
    return Path(str(resources.files("datatrove") / "assets" / ASSET))


def _build(asset: Path) -> tuple[np.ndarray, list[str]]:
    with tarfile.open(asset, "r:gz") as tar:
        domains = tar.extractfile("domains").read()
        urls = tar.extractfile("urls").read().decode("utf-8", "replace").split()
    hashes = np.fromiter((_hash(d.strip().lower()) for d in domains.split(b"\n") if d.strip()), np.uint64)
    hashes.sort()
    hashes = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]  # np.unique is 15x slower here
    return hashes, urls


def default_list() -> tuple[np.ndarray, frozenset[str]]:
    """(sorted domain hashes, set of host+path URLs) of the bundled list; built once per machine."""
    asset = _asset()
    key = f"ut1-{version('datatrove')}-{asset.stat().st_size}"
    if key in _loaded:
        return _loaded[key]
    npy, txt = cache_dir() / f"{key}.domains.npy", cache_dir() / f"{key}.urls.txt"
    if npy.exists() and txt.exists():
        hashes, urls = np.load(npy, mmap_mode="r"), txt.read_text().split()
    else:
        hashes, urls = _build(asset)
        try:  # atomic: a concurrent worker sees the old state or the whole file, never half of it
            npy.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(txt, lambda f: f.write("\n".join(urls).encode()))
            _write_atomic(npy, lambda f: np.save(f, hashes))  # last: its presence means both are whole
        except OSError:
            pass  # read-only home: keep it in memory only
    _loaded[key] = (hashes, frozenset(urls))
    return _loaded[key]


def _write_atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "wb") as f:
        write(f)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is for every worker
    os.replace(tmp, path)


def read_list(path: str | Path) -> set[str]:
    """One domain per line; '#' starts a comment; hosts-file lines ('0.0.0.0 example.com') and
    '*.example.com' or URLs are accepted, so common blocklist formats load as they are."""
    out = set()
    for line in io.open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line:
            out.add(normalize_domain(line.split()[-1]))
    out.discard("")
    return out


def normalize_domain(d: str) -> str:
    d = d.strip().lower()
    if "/" in d:
        d = host_of(d) or ""
    return d.removeprefix("*.").strip(".")


def host_of(url: str) -> str | None:
    try:
        parts = urlsplit(url if "//" in url else "//" + url)
        host = parts.hostname
    except ValueError:
        return None
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode()
        except UnicodeError:
            pass
    return host.rstrip(".") if host else None


class Blocklist:
    def __init__(self, default: bool, domains: set[str]):
        self.hashes, self.urls = default_list() if default else (np.empty(0, np.uint64), frozenset())
        self.domains = frozenset(domains)

    def match(self, urls: list[str | None]) -> list[str | None]:
        """Per url: the listed domain (or URL) that blocks it, else None."""
        out: list[str | None] = [None] * len(urls)
        cands: list[tuple[int, str]] = []  # (row, suffix) in order: the host first, then its parents
        for i, url in enumerate(urls):
            host = host_of(url) if url else None
            if not host:
                continue
            labels = host.split(".")
            for j in range(len(labels)):  # the TLD too: UT1 lists .xxx, .sex, .porn, .adult
                suffix = ".".join(labels[j:])
                if suffix in self.domains:
                    out[i] = suffix
                    break
                cands.append((i, suffix))
            if out[i] is None and self.urls:
                path = urlsplit(url).path.rstrip("/") if "//" in url else ""
                if host + path in self.urls:
                    out[i] = host + path
        if cands and self.hashes.size:
            h = np.fromiter((_hash(s.encode()) for _, s in cands), np.uint64, len(cands))
            pos = np.minimum(np.searchsorted(self.hashes, h), self.hashes.size - 1)
            for k in np.flatnonzero(self.hashes[pos] == h):
                i, suffix = cands[k]
                if out[i] is None:
                    out[i] = suffix
        return out
