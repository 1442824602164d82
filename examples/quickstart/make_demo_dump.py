#!/usr/bin/env python3
"""Generate a small synthetic Common-Crawl-like WARC dump for the corpusmill quickstart.

    python examples/quickstart/make_demo_dump.py OUTDIR [--pages N]

Writes OUTDIR/demo-00000.warc.gz and OUTDIR/demo-00001.warc.gz (per-record gzip,
WARC/1.0) and prints a one-line JSON summary. All text is generated here from
templates; nothing is downloaded. Output is byte-identical across runs: fixed
seed, fixed dates, uuid5 record ids, and zlib's gzip header (mtime=0).
It contains what a cleaning pipeline must handle: boilerplate around <article> text,
exact/near duplicates, six languages, junk, planted PII (documentation-only emails,
phones, IPs), legacy charsets, non-HTML payloads, non-200s, request/metadata records.
"""
import argparse
import datetime as dt
import html
import io
import json
import random
import struct
import sys
import unicodedata
import uuid
import zlib
from collections import Counter
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SEED = 20240501
BASE_DATE = dt.datetime(2024, 5, 1, 12, 0, 0)
HTTP_DATE = "Wed, 01 May 2024 12:00:00 GMT"
ID_NAMESPACE = uuid.UUID("6f1c2a3e-0d4b-5e7f-8a9b-c0d1e2f30405")
# Fixed proportions of the N html pages (the rest are originals).
DUP_FRAC, NEAR_FRAC, JUNK_FRAC, PII_FRAC = 0.05, 0.05, 0.04, 0.10
LANG_FRAC = {"de": 0.08, "fr": 0.07, "es": 0.07, "zh": 0.06, "ja": 0.02}  # en gets the rest

# --- English: per-topic vocabulary over shared sentence templates ------------------------
TOPICS = {
    "cooking": ("www.kitchen-notes.test", dict(
        subj=["home cooks", "bakers", "young chefs", "food writers", "market vendors"],
        verb=["prepare", "season", "ferment", "roast", "share"],
        obj=["sourdough loaves", "seasonal vegetables", "spice blends", "fish stews", "family recipes"],
        adj=["crisp", "rustic", "fragrant", "simple", "comforting"],
        place=["Lyon", "a small harbour town", "the old market district", "northern Portugal"])),
    "travel": ("www.wanderlog-journal.test", dict(
        subj=["backpackers", "rail travellers", "local guides", "hikers", "families"],
        verb=["explore", "photograph", "map", "recommend", "revisit"],
        obj=["mountain passes", "night trains", "coastal paths", "quiet villages", "island ferries"],
        adj=["remote", "scenic", "affordable", "crowded", "unforgettable"],
        place=["the Scottish Highlands", "Lisbon", "a valley near Salzburg", "the Baltic coast"])),
    "science": ("www.labbench-daily.test", dict(
        subj=["researchers", "students", "field biologists", "astronomers", "chemists"],
        verb=["measure", "model", "observe", "sequence", "simulate"],
        obj=["soil microbes", "distant galaxies", "ocean currents", "protein folds", "rare minerals"],
        adj=["precise", "surprising", "reproducible", "noisy", "promising"],
        place=["a university lab", "an Arctic research station", "the national observatory", "a coastal field site"])),
    "sports": ("www.matchday-report.test", dict(
        subj=["coaches", "midfielders", "club fans", "young sprinters", "goalkeepers"],
        verb=["analyse", "practise", "celebrate", "study", "rethink"],
        obj=["set pieces", "training schedules", "away fixtures", "recovery routines", "penalty shootouts"],
        adj=["tense", "disciplined", "dramatic", "tactical", "exhausting"],
        place=["the home stadium", "a regional league", "the summer tournament", "a mountain training camp"])),
    "history": ("www.oldmaps-archive.test", dict(
        subj=["historians", "archivists", "local societies", "collectors", "museum curators"],
        verb=["catalogue", "restore", "reinterpret", "digitise", "debate"],
        obj=["trade ledgers", "medieval charters", "old city maps", "wartime letters", "parish records"],
        adj=["fragile", "overlooked", "remarkable", "contested", "well-preserved"],
        place=["a cathedral library", "the county archive", "an abandoned mill", "a merchant house"])),
    "technology": ("www.circuit-weekly.test", dict(
        subj=["developers", "hardware hobbyists", "startups", "system administrators", "open-source teams"],
        verb=["benchmark", "refactor", "deploy", "prototype", "document"],
        obj=["battery controllers", "compiler passes", "edge devices", "database indexes", "build pipelines"],
        adj=["efficient", "reliable", "experimental", "lightweight", "costly"],
        place=["a shared workshop", "a small data centre", "a university spin-off", "a remote-first company"])),
}
EN_SENT = [
    "{Subj} in {place} {verb} {obj} with surprising care.",
    "Many {adj} projects start when {subj} {verb} {obj} for the first time.",
    "According to {person}, the hardest part is learning how {subj} {verb} {obj}.",
    "Over the last {num} years, {place} has become known for {adj} {obj}.",
    "It is easy to overlook how {adj} {obj} can be.",
    "{person} first noticed the trend in {year}, when {subj} began to {verb} {obj}.",
    "Critics argue that {subj} {verb} {obj} too often and too quickly.",
    "The result is {adj}, though not always in the way people expect.",
    "In {place}, a small group of {subj} meets every week to compare notes.",
    "Nobody claims the answer is simple, but {adj} {obj} are a good place to start.",
    "A survey of {num} {subj} found that most of them {verb} {obj} at least once a month.",
    "{person} says the key is patience, because {subj} who {verb} {obj} slowly tend to do better.",
]
EN_TITLE = ["Why {subj} {verb} {obj}", "A {adj} guide to {obj}", "{Num} lessons from {subj} in {place}",
            "How {place} learned to love {obj}", "What {subj} get wrong about {obj}"]
FIRST = ["Anna", "Tomas", "Lena", "Marco", "Sofia", "Jonas", "Clara", "Peter", "Elena", "Hugo"]
LAST = ["Berger", "Moreau", "Lindqvist", "Ortega", "Hale", "Novak", "Fischer", "Duarte", "Marsh", "Keller"]

# --- Other languages: one small vocabulary each; zh/ja persons are fixed names ----------
LANGS = {
    "de": ("www.beispiel-zeitung.test", dict(
        subj=["Die Forscher", "Viele Familien", "Die Köche", "Junge Reisende", "Die Spieler"],
        verb=["entdecken", "planen", "verbessern", "diskutieren", "teilen"],
        obj=["neue Rezepte", "alte Stadtpläne", "schnellere Rechner", "lange Wanderwege", "kleine Gärten"],
        adj=["erstaunlich", "einfach", "wichtig", "gründlich", "überraschend"],
        place=["in Hamburg", "in München", "am Bodensee", "in Leipzig"]),
        ["{Subj} {verb} {place} {obj}.", "Das Ergebnis ist {adj}, sagt {person}.",
         "Seit {num} Jahren {verb} {subj} {obj}, und das mit großem Erfolg.",
         "Nicht alle finden das {adj}, aber die Zahlen sprechen für sich.",
         "{Place} {verb} {subj} {obj} besonders gern.", "Laut {person} ist der Weg dorthin {adj} und lohnend."],
        ["Warum {subj} {obj} {verb}", "{Obj} {place}: ein Bericht"]),
    "fr": ("www.journal-exemple.test", dict(
        subj=["Les chercheurs", "Les cuisiniers", "De nombreuses familles", "Les voyageurs", "Les joueurs"],
        verb=["découvrent", "préparent", "améliorent", "étudient", "partagent"],
        obj=["des recettes oubliées", "des cartes anciennes", "des itinéraires côtiers", "des œuvres d’art", "des logiciels libres"],
        adj=["étonnant", "délicat", "précieux", "très élégant", "inattendu"],
        place=["à Lyon", "à Marseille", "en Bretagne", "près de Genève"]),
        ["{Subj} {verb} {obj} {place}.", "Selon {person}, le résultat est {adj}.",
         "Depuis {num} ans, {subj} {verb} {obj} avec une patience remarquable.",
         "Ce n’est pas toujours facile, mais l’expérience reste {adj}.",
         "{Place}, on dit que {subj} {verb} {obj} chaque été.",
         "« Nous avançons pas à pas », explique {person}.", "Le coût total s’élève à {num} €."],
        ["Pourquoi {subj} {verb} {obj}", "{Obj} {place} : enquête"]),
    "es": ("www.diario-ejemplo.test", dict(
        subj=["Los investigadores", "Muchas familias", "Los cocineros", "Los viajeros", "Los aficionados"],
        verb=["descubren", "preparan", "mejoran", "estudian", "comparten"],
        obj=["recetas tradicionales", "mapas antiguos", "rutas de montaña", "nuevas tecnologías", "partidos históricos"],
        adj=["sorprendente", "sencillo", "valioso", "fascinante", "curioso"],
        place=["en Sevilla", "en Valencia", "cerca de Bilbao", "en la costa gallega"]),
        ["{Subj} {verb} {obj} {place}.", "Según {person}, el resultado es {adj}.",
         "Desde hace {num} años, {subj} {verb} {obj} con mucha paciencia.",
         "¿Por qué es tan {adj}? La respuesta no es evidente.",
         "{Place}, {subj} {verb} {obj} cada fin de semana."],
        ["¿Por qué {subj} {verb} {obj}?", "{Obj} {place}: un reportaje"]),
    "zh": ("www.shili-xinwen.test", dict(
        subj=["研究人员", "许多家庭", "年轻的厨师", "游客们", "球员们"],
        verb=["发现了", "准备了", "改进了", "讨论了", "分享了"],
        obj=["新的食谱", "古老的地图", "更快的电脑", "漫长的徒步路线", "传统的手艺"],
        adj=["令人惊讶", "非常简单", "十分重要", "很有意思"],
        place=["北京", "上海", "杭州", "成都"], person=["王先生", "李女士", "张教授", "陈老师"]),
        ["{subj}在{place}{verb}{obj}。", "据{person}介绍，结果{adj}。", "过去{num}年里，{subj}一直在研究{obj}。",
         "这件事{adj}，但并不容易。", "在{place}，越来越多的人开始关注{obj}。"],
        ["{subj}为什么关注{obj}", "{place}的{obj}：一份调查报告"]),
    "ja": ("www.rei-shinbun.test", dict(
        subj=["研究者たち", "多くの家族", "若い料理人", "旅行者"],
        verb=["を発見しました", "を準備しました", "について話し合いました", "を改良しました"],
        obj=["新しいレシピ", "古い地図", "速いコンピューター", "長いハイキングコース"],
        adj=["とても興味深い", "意外に簡単", "非常に重要"],
        place=["東京", "大阪", "京都", "札幌"], person=["田中さん", "佐藤さん", "鈴木教授"]),
        ["{subj}は{place}で{obj}{verb}。", "{person}によると、結果は{adj}です。",
         "この{num}年間、{subj}は{obj}を研究してきました。", "{place}では、{obj}に注目する人が増えています。"],
        ["{place}の{obj}について", "{subj}と{obj}"]),
}
# Boilerplate per language: nav labels, cookie text, accept button, sidebar heading, footer.
BOILER = {
    "en": (["Home", "World", "Culture", "Opinion", "Subscribe"], "We use cookies to improve your experience.", "Accept all", "Related stories", "© {y} {site}. All rights reserved."),
    "de": (["Startseite", "Politik", "Kultur", "Meinung", "Abo"], "Wir verwenden Cookies, um Ihr Erlebnis zu verbessern.", "Alle akzeptieren", "Mehr zum Thema", "© {y} {site}. Alle Rechte vorbehalten."),
    "fr": (["Accueil", "Monde", "Culture", "Débats", "S’abonner"], "Nous utilisons des cookies pour améliorer votre expérience.", "Tout accepter", "À lire aussi", "© {y} {site}. Tous droits réservés."),
    "es": (["Inicio", "Mundo", "Cultura", "Opinión", "Suscríbete"], "Utilizamos cookies para mejorar su experiencia.", "Aceptar todo", "Relacionados", "© {y} {site}. Todos los derechos reservados."),
    "zh": (["首页", "国际", "文化", "评论", "订阅"], "我们使用Cookie来改善您的体验。", "全部接受", "相关文章", "{site} 版权所有 {y}"),
    "ja": (["ホーム", "国際", "文化", "オピニオン", "購読"], "当サイトではCookieを使用しています。", "同意する", "関連記事", "© {y} {site} 無断転載禁止"),
}
JUNK_HOSTS = {"linklist": "www.top-links-directory.test", "seo": "www.best-cheap-deals.test",
              "notfound": "www.old-blog-host.test", "lorem": "www.new-site-builder.test"}
THEMES = ["classic", "magazine", "compact"]
SYNDICATORS = ["www.newswire-partner.test", "www.daily-aggregator.test", "www.regional-post.test"]
# PII uses only reserved/documentation values (example.* domains, 555-01xx, RFC 5737/3849 IPs).
PII_SENT = [
    "For questions about this story, write to {email} or call +1 555-01{n2}.",
    "Readers can reach the editorial desk at (555) 010-01{n2} or by email at {email}.",
    "The London office answers on +44 20 7946 0018, the Berlin office on 030 1234567.",
    "Logs showed requests from {pubip} and from the internal hosts 10.0.0.5 and 192.168.1.20.",
    "The test server was reachable at {pubip} and over IPv6 at 2001:db8::1.",
]


def make_person(rng, vocab):
    return rng.choice(vocab["person"]) if "person" in vocab else f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def fill(rng, template, vocab):
    """Fill {slot}/{Slot} placeholders; a capitalised slot capitalises only the first character."""
    vals = {k: rng.choice(v) for k, v in vocab.items() if k != "person"}
    vals.update(person=make_person(rng, vocab), num=str(rng.randint(3, 40)), year=str(rng.randint(1998, 2023)))
    caps = {k[0].upper() + k[1:]: v[0].upper() + v[1:] for k, v in vals.items()}
    # Mid-sentence use of a capitalised noun phrase ("Die Forscher") is lowered ("die Forscher").
    low = {k: (v[0].lower() + v[1:] if k == "subj" else v) for k, v in vals.items()}
    return template.format(**low, **caps)


def make_article(rng, lang, topic):
    host, vocab, sents, titles = (*TOPICS[topic], EN_SENT, EN_TITLE) if lang == "en" else LANGS[lang]
    sep = "" if lang in ("zh", "ja") else " "
    title = fill(rng, rng.choice(titles), vocab)
    paras = [sep.join(fill(rng, rng.choice(sents), vocab) for _ in range(rng.randint(3, 8)))
             for _ in range(rng.randint(3, 6))]
    return dict(host=host, vocab=vocab, titles=titles, title=title, paras=paras, lang=lang)


def slug(text):
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in ascii_).split()
    return "-".join(words[:8]) or "article"


def render(art, site, theme, rng, charset="utf-8"):
    """Full page: cookie banner, nav, article, sidebar, footer -- boilerplate for the extractor to strip."""
    nav, cookie, accept, related, rights = BOILER[art["lang"]]
    e = html.escape
    navs = "".join(f'<li><a href="/{slug(n) or "s%d" % i}/">{e(n)}</a></li>' for i, n in enumerate(nav))
    links = "".join(f'<li><a href="/story/{rng.randint(1000, 9999)}.html">{e(fill(rng, rng.choice(art["titles"]), art["vocab"]))}</a></li>'
                    for _ in range(5))
    body = "\n".join(f"<p>{e(p)}</p>" for p in art["paras"])
    aside = f'<aside class="sidebar"><h2>{e(related)}</h2><ul>{links}</ul></aside>'
    article = (f'<article>\n<h1>{e(art["title"])}</h1>\n<p class="byline">{e(make_person(rng, art["vocab"]))}'
               f' · 2024-0{rng.randint(1, 4)}-{rng.randint(10, 28)}</p>\n{body}\n</article>')
    main = f"{aside}\n{article}" if theme == "magazine" else f"{article}\n{aside}"
    extra = '<div class="newsletter"><form action="/subscribe"><input type="email" name="e"><button>OK</button></form></div>' if theme != "compact" else ""
    return (f'<!DOCTYPE html>\n<html lang="{art["lang"]}">\n<head>\n<meta charset="{charset}">\n'
            f'<title>{e(art["title"])} | {site}</title>\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="stylesheet" href="/static/{theme}.css">\n</head>\n<body class="{theme}">\n'
            f'<div id="cookie-banner" class="consent">{e(cookie)} <button>{e(accept)}</button></div>\n'
            f'<header><a class="logo" href="/">{site}</a><nav><ul>{navs}</ul></nav></header>\n'
            f'<main>\n{main}\n{extra}\n</main>\n<footer><p>{e(rights.format(y=2024, site=site))}</p>'
            f'<a href="/privacy">Privacy</a> <a href="/imprint">Imprint</a></footer>\n'
            f'<script>window.dataLayer=[];</script>\n</body>\n</html>\n')


def junk_page(rng, kind, i):
    """Low-quality pages a quality filter should drop."""
    if kind == "linklist":
        items = "".join(f'<li><a href="https://site{rng.randint(1, 999)}.links.test/">best {rng.choice(["loans", "casino", "pills", "hotels"])} {n}</a></li>' for n in range(60))
        return "Top Links Directory", f"<ul>{items}</ul>"
    if kind == "seo":
        kw = ["cheap flights", "cheap hotels", "best price", "buy now", "discount", "free shipping"]
        return "cheap flights cheap hotels best price", "<p>" + " ".join(rng.choice(kw) for _ in range(150)) + "</p>"
    if kind == "notfound":
        return "Page not found", f"<p>Page not found. Reference {i:03d}.</p>"
    return "Lorem ipsum", "\n".join(f"<p>Lorem ipsum dolor sit amet, placeholder text {i} goes here.</p>" for _ in range(40))


def tiny_png():
    """Valid 2x2 grey PNG built with zlib (deterministic)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def tiny_pdf(text):
    """Minimal single-page PDF with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offs = bytearray(b"%PDF-1.4\n"), []
    for n, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def resp(url, body, ctype, kind, status="200 OK", headers=(), **tags):
    return dict(url=url, body=body, ctype=ctype, kind=kind, status=status, headers=list(headers), **tags)


def build_items(n_pages, rng):
    # At least one junk page of each of the four kinds, even for small --pages.
    n_dup, n_near, n_junk = round(n_pages * DUP_FRAC), round(n_pages * NEAR_FRAC), max(4, round(n_pages * JUNK_FRAC))
    n_orig = n_pages - n_dup - n_near - n_junk
    langs = [lang for lang, f in LANG_FRAC.items() for _ in range(max(1, round(n_orig * f)))]
    langs += ["en"] * (n_orig - len(langs))
    rng.shuffle(langs)
    arts = [make_article(rng, lang, rng.choice(sorted(TOPICS))) for lang in langs]
    # Legacy charsets: the first French page as windows-1252, the first Chinese page as GBK.
    charsets = ["utf-8"] * n_orig
    charsets[langs.index("fr")], charsets[langs.index("zh")] = "windows-1252", "GBK"
    en_idx = [i for i, lang in enumerate(langs) if lang == "en"]
    pii = set(rng.sample(en_idx, min(len(en_idx), round(n_orig * PII_FRAC))))
    items, pages = [], []
    for i, art in enumerate(arts):
        if i in pii:  # plant one or two PII sentences into a random paragraph
            for _ in range(rng.randint(1, 2)):
                s = rng.choice(PII_SENT).format(
                    email=f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}@{rng.choice(['example.com', 'example.org'])}",
                    n2=f"{rng.randint(0, 99):02d}", pubip=f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randint(1, 254)}")
                art["paras"][rng.randrange(len(art["paras"]))] += " " + s
        path = f"/2024/0{rng.randint(1, 4)}/{slug(art['title'])}-{i:04d}.html" if art["lang"] in ("en", "de", "fr", "es") else f"/news/{i:04d}.html"
        page = render(art, art["host"].split(".")[1], THEMES[i % 3], rng, charsets[i]).encode(charsets[i])
        items.append(resp(f"https://{art['host']}{path}", page, f"text/html; charset={charsets[i]}", "page",
                          lang=art["lang"], pii=i in pii, charset=charsets[i]))
        pages.append((art, path))
    originals = list(items)
    safe = [j for j, it in enumerate(originals) if it["charset"] == "utf-8"]
    for n, j in enumerate(rng.sample(safe, n_dup)):  # exact duplicate: same bytes, different URL
        host, path = pages[j][0]["host"], pages[j][1]
        url = f"https://mirror.{host[4:]}{path}" if n % 2 else f"https://{host}{path}?utm_source=newsletter&utm_medium=email"
        items.append(dict(originals[j], url=url, kind="dup"))
    spaced = [j for j in safe if originals[j]["lang"] in ("en", "de", "fr", "es")]
    for j in rng.sample(spaced, n_near):  # near duplicate: 3 words swapped, different site/theme
        art, path = pages[j]
        paras = [p.split(" ") for p in art["paras"]]
        for _ in range(3):  # only plain words, so planted PII survives intact
            p = paras[rng.randrange(len(paras))]
            k = rng.choice([n for n, w in enumerate(p) if w.isalpha()])
            p[k] = rng.choice(art["vocab"]["adj"]).split()[-1]
        site = rng.choice(SYNDICATORS)
        body = render(dict(art, paras=[" ".join(p) for p in paras]), site.split(".")[1], rng.choice(THEMES), rng).encode()
        items.append(resp(f"https://{site}/syndicated{path}", body, "text/html; charset=utf-8", "near",
                          lang=art["lang"], pii=originals[j]["pii"]))
    for n in range(n_junk):
        kind = ["linklist", "seo", "notfound", "lorem"][n % 4]
        title, inner = junk_page(rng, kind, n)
        body = (f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{title}</title>'
                f'<meta name="keywords" content="{title}"></head>\n<body>\n<h1>{title}</h1>\n{inner}\n</body>\n</html>\n')
        items.append(resp(f"https://{JUNK_HOSTS[kind]}/p/{n}.html", body.encode(), "text/html; charset=utf-8", "junk", lang="en", pii=False))
    # Fixed extras: plain text, binaries, non-200.
    robots = b"User-agent: *\nDisallow: /admin/\nSitemap: https://www.circuit-weekly.test/sitemap.xml\n"
    items.append(resp("https://www.circuit-weekly.test/robots.txt", robots, "text/plain; charset=utf-8", "text"))
    for n, topic in enumerate(["science", "technology"]):
        art = make_article(rng, "en", topic)
        txt = art["title"] + "\n\n" + "\n\n".join(art["paras"]) + "\n"
        items.append(resp(f"https://{art['host']}/notes/{n}.txt", txt.encode(), "text/plain; charset=utf-8", "text"))
    png = tiny_png()
    for host in ("www.kitchen-notes.test", "www.wanderlog-journal.test"):
        items.append(resp(f"https://{host}/images/logo.png", png, "image/png", "binary"))
    items.append(resp("https://www.labbench-daily.test/reports/annual-report-2023.pdf", tiny_pdf("Annual report 2023"), "application/pdf", "binary"))
    for host in ("www.matchday-report.test", "www.oldmaps-archive.test"):
        items.append(resp(f"https://{host}/missing-page.html", b"<html><body><h1>404 Not Found</h1></body></html>\n",
                          "text/html; charset=utf-8", "error", status="404 Not Found"))
        items.append(resp(f"http://{host}/", b"<html><body>Moved Permanently</body></html>\n", "text/html; charset=utf-8",
                          "error", status="301 Moved Permanently", headers=[("Location", f"https://{host}/")]))
    for it in items:  # Common-Crawl style: some captures come as request/response/metadata triples
        it["with_request"] = rng.random() < 0.35
    rng.shuffle(items)
    return items


class Writer:
    """Wraps WARCWriter with deterministic record ids and dates."""

    def __init__(self, fh, fname):
        self.w, self.fname, self.n = WARCWriter(fh, gzip=True, warc_version="1.0"), fname, 0

    def headers(self, extra=None):
        self.n += 1
        rid = f"<urn:uuid:{uuid.uuid5(ID_NAMESPACE, f'{self.fname}/{self.n}')}>"
        date = (BASE_DATE + dt.timedelta(seconds=self.n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return dict({"WARC-Record-ID": rid, "WARC-Date": date}, **(extra or {}))

    def warcinfo(self):
        info = (b"software: corpusmill examples/quickstart/make_demo_dump.py\r\nformat: WARC File Format 1.0\r\n"
                b"isPartOf: corpusmill-demo\r\ndescription: synthetic demo crawl, generated text only\r\n")
        rec = self.w.create_warc_record("", "warcinfo", payload=io.BytesIO(info), length=len(info),
                                        warc_content_type="application/warc-fields",
                                        warc_headers_dict=self.headers({"WARC-Filename": self.fname}))
        self.w.write_record(rec)

    def capture(self, it):
        hdrs = [("Date", HTTP_DATE), ("Server", "nginx"), ("Content-Type", it["ctype"]),
                ("Content-Length", str(len(it["body"])))] + it["headers"] + [("Connection", "close")]
        http = StatusAndHeaders(it["status"], hdrs, protocol="HTTP/1.1")
        req_h = self.headers() if it["with_request"] else None  # request gets the earlier id/date
        resp_h = self.headers()
        if req_h:
            host, _, path = it["url"].split("://", 1)[1].partition("/")
            req = StatusAndHeaders(f"GET /{path} HTTP/1.1", [("Host", host), ("User-Agent", "corpusmill-demo/1.0"),
                                   ("Accept", "*/*")], is_http_request=True)
            req_h["WARC-Concurrent-To"] = resp_h["WARC-Record-ID"]
            self.w.write_record(self.w.create_warc_record(it["url"], "request", http_headers=req, warc_headers_dict=req_h))
        self.w.write_record(self.w.create_warc_record(it["url"], "response", payload=io.BytesIO(it["body"]),
                                                      length=len(it["body"]), http_headers=http, warc_headers_dict=resp_h))
        if req_h:
            meta = f"fetchTimeMs: {len(it['body']) % 900 + 40}\r\n".encode()
            self.w.write_record(self.w.create_warc_record(it["url"], "metadata", payload=io.BytesIO(meta), length=len(meta),
                                warc_content_type="application/warc-fields",
                                warc_headers_dict=self.headers({"WARC-Concurrent-To": resp_h["WARC-Record-ID"]})))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--pages", type=int, default=240, help="number of HTML 200 pages (min 40)")
    args = ap.parse_args(argv)
    if args.pages < 40:
        ap.error("--pages must be at least 40 so every kind of page is present")
    items = build_items(args.pages, random.Random(SEED))
    args.outdir.mkdir(parents=True, exist_ok=True)
    half, total, records = (len(items) + 1) // 2, 0, Counter()
    for k, chunk in enumerate([items[:half], items[half:]]):
        path = args.outdir / f"demo-{k:05d}.warc.gz"
        with open(path, "wb") as fh:
            w = Writer(fh, path.name)
            w.warcinfo()
            for it in chunk:
                w.capture(it)
        total += path.stat().st_size
        triples = sum(i["with_request"] for i in chunk)
        records.update(warcinfo=1, response=len(chunk), request=triples, metadata=triples)
    kinds = Counter(i["kind"] for i in items)
    html_pages = [i for i in items if i["kind"] in ("page", "dup", "near", "junk")]
    langs = Counter(i["lang"] for i in html_pages if i["kind"] != "junk")  # junk is not counted per language
    summary = dict(files=2, bytes=total, records=dict(records), html_pages=len(html_pages), duplicates=kinds["dup"],
                   near_duplicates=kinds["near"], languages=dict(sorted(langs.items())), junk=kinds["junk"],
                   pii_pages=sum(i["pii"] for i in html_pages),
                   legacy_charset=sum(i.get("charset", "utf-8") != "utf-8" for i in html_pages),
                   text_plain=kinds["text"], non_html=kinds["binary"], non_200=sum(i["status"][:3] != "200" for i in items))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
