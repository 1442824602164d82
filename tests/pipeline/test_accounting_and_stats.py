"""The counting the build's promise rests on (in = kept + removed, per stage, source and file),
tested directly rather than only through whole builds."""
import pyarrow as pa

from corpusmill.pipeline.accounting import Problems, StageCounts, merge_stage_dicts, text_bytes
from corpusmill.pipeline.stats import aggregate


def test_stage_counts_bytes_and_reasons():
    t = pa.table({"text": ["abc", None, "héllo"], "content": [b"zz", b"raw!", b"x"]})
    assert text_bytes(t).to_pylist() == [3, 4, 6]  # raw content where there is no text yet; UTF-8 bytes
    c = StageCounts()
    c.add(t, [None, "too_short", "too_short"])
    d = c.to_dict()
    assert (d["in"], d["kept"], d["removed"]) == (3, 1, 2) and d["removed_by_reason"] == {"too_short": 2}
    assert d["bytes_in"] == 13 and d["bytes_removed"] == 10
    into = {}
    merge_stage_dicts(into, {"length": d})
    merge_stage_dicts(into, {"length": d})
    assert into["length"]["in"] == 6 and into["length"]["removed_by_reason"] == {"too_short": 4}
    assert "counters" not in into["length"]  # a stage without counters adds no key


def test_stage_counters_sum_across_batches_and_parts_most_frequent_first():
    part = StageCounts()
    part.add_counters({"badwords.removed_by_word": {"sex": 1, "rape": 2}})
    part.add_counters({"badwords.removed_by_word": {"sex": 2}, "badwords.documents_by_word": {"ass": 1}})
    d = part.to_dict()
    assert d["counters"] == {"badwords.documents_by_word": {"ass": 1},
                             "badwords.removed_by_word": {"sex": 3, "rape": 2}}
    assert list(d["counters"]["badwords.removed_by_word"]) == ["sex", "rape"]
    into = {}
    merge_stage_dicts(into, {"sensitive": d})
    other = StageCounts()
    other.add_counters({"badwords.removed_by_word": {"rape": 5}})
    merge_stage_dicts(into, {"sensitive": other.to_dict()})
    assert list(into["sensitive"]["counters"]["badwords.removed_by_word"].items()) == [("rape", 7), ("sex", 3)]
    assert into["sensitive"]["counters"]["badwords.documents_by_word"] == {"ass": 1}


def test_problems_keep_count_and_first_examples():
    p = Problems()
    for i in range(7):
        p.add("bad_json", f"line {i}", "Expecting value")
    (row,) = p.to_list("a.jsonl")
    assert row["count"] == 7 and len(row["examples"]) == 5 and row["examples"][0]["position"] == "line 0"


def _part(part, path, source, n_in, kept, removed):
    stage = {"in": n_in, "kept": kept, "removed": removed, "removed_by_reason": {"too_short": removed} if removed else {},
             "bytes_in": 10 * n_in, "bytes_removed": 10 * removed, "bytes_removed_by_reason": {}}
    return {"part": part, "path": path, "source": source, "documents_in": n_in, "kept": kept, "removed": removed,
            "stages": {"ingest": {**stage, "kept": n_in, "removed": 0, "removed_by_reason": {}, "bytes_removed": 0},
                       "length": stage}, "problems": [], "skipped_records": {}, "seconds": 1.0}


def test_aggregate_agrees_per_stage_source_and_file_with_a_global_stage():
    parts = [_part("p1", "/d/a.jsonl", "web", 10, 8, 2), _part("p2", "/d/b.jsonl", "web", 5, 5, 0),
             _part("p3", "/d/c.jsonl", "books", 4, 3, 1)]
    dedup = {"in": 16, "kept": 13, "removed": 3, "removed_by_reason": {"exact_duplicate": 3}, "bytes_in": 0,
             "bytes_removed": 0, "bytes_removed_by_reason": {}}
    global_stats = {"dedup": {"stage": dedup,
                              "sources": {"web": {**dedup, "in": 13, "kept": 11, "removed": 2,
                                                  "removed_by_reason": {"exact_duplicate": 2}},
                                          "books": {**dedup, "in": 3, "kept": 2, "removed": 1,
                                                    "removed_by_reason": {"exact_duplicate": 1}}},
                              "parts": {"p1": {"removed": 1, "removed_by_reason": {"exact_duplicate": 1}},
                                        "p2": {"removed": 1, "removed_by_reason": {"exact_duplicate": 1}},
                                        "p3": {"removed": 1, "removed_by_reason": {"exact_duplicate": 1}}}}}
    s = aggregate(parts, [], 1.0, ["ingest", "length", "output", "dedup"], global_stats)
    assert s["accounting_ok"] and s["totals"]["documents_in"] == 19 and s["totals"]["kept"] == 13
    assert s["sources"]["web"]["kept"] == 11 and s["sources"]["books"]["removed"] == 2
    files = s["files"]
    assert files["/d/a.jsonl"]["kept"] == 7 and files["/d/a.jsonl"]["removed"] == {"length/too_short": 2,
                                                                                   "dedup/exact_duplicate": 1}
    assert sum(f["kept"] for f in files.values()) == s["totals"]["kept"]
    assert sum(f["kept"] + sum(f["removed"].values()) for f in files.values()) == s["totals"]["documents_in"]
    assert list(s["stages"]) == ["ingest", "length", "dedup"]
