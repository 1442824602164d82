"""Fit corpusmill/stages/langid_overrides.json: when the langid stage lets CLD2 overrule lid.176.

Data: short sentences cut from the FIT half of the UDHR paragraphs (even paragraph index, every
language; bench_langid.py reports on the odd half only, so no sentence is both fitted and
reported). For each sentence where lid.176 scores below a threshold and CLD2 names another
lid.176 label, the pair (lid.176 says A, CLD2 says B) gains when the gold is B and loses when
the gold is A. A pair is kept when it gains at least MIN_GAINS times and never loses, neither
there nor on real one-language text (Shakespeare, news, Chinese reviews: the fit half of
bench_langid.monolingual_texts): a language lid.176 gets right is never traded for another's gain. The threshold is the grid value with the
best fit-half accuracy (ties: the lowest, which asks CLD2 least often).

    PYTHONPATH=. python benchmarks/fit_langid_overrides.py    # rewrites the JSON
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import shared_data  # noqa: E402
from benchmarks.bench_langid import monolingual_texts, udhr_sentences  # noqa: E402

MIN_GAINS = 2
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)  # 1.01: ask for every answer in a learned pair


def learn_pairs(gold, lid, lid_scores, cld2, labels, threshold, guard) -> list[tuple[str, str]]:
    """`guard`: the same four lists for real one-language text: losses only (a pair that would
    turn a right answer on it wrong is dropped)."""
    gains, losses = Counter(), Counter()
    for g, a, score, b in zip(gold, lid, lid_scores, cld2):
        if score >= threshold or b is None or b == a or b not in labels:
            continue
        gains[(a, b)] += g == b
        losses[(a, b)] += g == a
    for g, a, score, b in zip(*guard):
        losses[(a, b)] += score < threshold and g == a and b != a
    return sorted(k for k, n in gains.items() if n >= MIN_GAINS and losses[k] == 0)


def answers(model, docs) -> tuple[list, list, list, list]:
    """gold, lid.176's label and score, CLD2's label: one list each."""
    from corpusmill.stages import fasttext_model
    from corpusmill.stages.langid_second_opinion import cld2_language

    texts = [t for _, _, t in docs]
    top, probs = fasttext_model.predict(model, texts, k=1)
    return ([g for g, _, _ in docs], [t[0] for t in top], [min(float(p[0]), 1.0) for p in probs],
            [cld2_language(t)[0] for t in texts])


def main() -> None:
    from corpusmill.stages import fasttext_model
    from corpusmill.stages.langid import default_model_path

    model = fasttext_model.load_model(default_model_path())
    labels = set(fasttext_model.labels(model))
    sents = udhr_sentences(shared_data() / "langid" / "udhr" / "udhr_paragraphs.jsonl.gz", labels, split="fit")
    gold, lid, scores, cld2 = answers(model, sents)
    guard_docs = monolingual_texts(split="fit")
    guard = answers(model, guard_docs)

    best = None
    for threshold in THRESHOLDS:
        pairs = set(learn_pairs(gold, lid, scores, cld2, labels, threshold, guard))
        pred = [b if s < threshold and (a, b) in pairs else a for a, s, b in zip(lid, scores, cld2)]
        acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
        print(json.dumps({"threshold": threshold, "pairs": len(pairs), "fit_micro_accuracy": round(acc, 4)}))
        if best is None or acc > best[0]:
            best = (acc, threshold, sorted(pairs))
    acc, threshold, pairs = best
    out = Path(__file__).resolve().parents[1] / "corpusmill" / "stages" / "langid_overrides.json"
    head = json.dumps({
        "fitted_by": "benchmarks/fit_langid_overrides.py",
        "data": f"UDHR sentences, even paragraphs only: {len(sents)} sentences, {len(set(gold))} languages",
        "guard": f"no loss either on {len(guard_docs)} real one-language texts (monolingual_texts, fit half)",
        "rule": f"pairs with >= {MIN_GAINS} gains and no loss below max_score",
        "fit_micro_accuracy": round(acc, 4),
        "lid176_fit_micro_accuracy": round(sum(a == g for a, g in zip(lid, gold)) / len(gold), 4),
        "max_score": threshold}, indent=1)
    # one [lid.176, CLD2] pair per line: reviewable diffs when refitted
    body = ",\n  ".join(json.dumps(list(p)) for p in pairs)
    out.write_text(f'{head[:-2]},\n "pairs": [\n  {body}\n ]\n}}\n', encoding="utf-8")
    print(json.dumps({"wrote": str(out), "max_score": threshold, "pairs": len(pairs)}))


if __name__ == "__main__":
    main()
