"""The sensitive stage on hand-made batches and on real text: PII, URL blocklist, bad words."""
import pickle

import pyarrow as pa
import pytest
from pydantic import ValidationError

from conftest import shared
from corpusmill.pipeline.registry import build_stages
from corpusmill.pipeline.schema import to_batch
from corpusmill.stages.sensitive import Sensitive, SensitiveOptions
from corpusmill.stages.sensitive import blocklist as blocklist_mod

NO_LISTS = {"url_blocklist": False, "badwords": False}
C4 = {"min_count": 1, "min_distinct": None, "min_ratio": None}  # any one listed word removes (C4's rule)


def batch(rows, lang=None):
    b = to_batch([{"id": str(i), "source": "s", "url": None, "text": None, **r} for i, r in enumerate(rows)])
    if lang is not None:
        b = b.append_column("lang", pa.array(lang, pa.string()))
    return b


def col(d, name):
    return d.table.column(name).to_pylist()


# ---- PII ---------------------------------------------------------------------------------

PLANTED = [  # (sentence as planted, sentence as it must come out)
    ("Readers can write to jane.doe@news-desk.example.org or j.smith+tips@mail.abc.net.au.",
     "Readers can write to email@example.com or firstname.lastname@example.org."),
    ("The servers 10.0.0.7, 172.16.4.1, 192.168.1.20, 127.0.0.1 and 203.0.113.9 stayed internal, "
     "but 8.8.8.8 and 1.1.1.1 are public.",
     "The servers 10.0.0.7, 172.16.4.1, 192.168.1.20, 127.0.0.1 and 203.0.113.9 stayed internal, "
     "but 22.214.171.124 and 126.96.36.199 are public."),
    ("Its IPv6 address 2606:4700:4700::1111 is public; fe80::1, ::1 and 2001:db8::5 are not.",
     "Its IPv6 address 2001:db8::1 is public; fe80::1, ::1 and 2001:db8::5 are not."),
    ("Call +1 555-010-0199, (555) 010-0199 or 555.010.0199 in the US, +44 20 7946 0018 in London "
     "and 030 1234567 in Berlin.",
     "Call <PHONE>, <PHONE> or <PHONE> in the US, <PHONE> in London and <PHONE> in Berlin."),
]


def test_pii_on_real_news_redacts_exactly_the_planted_pii():
    articles = shared("text", "en", "lee_news_background.cor").read_text().splitlines()[:4]
    sentences = articles[0].split(". ")
    assert len(sentences) > 2 * len(PLANTED)
    planted, expected = list(sentences), list(sentences)
    for k, (before, after) in enumerate(PLANTED):  # after every other sentence of the article
        planted.insert(2 * k + 1, before.rstrip("."))
        expected.insert(2 * k + 1, after.rstrip("."))
    doc, want = ". ".join(planted), ". ".join(expected)
    d = Sensitive(NO_LISTS).process(batch([{"text": doc}] + [{"text": a} for a in articles[1:]]))
    texts = col(d, "text")
    assert texts[0] == want  # every other byte, the article's own numbers and times included, as it was
    assert texts[1:] == articles[1:]
    assert col(d, "sensitive.pii.email") == [2, 0, 0, 0]
    assert col(d, "sensitive.pii.ip") == [3, 0, 0, 0]  # 8.8.8.8, 1.1.1.1, 2606:4700:4700::1111
    assert col(d, "sensitive.pii.phone") == [5, 0, 0, 0]
    assert d.table.schema.field("sensitive.pii.phone").type == pa.int32()
    assert d.reasons == [None] * 4


def test_pii_finds_nothing_in_300_real_news_articles():
    articles = shared("text", "en", "lee_news_background.cor").read_text().splitlines()
    d = Sensitive(NO_LISTS).process(batch([{"text": a} for a in articles]))
    assert col(d, "text") == articles
    for kind in ("email", "ip", "phone"):
        assert set(col(d, f"sensitive.pii.{kind}")) == {0}


def test_pii_finds_the_real_contacts_in_a_gutenberg_licence_header():
    book = shared("text", "en", "gutenberg", "austen-persuasion.txt").read_text(errors="replace")
    assert "303/232/9507" in book and "(212-254-5093)" in book and "hart@vmd.cso.uiuc.edu" in book
    d = Sensitive(NO_LISTS).process(batch([{"text": book}]))
    (out,) = col(d, "text")
    assert "303/232/9507" not in out and "212-254-5093" not in out and "hart@vmd.cso.uiuc.edu" not in out
    assert "hart@uiucvmd" in out  # a BITNET address has no domain dot: datatrove's regex leaves it too
    assert col(d, "sensitive.pii.phone") == [2] and col(d, "sensitive.pii.email") == [5]
    assert out.count("<PHONE>") == 2 and len(out) < len(book)
    assert book[30_000:] in out  # the novel itself is untouched


@pytest.mark.parametrize("text", [
    "On 2023-01-15, 15.01.2023 and 01/15/2023, in 1999 and 1914-1918",
    "It cost $1,234.56, EUR 1 234 567 or 10 000 000 yen; 3.14159265358979",
    "Windows 10.0.19041.1, version 2.0.1, v1.2.3.4 and 1.2.3.4.5",
    "ISBN 978-3-16-148410-0, ISBN 0-306-40615-2, ISBN 978-0-306-40615-7",
    "order 123456789012, card 4012888888881881, ref 0301234567, ID 12345-678-9012",
    "at 12:30:45, pp. 555-010, SSN 123-45-6789, 1,000,000 people, 0.5 0.25",
    "see http://example.com/555-010-0199 and 555-010-0199-12 and (1999) 123 and 05 11 2021",
    "a C++ std::vector, the hash dead:beef:cafe, time 23:59:59, and x +1 2 = 3",
])
def test_pii_false_positives(text):
    d = Sensitive(NO_LISTS).process(batch([{"text": text}]))
    assert col(d, "text") == [text]
    assert [col(d, f"sensitive.pii.{k}")[0] for k in ("email", "ip", "phone")] == [0, 0, 0]


def test_pii_annotate_off_custom_replacements_and_rerun():
    text = "mail a@b.example.com or call (555) 010-0199 from 8.8.8.8"
    d = Sensitive({**NO_LISTS, "pii": "annotate"}).process(batch([{"text": text}]))
    assert col(d, "text") == [text]
    assert [col(d, f"sensitive.pii.{k}") for k in ("email", "ip", "phone")] == [[1], [1], [1]]
    d = Sensitive({**NO_LISTS, "pii": "off"}).process(batch([{"text": text}]))
    assert not [c for c in d.table.column_names if c.startswith("sensitive.")]
    opts = {**NO_LISTS, "pii": {"phone_replacement": ["[tel]"], "ips": False}}
    d = Sensitive(opts).process(batch([{"text": text}]))
    assert col(d, "text") == ["mail email@example.com or call [tel] from 8.8.8.8"]
    assert col(d, "sensitive.pii.ip") == [None]  # not looked for, not "none found"
    again = Sensitive(opts).process(d.table.select(["id", "source", "url", "text"]))
    assert col(again, "text") == col(d, "text")  # placeholders are not redacted twice
    assert col(again, "sensitive.pii.email") == [0] and col(again, "sensitive.pii.phone") == [0]


def test_pii_replacements_cycle_per_document_not_per_process():
    rows = [{"text": "9.9.9.9 and 8.8.8.8"}, {"text": "8.8.8.8"}]
    d = Sensitive(NO_LISTS).process(batch(rows))
    assert col(d, "text") == ["22.214.171.124 and 126.96.36.199", "22.214.171.124"]


# ---- URL blocklist -------------------------------------------------------------------------

def test_user_blocklist_domains_subdomains_and_files(tmp_path):
    listed = tmp_path / "block.txt"
    listed.write_text("# my list\nevil.example  # trailing comment\n0.0.0.0 tracker.example\n*.Wild.Example\n\n")
    urls = ["https://evil.example/a", "http://deep.sub.evil.example:8080/x?y=1", "https://notevil.example/",
            "https://tracker.example/p", "https://a.wild.example", "https://inline.example/", None,
            "https://en.wikipedia.org/wiki/Evil"]
    opts = {"pii": "off", "badwords": False,
            "url_blocklist": {"default": False, "paths": [str(listed)], "domains": ["inline.example"]}}
    d = Sensitive(opts).process(batch([{"url": u, "text": "t"} for u in urls]))
    assert col(d, "sensitive.url_blocked") == ["evil.example", "evil.example", None, "tracker.example",
                                               "wild.example", "inline.example", None, None]
    assert d.reasons == ["url_blocklist", "url_blocklist", None, "url_blocklist", "url_blocklist",
                         "url_blocklist", None, None]


@pytest.mark.slow
def test_default_blocklist_ships_in_datatrove_wheel_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUSMILL_CACHE", str(tmp_path))
    monkeypatch.setattr(blocklist_mod, "_loaded", {})
    urls = ["https://www.pornhub.com/view?v=1", "http://example.xxx/", "https://en.wikipedia.org/wiki/Toulouse",
            "https://www.abc.net.au/news"]
    d = Sensitive({"pii": "off", "url_blocklist": True, "badwords": False}).process(
        batch([{"url": u, "text": "t"} for u in urls]))
    assert col(d, "sensitive.url_blocked") == ["pornhub.com", "xxx", None, None]
    assert d.reasons == ["url_blocklist", "url_blocklist", None, None]
    built = blocklist_mod._loaded.copy()
    assert len(next(iter(built.values()))[0]) > 4_000_000
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npy", ".txt"]  # no temp files left
    monkeypatch.setattr(blocklist_mod, "_loaded", {})  # a new worker: loads the cache, same list
    again = blocklist_mod.default_list()
    assert (again[0] == next(iter(built.values()))[0]).all()


# ---- bad words ---------------------------------------------------------------------------

def test_badwords_word_boundaries_languages_and_substrings():
    rows = [
        ("What an ass. What an ASS!", "en"),          # whole words, any case
        ("The class assumed a passive voice.", "en"),  # inside words: not counted
        ("Das ist kacke.", "de"),
        ("Das ist kacke.", "en"),                      # the English list has no 'kacke'
        ("Quel con !", "fr"),
        ("Un contenu riche.", "fr"),
        ("今天他妈的又下雨了", "zh"),                    # no spaces: substrings count (C4)
        ("男女性别平等", "zh"),                          # '性' is on datatrove's allowlist
        ("What an ass.", None),                        # null lang: the default, en
        ("What an ass.", "sw"),                        # no list: not checked
        ("What an ass.", "en-GB"),
    ]
    d = Sensitive({"pii": "off", "url_blocklist": False, "badwords": C4}).process(
        batch([{"text": t} for t, _ in rows], [lang for _, lang in rows]))
    assert col(d, "sensitive.badwords") == [2, 0, 1, 0, 1, 0, 1, 0, 1, None, 1]
    assert col(d, "sensitive.badwords.words") == [["ass"], [], ["kacke"], [], ["con"], [], ["他妈的"], [], ["ass"],
                                                  None, ["ass"]]
    assert d.reasons == ["badwords", None, "badwords", None, "badwords", None, "badwords", None, "badwords",
                         None, "badwords"]
    ratios = col(d, "sensitive.badwords.ratio")
    assert ratios[0] == pytest.approx(2 / 6) and ratios[1] == 0.0 and ratios[9] is None
    assert ratios[6] == pytest.approx(1 / 9)  # per non-space character in Chinese
    assert d.table.schema.field("sensitive.badwords").type == pa.int32()


def test_badwords_thresholds_languages_and_user_lists(tmp_path):
    mine = tmp_path / "mine.txt"
    mine.write_text("# house list\nZorblax\nflim flam\n")
    texts = ["One ass here.", "Ass and ass and ass here.", "zorblax, flim flam!", "Ein arsch."]
    langs = ["en", "en", "en", "de"]
    opts = {"pii": "off", "url_blocklist": False,
            "badwords": {"min_count": 3, "min_distinct": None, "min_ratio": None, "languages": ["en"],
                         "paths": {"en": [str(mine)]}}}
    d = Sensitive(opts).process(batch([{"text": t} for t in texts], langs))
    assert col(d, "sensitive.badwords") == [1, 3, 2, None]  # German not applied
    assert d.reasons == [None, "badwords", None, None]
    opts["badwords"] = {"min_distinct": None, "min_ratio": 0.5, "packaged": False, "paths": {"xx": [str(mine)]},
                        "default_language": "xx"}
    d = Sensitive(opts).process(batch([{"text": t} for t in texts], [None, None, None, "de"]))
    assert col(d, "sensitive.badwords") == [0, 0, 2, None]
    assert d.reasons == [None, None, "badwords", None]  # 2 of 3 words


def test_badwords_decisions_match_datatrove_c4_filter_on_real_books(tmp_path, monkeypatch):
    """datatrove's C4BadWordsFilter itself, fed the same list, on real Gutenberg text."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import c4_filters

    from corpusmill.stages.sensitive.badwords import packaged_words

    books = sorted(shared("text", "en", "gutenberg").glob("*.txt"))
    docs = []
    for book in books:
        text = book.read_text(errors="replace")
        docs += [text[i:i + 4000] for i in range(0, min(len(text), 120_000), 4000)]
    words = tmp_path / "en"
    words.write_text("\n".join(packaged_words("en")))
    monkeypatch.setattr(c4_filters, "cached_asset_path_or_download", lambda *a, **k: str(words))
    c4 = c4_filters.C4BadWordsFilter()
    theirs = [c4.filter(Document(text=t, id=str(i), metadata={"language": "en"})) is True
              for i, t in enumerate(docs)]
    d = Sensitive({"pii": "off", "url_blocklist": False, "badwords": C4}).process(batch([{"text": t} for t in docs]))
    ours = [r is None for r in d.reasons]
    assert ours == theirs
    assert 0 < ours.count(False) < len(docs)  # the comparison means something


def wikipedia_articles(limit: int) -> list[str]:
    """The first `limit` articles (wikitext to text costs ~0.2 s an article)."""
    from itertools import islice

    from corpusmill.pipeline.config import InputSpec
    from corpusmill.pipeline.parts import Part
    from corpusmill.stages.ingest import mediawiki

    (dump,) = shared("wiki").glob("*.bz2")
    part = Part("wiki", str(dump), dump.name, "mediawiki")
    pages = mediawiki.read(part, InputSpec(name="wiki", path=str(dump)))
    return list(islice((r["text"] for r in pages if isinstance(r, dict) and r.get("text")), limit))


@pytest.mark.slow
def test_default_rule_keeps_real_wikipedia_that_c4s_rule_removes():
    articles = wikipedia_articles(30)
    assert len(articles) == 30
    rows = batch([{"text": t} for t in articles])
    c4 = Sensitive({"pii": "off", "badwords": C4}).process(rows)
    default = Sensitive({"pii": "off", "badwords": True}).process(rows)
    assert c4.reasons.count("badwords") > 0.3 * len(articles)  # C4: any one listed word ('sex', 'rape', ...)
    assert default.reasons.count("badwords") == 0
    assert col(default, "sensitive.badwords.words") == col(c4, "sensitive.badwords.words")  # same annotations
    by_word = c4.counters["badwords.removed_by_word"]
    assert by_word["sex"] >= 5 and sum(by_word.values()) >= c4.reasons.count("badwords")
    assert default.counters["badwords.removed_by_word"] == {}
    assert default.counters["badwords.documents_by_word"] == c4.counters["badwords.documents_by_word"]


def test_default_rule_removes_text_dense_in_different_listed_words():
    prose = "The committee met on Tuesday to discuss the budget for the new library and its gardens. " * 20
    spam = "hot milf porn videos, free xxx sex cams, nude teens and anal clips updated daily. " * 3
    d = Sensitive({"pii": "off", "badwords": True}).process(batch([{"text": prose}, {"text": prose + spam}]))
    assert d.reasons == [None, "badwords"]
    assert col(d, "sensitive.badwords.words")[1] == ["anal", "milf", "nude", "porn", "sex", "xxx"]
    assert d.counters["badwords.removed_by_word"] == {w: 1 for w in ["anal", "milf", "nude", "porn", "sex", "xxx"]}


def test_pii_alone_removes_nothing_and_says_what_changed():
    o = SensitiveOptions.model_validate({"pii": "redact"})
    assert o.url_blocklist is None and o.badwords is None
    (notice,) = o.notices()
    assert "url_blocklist and badwords not named, so off" in notice and "0.1.0" in notice
    d = Sensitive(o).process(batch([{"text": "intercourse in chapter xxx", "url": "https://www.pornhub.com/"}]))
    assert d.reasons == [None]
    assert [c for c in d.table.column_names if c.startswith("sensitive.")] == [
        "sensitive.pii.email", "sensitive.pii.ip", "sensitive.pii.phone"]
    named = SensitiveOptions.model_validate({"pii": "redact", "url_blocklist": False, "badwords": True})
    (notice,) = named.notices()  # the lists are named; the badwords rule is the default: say which
    assert "3 different listed words" in notice and "5 per 1,000 words" in notice and "C4" in notice
    assert SensitiveOptions.model_validate({"url_blocklist": False, "badwords": {"min_distinct": 2}}).notices() == []


# ---- options and protocol ------------------------------------------------------------------

def test_options_short_forms_and_errors():
    o = SensitiveOptions.model_validate({"pii": "redact", "url_blocklist": True, "badwords": True})
    assert o.pii.mode == "redact" and o.url_blocklist.default
    assert (o.badwords.min_count, o.badwords.min_distinct, o.badwords.min_ratio) == (None, 3, 0.005)
    o = SensitiveOptions.model_validate({"pii": False, "url_blocklist": {"default": False, "paths": ["x.txt"]},
                                         "badwords": False})
    assert o.pii.mode == "off" and o.url_blocklist.paths == ["x.txt"] and o.badwords is None
    for bad in ({"pii": "scrub"}, {"url_blocklist": {"defualt": True}}, {"badwords": {"min_count": 0}},
                {"colour": 1}, {"badwords": {"min_distinct": None, "min_ratio": None}}):
        with pytest.raises(ValidationError):
            SensitiveOptions.model_validate(bad)
    (stage,) = build_stages([{"sensitive": {"pii": "redact", "url_blocklist": False, "badwords": True}}])
    assert isinstance(stage, Sensitive)


def test_works_without_setup_and_pickles_without_its_lists():
    s = Sensitive({"url_blocklist": {"default": False, "domains": ["evil.example"]}})
    b = batch([{"text": "mail x@y.example.com", "url": "https://evil.example/"}])
    first = s.process(b)  # no setup(): built on first use
    clone = pickle.loads(pickle.dumps(s))
    assert "badwords" not in clone.__dict__ and clone.options == s.options
    assert clone.process(b).table.equals(first.table)
    assert first.reasons == ["url_blocklist"] and col(first, "text") == ["mail email@example.com"]
