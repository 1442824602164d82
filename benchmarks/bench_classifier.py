"""Model-based quality on real data: a fastText classifier (`corpus quality train`) of good text
(gold article bodies of real news pages, Project Gutenberg paragraphs) against bad text (the
boilerplate of the same real pages: their text minus the article; the boilerplate of the
real crawled pages in the shared WARCs; the low-quality crawl sample of the CS336 fixtures), with accuracy on a held-out share it never saw.

Run alone: .venv/bin/python benchmarks/bench_classifier.py  (prints JSON lines)
"""
from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import realdocs  # noqa: E402


def boilerplate_only(html_dir: Path, gold: dict) -> list[str]:
    """Each page's full text with every line that belongs to its article removed."""
    from resiliparse.extract.html2text import extract_plain_text

    out = []
    for f in sorted(html_dir.glob("*.html.gz")):
        article = gold.get(f.name[: -len(".html.gz")], {}).get("articleBody") or ""
        article_lines = {ln.strip() for ln in article.splitlines() if ln.strip()}
        page = extract_plain_text(gzip.decompress(f.read_bytes()).decode("utf-8", "replace"), main_content=False)
        rest = [ln for ln in page.splitlines() if ln.strip() and ln.strip() not in article_lines
                and not any(ln.strip() in a for a in article_lines)]
        if rest:
            out.append("\n".join(rest))
    return out


def warc_boilerplate(warc_dir: Path) -> list[str]:
    """Real crawled pages (the shared WARCs): full page text minus what trafilatura keeps."""
    from resiliparse.extract.html2text import extract_plain_text

    from corpusmill.pipeline.config import InputSpec
    from corpusmill.pipeline.parts import Part
    from corpusmill.stages.extract import ExtractOptions, decode_html, extract_text
    from corpusmill.stages.ingest.warc import WarcReader

    out = []
    for f in sorted(warc_dir.glob("*/*.warc.gz")):
        for rec in WarcReader().read(Part("b", str(f), f.name, "warc"), InputSpec(name="b", path=str(f))):
            if not isinstance(rec, dict) or rec["http_status"] != 200 or "html" not in (rec["content_type"] or ""):
                continue
            html = decode_html(rec["content"], rec["content_type"])
            main = {ln.strip() for ln in extract_text(html, ExtractOptions()).splitlines()}
            rest = [ln for ln in extract_plain_text(html, main_content=False).splitlines()
                    if ln.strip() and ln.strip() not in main]
            if len(" ".join(rest)) >= 200:
                out.append("\n".join(rest))
    return out


def main() -> None:
    if not realdocs.available():
        print(json.dumps({"bench": "classifier", "skipped": f"{realdocs.SHARED} is absent"}))
        return
    from corpusmill.stages.classifier.train import train

    shared = realdocs.SHARED
    gold = json.loads((shared / "html_extraction/scrapinghub_aeb/ground-truth.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        good = [v["articleBody"] for v in gold.values() if v.get("articleBody")]
        (tmp / "articles.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in good))
        bad = boilerplate_only(shared / "html_extraction/scrapinghub_aeb/html", gold) + warc_boilerplate(shared / "warc")
        (tmp / "boilerplate.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in bad))
        t0 = time.perf_counter()
        card = train([str(tmp / "articles.jsonl"), str(shared / "text/en/gutenberg")],
                     [str(tmp / "boilerplate.jsonl"), str(shared / "neardup/cs336_fixtures/low_quality_cc.txt")],
                     str(tmp / "model.bin"), unit="paragraph", valid_fraction=0.2, seed=0)
        print(json.dumps({"bench": "classifier", "train_s": round(time.perf_counter() - t0, 2),
                          **{k: card[k] for k in ("examples", "train", "held_out", "held_out_accuracy",
                                                  "hq_precision", "hq_recall")}}))


if __name__ == "__main__":
    main()
