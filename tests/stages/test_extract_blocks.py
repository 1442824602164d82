"""How the `auto` engine's block model cuts a page into blocks and describes them: block tags start
a block, inline tags do not, scripts and styles are never text, link text is counted, class/id cue
words and ancestor tags become bits, and the container features find the element that holds the prose."""
import numpy as np

from corpusmill.stages.extract_blocks import (CUES, N_BITS, TAG_FLAGS, block_features, container_flags, kept_text,
                                              segment)
from fixtures import article_html


def _cue(name: str) -> int:
    return 1 << (len(TAG_FLAGS) + CUES.index(name))


def _tag(name: str) -> int:
    return 1 << TAG_FLAGS.index(name)


def test_blocks_follow_block_tags_and_skip_code():
    b = segment("<html><head><title>T</title><style>p{}</style></head><body>"
                "<p>One <b>bold</b> and <a href='/x'>a link</a>.</p><script>var x = '<p>no</p>';</script>"
                "<div>Line one<br>line two</div><ul><li>Item</li></ul>tail text</body></html>")
    assert b.texts == ["One bold and a link.", "Line one", "line two", "Item", "tail text"]
    assert b.link_chars[0] == len("alink") and b.link_chars[1:] == [0, 0, 0, 0]  # visible characters
    assert b.bits[3] & _tag("li") and not b.bits[0] & _tag("li")
    # spans are recorded for block elements holding two blocks or more: the <div> (its two lines), the <body>
    assert all(end - first > 1 for _, first, end in b.spans)
    assert {(first, end) for _, first, end in b.spans} >= {(1, 3), (0, 5)}


def test_context_and_link_density_survive_odd_markup():
    # text after a block closed inside a link belongs to the link's parent, not the link
    b = segment("<div class=content><a class=share-card><div>Card</div></a> Real body text</div>")
    assert b.texts == ["Card", "Real body text"] and not b.bits[1] & (_tag("a") | _cue("share"))
    # a pretty-printed anchor's indent is not link text
    b = segment("<p>Some words <a href='/x'>\n   link\n  </a> after.</p>")
    assert b.texts == ["Some words link after."] and b.link_chars == [4]
    # 300 unclosed <div>s: libxml2's default depth limit (~255) would drop what follows
    b = segment("<p>before</p>" + "<div>" * 300 + "<p>deep</p>")
    assert b.texts == ["before", "deep"]


def test_class_and_id_words_become_cue_bits():
    b = segment("<body><div id='site-footer'><p>Footer words here</p></div>"
                "<div class='entry-content'><p>Story words here</p></div>"
                "<aside class='SidebarWidget'><p>Side words</p></aside></body>")
    foot, story, side = b.bits
    assert foot & _cue("foot") and not foot & _cue("content")
    assert story & _cue("content") and story & _cue("post|entry") and not story & _cue("foot")
    assert side & _cue("side") and side & _cue("widget") and side & _tag("aside")


def test_odd_input_gives_no_blocks_or_plain_text():
    assert segment("").texts == [] and segment("   ").texts == []
    assert segment("just text, no tags").texts == ["just text, no tags"]
    # a str that declares its encoding (lxml refuses those as str) is parsed as UTF-8
    declared = '<?xml version="1.0" encoding="iso-8859-1"?><html><body><p>H\u00e9llo</p></body></html>'
    assert segment(declared).texts == ["H\u00e9llo"]
    # lxml cuts a str it cannot encode short (a lone surrogate): the text around it is still found
    assert segment("\ud800 odd <p>x</p>").texts == ["? odd", "x"]
    assert segment("<p>a\ud800b</p><p>c</p>").texts == ["a?b", "c"]
    assert segment("a\x00b<p>x</p>").texts == ["a\ufffdb", "x"]


def test_features_have_one_row_per_block_and_find_the_container():
    b = segment(article_html(7))
    x = block_features(b)
    assert x.shape[0] == len(b.texts) and np.isfinite(x).all()
    assert x.shape[1] > N_BITS
    # the four long paragraphs are the sentence-like text; the <article> holds all of it, the nav does not
    weight = np.array([len(t) if "Paragraph" in t else 0.0 for t in b.texts])
    flags = container_flags(weight, b.spans, (0.5,))
    inside = [t for t, f in zip(b.texts, flags[:, 0]) if f]
    assert all(f"Paragraph {j} of story 7" in " ".join(inside) for j in range(4))
    assert "Home" not in inside and not any("All rights reserved" in t for t in inside)
    assert container_flags(np.zeros(len(b.texts)), b.spans, (0.5,)).sum() == 0


def test_kept_text_keeps_page_order():
    b = segment("<body><p>a</p><p>b</p><p>c</p></body>")
    assert kept_text(b, np.array([0.9, 0.1, 0.6]), 0.5) == "a\nc"
    assert kept_text(b, np.array([0.1, 0.1, 0.1]), 0.5) == ""
