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
Articles draw from ~170 English and 30+ per-language sentence templates, none twice in one
article, so clean pages pass Gopher/C4/FineWeb-style quality rules and the junk pages do not.
"""
import argparse
import datetime as dt
import html
import io
import json
import random
import string
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

# =========================================================================================
# TEXT DATA: word lists and sentence templates (all written for this demo).
# A template is filled slot by slot: {slot} takes a value as listed, {Slot} the same value with
# its first character upper-cased. Listed slots come from the vocabularies below; computed
# slots are num, small, year, pct, big and price (see Deck.draw) and person (the article's cast).
# Within one article a template is used at most once and list values are dealt without
# replacement, so articles read like articles and not like template spam.
# =========================================================================================

# --- English: shared calendar words and names --------------------------------------------
EN_COMMON = dict(
    month=["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    weekday=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    decade=["1960s", "1970s", "1980s", "1990s"])
# ASCII only: planted PII e-mail addresses are built from these.
FIRST = ["Anna", "Tomas", "Lena", "Marco", "Sofia", "Jonas", "Clara", "Peter", "Elena", "Hugo",
         "Maya", "Daniel", "Ruth", "Samir", "Ingrid", "Oscar", "Nadia", "Felix", "Grace", "Victor"]
LAST = ["Berger", "Moreau", "Lindqvist", "Ortega", "Hale", "Novak", "Fischer", "Duarte", "Marsh", "Keller",
        "Okafor", "Brennan", "Castillo", "Whitford", "Sato", "Jansen", "Petrov", "Quinn", "Aldridge", "Romano"]

# --- English: one site per topic, its vocabulary and its own sentences ---------------------
# subj: plural people; verb: base form taking obj; obj: plural noun phrase; adj: describes obj;
# place: fits after "in"; thing: singular noun phrase; role: "a/an ..." person; event: "the/a ...".
TOPICS = {
    "cooking": dict(host="www.kitchen-notes.test", vocab=dict(
        subj=["home cooks", "bakers", "young chefs", "food writers", "market vendors", "restaurant owners",
              "pastry students", "street-food sellers", "cheesemakers", "fishmongers", "home brewers",
              "allotment growers"],
        verb=["prepare", "season", "ferment", "roast", "share", "pickle", "braise", "preserve", "rediscover",
              "adapt", "sell", "photograph"],
        obj=["sourdough loaves", "seasonal vegetables", "spice blends", "fish stews", "family recipes",
             "hand-rolled noodles", "wild mushrooms", "slow-cooked beans", "fruit preserves", "flatbreads",
             "regional cheeses", "herb sauces"],
        adj=["crisp", "rustic", "fragrant", "simple", "comforting", "smoky", "tangy", "generous", "delicate",
             "hearty", "humble", "bright"],
        place=["Lyon", "a small harbour town", "the old market district", "northern Portugal",
               "a farmhouse kitchen in Wales", "the hills above Naples", "a busy food hall", "the suburbs of Osaka",
               "a village bakery", "a community kitchen"],
        thing=["slow fermentation", "good knife work", "the price of butter", "the balance of salt and acid",
               "a well-stocked pantry", "the timing of a roast", "wood-fired baking", "home canning",
               "seasonal eating", "kitchen hygiene"],
        role=["a pastry chef", "a market gardener", "a cookbook author", "a food historian", "a restaurant critic",
              "a butcher", "a nutrition researcher", "a cooking teacher"],
        event=["the autumn harvest fair", "a weekend bread course", "the annual chilli festival",
               "a pop-up supper club", "the Friday night market", "a regional cooking contest"]), sents=[
        "Most of the work happens before the stove is even switched on: washing, chopping, weighing and tasting.",
        "A pinch of salt added early changes the texture of {obj} far more than most people expect.",
        "{Person} keeps a notebook of every batch, noting the weather, the flour and how long the dough rose.",
        "Cheap cast-iron pans, bought second-hand, turn up in almost every kitchen we visited.",
        "The recipe calls for only {small} ingredients, yet getting the balance right takes weeks of practice.",
        "In {place}, cooks still measure by hand and by eye rather than with scales.",
        "Leftover bread becomes crumbs, soup thickener or a sweet pudding, so almost nothing is thrown away.",
        "A good stock, {person} insists, is the quiet foundation of any serious kitchen.",
        "Shoppers at the stalls ask where the produce was grown and how it should be stored at home.",
        "Fermented foods have moved from health shops into ordinary supermarkets within a decade.",
        "The smell of toasted cumin and garlic drifted across the courtyard long before lunch was served.",
        "Many {subj} now plan their menus around what the nearby farms can deliver each week.",
        "Tasting as you go sounds obvious, but it is the habit beginners forget most often.",
        "Prices for olive oil rose by {pct} percent last year, forcing small kitchens to rethink their menus.",
    ]),
    "travel": dict(host="www.wanderlog-journal.test", vocab=dict(
        subj=["backpackers", "rail travellers", "local guides", "hikers", "families", "cyclists", "solo travellers",
              "retired couples", "ferry crews", "hostel owners", "travel bloggers", "students on a gap year"],
        verb=["explore", "photograph", "map", "recommend", "revisit", "avoid", "plan", "document", "compare",
              "book", "cross", "rediscover"],
        obj=["mountain passes", "night trains", "coastal paths", "quiet villages", "island ferries",
             "hidden beaches", "old pilgrim routes", "border towns", "mountain huts", "city walking tours",
             "river cruises", "cheap guesthouses"],
        adj=["remote", "scenic", "affordable", "crowded", "unforgettable", "peaceful", "windswept", "charming",
             "exhausting", "colourful", "underrated", "sunny"],
        place=["the Scottish Highlands", "Lisbon", "a valley near Salzburg", "the Baltic coast", "the Dolomites",
               "a fishing village in Crete", "central Vietnam", "the Atlas Mountains", "a lakeside town in Finland",
               "the west coast of Ireland"],
        thing=["slow travel", "overtourism", "the cost of a rail pass", "packing light", "local hospitality",
               "off-season travel", "travel insurance", "a good paper map", "learning a few local phrases",
               "the first morning in a new city"],
        role=["a mountain guide", "a ferry captain", "a hostel manager", "a travel photographer",
              "a tourism researcher", "a station master", "a hotel receptionist", "a park ranger"],
        event=["the summer timetable change", "a week-long hiking festival", "the first snowfall of the season",
               "a local saints' day procession", "the spring ferry season", "a midnight sun celebration"]), sents=[
        "The train left the station just after dawn, and within an hour the suburbs had given way to open fields.",
        "Booking a week ahead usually halves the price of a seat, according to {person}.",
        "Signposts on the trail are sparse, so a downloaded map and a charged phone are essential.",
        "Several guesthouses in {place} now close for {small} weeks in winter to let their owners rest.",
        "The ferry crossing takes about two hours when the sea is calm and much longer when it is not.",
        "Walking from one village to the next, we rarely met more than a handful of other people.",
        "Local buses are slow but cheap, and they stop in places that no tour operator mentions.",
        "{Subj} tend to arrive in June, while the quietest weeks come in late September.",
        "A single pass covers every regional line, which makes spontaneous detours surprisingly easy.",
        "Our guide pointed out an old customs house that now serves coffee to passing cyclists.",
        "Rain arrived every afternoon, usually for an hour, and then the light turned golden.",
        "Visitor numbers in {place} grew by {pct} percent over the past five years.",
        "Pack layers rather than one heavy coat, because the weather on the ridge changes quickly.",
        "Many travellers say the highlight was not a famous sight but a long conversation over dinner.",
    ]),
    "science": dict(host="www.labbench-daily.test", vocab=dict(
        subj=["researchers", "students", "field biologists", "astronomers", "chemists", "ecologists",
              "climate scientists", "lab technicians", "geologists", "data analysts", "citizen scientists",
              "doctoral candidates"],
        verb=["measure", "model", "observe", "sequence", "simulate", "sample", "classify", "monitor", "compare",
              "reanalyse", "track", "test"],
        obj=["soil microbes", "distant galaxies", "ocean currents", "protein folds", "rare minerals",
             "bird migrations", "glacier cores", "river sediments", "bacterial cultures", "cloud formations",
             "pollen records", "seismic signals"],
        adj=["precise", "surprising", "reproducible", "noisy", "promising", "detailed", "preliminary", "robust",
             "elegant", "puzzling", "careful", "ambitious"],
        place=["a university lab", "an Arctic research station", "the national observatory", "a coastal field site",
               "a research vessel in the North Atlantic", "a mountain weather station",
               "a converted farmhouse laboratory", "a rainforest reserve in Borneo", "a shared instrument facility",
               "a desert test site"],
        thing=["peer review", "open data", "the replication crisis", "long-term funding", "careful calibration",
               "statistical power", "field safety", "the scientific method", "instrument drift",
               "public trust in research"],
        role=["a marine biologist", "a research engineer", "a statistician", "a postdoctoral fellow",
              "a lab manager", "a science journalist", "a physicist", "a soil scientist"],
        event=["the spring field season", "a week-long conference in Vienna", "the annual open laboratory day",
               "a partial solar eclipse", "the launch of a new satellite", "a month-long sampling cruise"]), sents=[
        "Each sample is labelled twice, once on the tube and once in a shared spreadsheet, to avoid costly mix-ups.",
        "The team collected {big} measurements over {num} months before drawing any conclusions.",
        "A small error in calibration can shift the final result more than the effect being studied.",
        "{Person} cautions that the findings have not yet been replicated by an independent group.",
        "The instruments run through the night, while the researchers check the data over breakfast.",
        "Funding for the project comes from a mix of public grants and a small private foundation.",
        "Raw data and analysis scripts will be published alongside the paper next spring.",
        "Early results suggest the effect is real, though smaller than the original study reported.",
        "Students spend their first weeks learning how to keep a proper lab notebook.",
        "Temperatures at the site dropped to minus {num} degrees during the coldest week of the campaign.",
        "The new model runs {small} times faster than the previous one on the same hardware.",
        "Reviewers asked for additional controls, which added almost a year to the project.",
        "Volunteers across the region submitted more than {big} observations through a simple phone app.",
        "What began as a side experiment has become the central question of the whole group.",
    ]),
    "sports": dict(host="www.matchday-report.test", vocab=dict(
        subj=["coaches", "midfielders", "club fans", "young sprinters", "goalkeepers", "team captains",
              "physiotherapists", "referees", "youth players", "club volunteers", "sports scientists",
              "amateur cyclists"],
        verb=["analyse", "practise", "celebrate", "study", "rethink", "review", "rehearse", "plan", "debate",
              "track", "defend", "watch"],
        obj=["set pieces", "training schedules", "away fixtures", "recovery routines", "penalty shootouts",
             "sprint starts", "match statistics", "defensive drills", "transfer rumours", "warm-up routines",
             "youth tournaments", "video replays"],
        adj=["tense", "disciplined", "dramatic", "tactical", "exhausting", "physical", "balanced", "chaotic",
             "confident", "nervy", "impressive", "frustrating"],
        place=["the home stadium", "a regional league", "the summer tournament", "a mountain training camp",
               "a small-town football club", "the national athletics centre", "a rain-soaked pitch in Manchester",
               "the indoor arena", "a seaside running track", "the youth academy"],
        thing=["squad rotation", "injury prevention", "team spirit", "the offside rule", "the transfer budget",
               "home advantage", "mental preparation", "a good night's sleep", "fitness testing",
               "the final whistle"],
        role=["an assistant coach", "a club physiotherapist", "a former captain", "a sports psychologist",
              "a youth coach", "a match analyst", "a team doctor", "a kit manager"],
        event=["the opening match of the season", "a cup semi-final", "the winter transfer window",
               "a charity relay", "the league's final weekend", "a friendly against local rivals"]), sents=[
        "The visitors scored twice in the first half and then spent the rest of the evening defending.",
        "Training starts at seven in the morning, with a slow jog and twenty minutes of stretching.",
        "{Person} admitted after the match that the second goal had been avoidable.",
        "Attendance at home games has risen to about {big} spectators a week.",
        "A late substitution changed the rhythm of the game and gave the midfield some breathing space.",
        "The club's volunteers wash the kits, run the kiosk and repaint the lines every spring.",
        "Young players are now tested for fitness three times a season instead of once.",
        "The final score was three to one, a result few had predicted before kick-off.",
        "Rain made the pitch heavy, and both teams struggled to keep the ball on the ground.",
        "Ticket prices for the final rose by {pct} percent, which angered many long-time supporters.",
        "The captain spoke quietly to each player in the dressing room before the second half.",
        "Recovery sessions now include ice baths, massage and a strict bedtime.",
        "Local schools send their best runners to the club's open trials every autumn.",
        "Statistics show that the team wins most of its points in the last fifteen minutes of matches.",
    ]),
    "history": dict(host="www.oldmaps-archive.test", vocab=dict(
        subj=["historians", "archivists", "local societies", "collectors", "museum curators", "genealogists",
              "conservators", "volunteer transcribers", "archaeologists", "retired teachers", "university students",
              "heritage officers"],
        verb=["catalogue", "restore", "reinterpret", "digitise", "debate", "transcribe", "date", "preserve",
              "study", "exhibit", "trace", "rediscover"],
        obj=["trade ledgers", "medieval charters", "old city maps", "wartime letters", "parish records",
             "ship manifests", "guild account books", "faded photographs", "land surveys", "court transcripts",
             "handwritten diaries", "printed pamphlets"],
        adj=["fragile", "overlooked", "remarkable", "contested", "well-preserved", "incomplete", "valuable",
             "mysterious", "beautifully illustrated", "water-damaged", "ordinary", "revealing"],
        place=["a cathedral library", "the county archive", "an abandoned mill", "a merchant house",
               "the basement of the town hall", "a former monastery", "a private collection in Bruges",
               "the harbour museum", "a village church", "the national library reading room"],
        thing=["the history of everyday life", "careful provenance research", "oral history",
               "the survival of paper records", "the limits of the archive", "local memory",
               "the story of migration", "conservation ethics", "the price of digitisation", "historical accuracy"],
        role=["a paper conservator", "a local historian", "a museum director", "an archive volunteer",
              "a specialist in medieval Latin", "a map collector", "a retired schoolteacher", "a genealogist"],
        event=["the annual heritage open days", "a centenary exhibition", "the reopening of the reading room",
               "a public lecture series", "the anniversary of the great flood",
               "a community digitisation weekend"]), sents=[
        "The ink has faded to a pale brown, but most of the entries can still be read under ultraviolet light.",
        "Records from the seventeenth century are rare in the region because a fire destroyed the old courthouse.",
        "{Person} spent {num} years matching names in the ledgers with graves in the churchyard.",
        "Each page is photographed at high resolution before it is returned to an acid-free box.",
        "The letters reveal a family that argued about money, weddings and the price of bread.",
        "Some of the maps show streets that were planned but never actually built.",
        "Visitors are often surprised that the oldest document in the collection is a shopping list.",
        "Volunteers have transcribed more than {big} pages since the project began in {year}.",
        "The handwriting changes halfway through the book, suggesting that a new clerk took over.",
        "Historians still disagree about who commissioned the map and why it was never finished.",
        "Damp and mould are the greatest threats to paper collections in older buildings.",
        "A donated suitcase turned out to contain photographs of the harbour from before the war.",
        "The reading room is open {num} hours a week, and appointments are rarely needed.",
        "Old tax records are dull to read, but they show exactly who owned what and where.",
    ]),
    "technology": dict(host="www.circuit-weekly.test", vocab=dict(
        subj=["developers", "hardware hobbyists", "startups", "system administrators", "open-source teams",
              "security researchers", "data engineers", "product designers", "computing students",
              "embedded engineers", "site reliability engineers", "volunteer maintainers"],
        verb=["benchmark", "refactor", "deploy", "prototype", "document", "audit", "test", "optimise", "package",
              "monitor", "replace", "debug"],
        obj=["battery controllers", "compiler passes", "edge devices", "database indexes", "build pipelines",
             "sensor boards", "web servers", "container images", "storage clusters", "firmware updates",
             "mobile apps", "network switches"],
        adj=["efficient", "reliable", "experimental", "lightweight", "costly", "fragile", "modular", "fast",
             "secure", "outdated", "elegant", "over-engineered"],
        place=["a shared workshop", "a small data centre", "a university spin-off", "a remote-first company",
               "a hackerspace in Berlin", "a basement server room", "a hardware incubator",
               "a public library maker lab", "a regional hospital's IT department", "an open-source conference"],
        thing=["technical debt", "code review", "energy consumption", "backward compatibility", "software licensing",
               "supply-chain security", "good documentation", "automated testing", "the chip shortage",
               "user privacy"],
        role=["a firmware engineer", "a security consultant", "a project maintainer", "a hardware designer",
              "a database administrator", "a technical writer", "a startup founder", "a network engineer"],
        event=["the next major release", "a weekend hackathon", "a three-hour outage", "the annual developer summit",
               "a security audit", "the migration to new servers"]), sents=[
        "The first prototype was held together with tape and ran hot enough to warm a cup of coffee.",
        "Every change goes through review by at least two people before it reaches production.",
        "{Person} estimates that half of the team's time goes into maintenance rather than new features.",
        "The new version uses {pct} percent less memory, mostly thanks to a simpler cache.",
        "An outage last winter taught the team to test their backups, not just to make them.",
        "The project's documentation was rewritten from scratch after users complained it was confusing.",
        "Server logs are kept for {num} days and then deleted automatically.",
        "Cheap single-board computers have made it possible to run small experiments at home.",
        "Most bugs, the maintainers say, come from assumptions that were true five years ago.",
        "The build used to take {num} minutes; after a month of work it finishes in under two.",
        "A volunteer in another time zone fixed the crash while the rest of the team was asleep.",
        "Some customers still run software released more than a decade ago, which limits what can change.",
        "Power use matters as much as speed now that electricity prices have climbed.",
        "The source code is published under a permissive licence, and outside contributions are welcome.",
    ]),
}

# --- English: sentences any topic can use ------------------------------------------------
EN_LEAD = [  # first sentence of an article
    "When {person} arrived in {place} in {year}, few people were talking about {obj}.",
    "On a grey {weekday} morning in {month}, {subj} gathered in {place} for what turned out to be a long day.",
    "For most of the past decade, {thing} was a niche interest; that has changed quickly.",
    "It started with a simple question: why do so few {subj} {verb} {obj}?",
    "Ask anyone in {place} about {obj}, and you will hear a dozen different opinions.",
    "{Person} did not plan to spend {num} years on a single project, but that is what happened.",
    "The first thing you notice on arriving in {place} is how quiet it is.",
    "Few subjects divide {subj} as sharply as {thing}.",
    "This is a story about {obj}, and about the people who care about them.",
    "Every spring, {subj} from across the region come to {place} to {verb} {obj}.",
]
EN_GENERIC = [  # body sentences: observations, quotes, numbers, connectives, opinions
    "{Subj} in {place} {verb} {obj} with surprising care.",
    "Many {adj} projects start when {subj} {verb} {obj} for the first time.",
    "According to {person}, the hardest part is learning how {subj} {verb} {obj}.",
    "Over the last {num} years, {place} has become known for {adj} {obj}.",
    "It is easy to overlook how {adj} {obj} can be.",
    "{Person} first noticed the trend in {year}, when {subj} began to {verb} {obj}.",
    "Critics argue that {subj} {verb} {obj} too often and too quickly.",
    "The result is {adj}, though not always in the way people expect.",
    "In {place}, a small group of {subj} meets every week to compare notes.",
    "Nobody claims the answer is simple, but {adj} {obj} are a good place to start.",
    "A survey of {big} {subj} found that most of them {verb} {obj} at least once a month.",
    "{Person} says the key is patience, because {subj} who {verb} {obj} slowly tend to do better.",
    "{Person}, {role} who has worked in {place} for {num} years, puts it more bluntly.",
    "\u201cPeople think it is about talent, but it is mostly about showing up,\u201d says {person}.",
    "\u201cWe made every mistake you can imagine in the first year,\u201d {person} recalls with a laugh.",
    "\u201cIf something goes wrong, we write it down and try again next {weekday},\u201d says {person}, {role}.",
    "There is no single reason for the change, and {thing} is only part of the story.",
    "{Thing} rarely makes headlines, yet it shapes almost every decision described here.",
    "Still, not everyone is convinced.",
    "The numbers tell only part of the story.",
    "That may sound like a small detail, but it changes everything that follows.",
    "For {subj}, {thing} is no longer an afterthought.",
    "Ask {subj} what matters most, and many will mention {thing} before anything else.",
    "By {month}, the first results were already visible.",
    "The plan was announced in {month} {year} and met with cautious optimism.",
    "Roughly {pct} percent of those asked said they would try again next year.",
    "One in {small} respondents named {thing} as their biggest concern.",
    "It took {num} attempts before anything worked as intended.",
    "Organisers expect around {big} visitors at {event}.",
    "Preparations for {event} begin months in advance.",
    "{Person} remembers {event} in {year} as a turning point.",
    "In hindsight, the warning signs were there all along.",
    "Some of the best ideas came from people who had never done this before.",
    "Not every experiment succeeded, and the failures were often the most instructive.",
    "Money is a constant worry, as it is for most small organisations.",
    "The work is slow, repetitive and, by most accounts, deeply satisfying.",
    "What looks {adj} from the outside is often the product of years of routine.",
    "{Subj} elsewhere have started to copy the approach, with mixed results.",
    "Few outsiders realise how much planning goes into {event}.",
    "A decade ago, this would have seemed unthinkable.",
    "The approach is not new; similar ideas were tried in {place} in the {decade}.",
    "Local newspapers covered the story for weeks, and interest has not faded since.",
    "For newcomers, the best advice is to start small and keep careful notes.",
    "\u201cThe trick is to stay curious,\u201d {person} says, \u201cand to ask stupid questions early.\u201d",
    "Whether the trend will last is another question.",
    "Those involved describe the atmosphere as relaxed but focused.",
    "The debate over {thing} is unlikely to end soon.",
    "Even so, the basic principle has hardly changed in a hundred years.",
    "{Person}, {role}, believes that {thing} deserves far more attention than it gets.",
    "Newcomers in particular seem drawn to {adj} {obj}.",
    "Between {year} and today, the number of people involved has roughly doubled.",
    "Some weeks are quiet; others bring more work than anyone can handle.",
    "It is a story about patience as much as skill.",
    "On a typical {weekday}, the day begins before sunrise and ends long after dark.",
    "Getting started costs less than many assume, often under {price} euros.",
    "When asked about {thing}, {person} paused for a long time before answering.",
    "Others point out that {obj} were never meant to last forever.",
    "That, at least, is the theory.",
    "Nobody we spoke to expects the situation to change overnight.",
    "The lessons apply well beyond {place}.",
    "A small grant in {year} allowed {subj} to {verb} {obj} on a larger scale.",
    "Several readers wrote in after our last report to share their own experiences.",
    "Nearly everyone agrees that {thing} will matter even more in the coming years.",
    "The mood among {subj} is cautiously optimistic, though few would call the work easy.",
]
EN_CLOSE = [  # last sentence of an article
    "For now, the work continues, one small step at a time.",
    "Whatever happens next, {subj} in {place} are unlikely to give up.",
    "As {person} put it at the end of our conversation, \u201cThere is always another season.\u201d",
    "The next update is expected in {month}.",
    "Those who want to see it for themselves can visit during {event}.",
    "It is, in the end, a very human story.",
    "The question now is not whether things will change, but how fast.",
    "We will return to the subject later this year.",
    "Until then, {subj} will keep doing what they have always done.",
    "In a world that moves quickly, there is something reassuring about that.",
]
EN_TITLE = ["Why {subj} {verb} {obj}", "A beginner's guide to {obj}", "{Num} lessons from {subj} in {place}",
            "How {place} learned to love {obj}", "What {subj} get wrong about {obj}", "The quiet return of {obj}",
            "Inside the world of {obj}", "{Thing}: what we learned this year", "Meet the {subj} who {verb} {obj}",
            "Notes from {place}", "Is {thing} overrated?", "The people behind {event}",
            "Ten years of {obj} in {place}", "Why {thing} matters more than you think"]

# --- Other languages: one site and one mixed-topic vocabulary each ------------------------
# Values are written as they appear mid-sentence ({Subj} upper-cases the first character).
# French text must stay encodable in windows-1252 and Chinese text in GBK (legacy-charset pages).
# Slots as for English; "at_event"/"event" carry their own preposition or case where the
# language needs one. zh/ja list whole person names; de/fr/es combine first and last names.
LANGS = {
    "de": dict(host="www.beispiel-zeitung.test", vocab=dict(
        subj=["die Forscher", "viele Familien", "die Köche", "junge Reisende", "die Spieler", "die Archivare",
              "einige Entwickler", "die Bäcker", "die Wanderer", "zahlreiche Studierende", "die Vereinsmitglieder",
              "die Bewohner"],
        verb=["entdecken", "planen", "verbessern", "diskutieren", "teilen", "untersuchen", "sammeln",
              "dokumentieren", "testen", "bewerten", "restaurieren", "präsentieren"],
        obj=["neue Rezepte", "alte Stadtpläne", "schnellere Rechner", "lange Wanderwege", "kleine Gärten",
             "historische Briefe", "regionale Spezialitäten", "moderne Werkzeuge", "seltene Pflanzen",
             "digitale Archive", "günstige Zugverbindungen", "ungewöhnliche Messdaten"],
        adj=["erstaunlich", "einfach", "wichtig", "gründlich", "überraschend", "mühsam", "spannend",
             "vielversprechend", "ungewöhnlich", "lehrreich", "anstrengend", "bemerkenswert"],
        place=["in Hamburg", "in München", "am Bodensee", "in Leipzig", "in Freiburg", "an der Ostsee",
               "im Schwarzwald", "in Köln", "in einem Dorf bei Kassel", "in der Lausitz", "in Dresden", "auf Rügen"],
        thing=["die Finanzierung", "das Wetter", "die Planung", "die Zusammenarbeit", "das Ehrenamt",
               "die Digitalisierung", "die Nachhaltigkeit", "das Vertrauen", "die Geduld", "die Ausbildung",
               "die Bürokratie", "die Suche nach Nachwuchs"],
        at_event=["beim Stadtfest", "bei der Herbstmesse", "beim Tag der offenen Tür",
                  "bei einem Workshop im Frühjahr", "beim jährlichen Sommertreffen",
                  "bei der nächsten Jahresversammlung"],
        month=["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
               "November", "Dezember"],
        weekday=["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
        first=["Jana", "Lukas", "Miriam", "Felix", "Katrin", "Stefan", "Ulrike", "Jonas", "Sabine", "Tobias"],
        last=["Hoffmann", "Schneider", "Wagner", "Becker", "Schulz", "Krüger", "Lehmann", "Vogel", "Brandt",
              "Richter"]), sents=[
        "{Subj} {verb} {place} {obj}.",
        "Das Ergebnis ist {adj}, sagt {person}.",
        "Seit {num} Jahren {verb} {subj} {obj}, und das mit großem Erfolg.",
        "Nicht alle finden das {adj}, aber die Zahlen sprechen für sich.",
        "{Place} {verb} {subj} {obj} besonders gern.",
        "Laut {person} ist der Weg dorthin {adj} und lohnend.",
        "Im Jahr {year} begann alles mit einer kleinen Idee und sehr wenig Geld.",
        "Heute treffen sich {subj} jeden {weekday}, um Erfahrungen auszutauschen.",
        "„Wir haben am Anfang fast alles falsch gemacht“, erzählt {person} und lacht.",
        "Besonders wichtig ist dabei {thing}, auch wenn darüber selten gesprochen wird.",
        "Viele unterschätzen, wie viel Zeit in der Vorbereitung steckt.",
        "Rund {pct} Prozent der Befragten wollen im nächsten Jahr wieder mitmachen.",
        "Ein Problem bleibt {thing}, das zeigen auch die Gespräche vor Ort.",
        "Wer {obj} sucht, wird {place} schnell fündig.",
        "Die Stimmung unter den Beteiligten ist gut, obwohl die Arbeit oft {adj} ist.",
        "Kritiker meinen, dass {subj} zu schnell {obj} {verb}.",
        "Trotzdem lassen sich die Beteiligten nicht entmutigen.",
        "Im Sommer kommen oft mehr als {big} Besucher, im Winter sind es deutlich weniger.",
        "Die Kosten liegen nach eigenen Angaben bei etwa {price} Euro im Monat.",
        "{Person} erinnert sich noch genau an den ersten Versuch im Jahr {year}.",
        "Damals wusste niemand, ob sich der Aufwand lohnen würde.",
        "Inzwischen {verb} {subj} auch {obj}, was vor einigen Jahren kaum denkbar war.",
        "Eine Umfrage unter {big} Teilnehmern zeigt ein gemischtes Bild.",
        "Manche Fragen lassen sich nur mit viel Geduld und guten Notizen beantworten.",
        "Vor allem jüngere Menschen interessieren sich zunehmend für {obj}.",
        "Die nächste Gelegenheit, sich selbst ein Bild zu machen, gibt es {at_event}.",
        "Finanziert wird das Projekt durch Spenden, Mitgliedsbeiträge und einen kleinen Zuschuss der Stadt.",
        "Im {month} beginnt die nächste Runde, und die Anmeldungen laufen bereits.",
        "Auf die Frage, was sich ändern müsse, antwortet {person} ohne Zögern: mehr Zeit und mehr Menschen.",
        "Es ist eine Arbeit, die man von außen kaum sieht.",
        "Gleichzeitig wächst das Interesse weit über die Region hinaus.",
        "Ob der Trend anhält, wird sich in den kommenden Jahren zeigen.",
        "{Subj} {place} haben dafür sogar einen eigenen Arbeitskreis gegründet.",
        "Gerade {thing} wird dabei oft unterschätzt, meint {person}.",
        "Wer mitmachen möchte, braucht vor allem Neugier und etwas Ausdauer.",
        "Für viele ist es längst mehr als ein Hobby.",
    ], titles=["Warum {subj} {obj} {verb}", "{Obj} {place}: ein Bericht", "Wie {subj} {place} {obj} {verb}",
               "Neues über {obj}", "{Thing} im Wandel", "Zu Besuch {place}"]),
    "fr": dict(host="www.journal-exemple.test", vocab=dict(
        subj=["les chercheurs", "les cuisiniers", "de nombreuses familles", "les voyageurs", "les joueurs",
              "les bénévoles", "les étudiants", "les artisans", "les randonneurs", "les archivistes",
              "les habitants", "les jeunes développeurs"],
        verb=["découvrent", "préparent", "améliorent", "étudient", "partagent", "restaurent", "documentent",
              "comparent", "testent", "présentent", "collectionnent", "photographient"],
        obj=["des recettes oubliées", "des cartes anciennes", "des itinéraires côtiers", "des œuvres d’art",
             "des logiciels libres", "des jardins partagés", "des lettres anciennes", "des instruments de mesure",
             "des produits locaux", "des sentiers de montagne", "des vélos d’occasion", "des archives familiales"],
        adj=["étonnant", "délicat", "précieux", "très élégant", "inattendu", "passionnant", "exigeant",
             "encourageant", "remarquable", "prometteur", "fragile", "singulier"],
        place=["à Lyon", "à Marseille", "en Bretagne", "près de Genève", "à Bordeaux", "dans le Jura", "à Nantes",
               "en Provence", "à Lille", "dans les Vosges", "à Toulouse", "sur la côte normande"],
        thing=["le financement", "la patience", "la transmission des savoirs", "le bénévolat", "la météo",
               "la formation", "la confiance", "le coût du matériel", "la curiosité", "la question du temps",
               "l’entretien", "la coopération"],
        event=["la fête du village", "la journée portes ouvertes", "la prochaine foire régionale",
               "la semaine du patrimoine", "l’assemblée annuelle", "la rentrée de septembre"],
        month=["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
               "novembre", "décembre"],
        weekday=["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        first=["Camille", "Julien", "Hélène", "Mathieu", "Claire", "Antoine", "Sophie", "Nicolas", "Élodie",
               "Pierre"],
        last=["Martin", "Roussel", "Lefèvre", "Garnier", "Fontaine", "Chevalier", "Bonnet", "Morel", "Girard",
              "Mercier"]), sents=[
        "{Subj} {verb} {obj} {place}.",
        "Selon {person}, le résultat est {adj}.",
        "Depuis {num} ans, {subj} {verb} {obj} avec une patience remarquable.",
        "Ce n’est pas toujours facile, mais l’expérience reste {adj}.",
        "{Place}, on dit que {subj} {verb} {obj} chaque été.",
        "« Nous avançons pas à pas, sans jamais brûler les étapes », explique {person}.",
        "Le coût total du projet s’élève à environ {price} euros par mois, selon les organisateurs.",
        "Tout a commencé en {year}, avec une idée simple et très peu de moyens.",
        "Aujourd’hui, {subj} se retrouvent chaque {weekday} pour échanger leurs expériences.",
        "Pour beaucoup, {thing} reste la question centrale, même si on en parle rarement.",
        "On sous-estime souvent le temps que demande la préparation.",
        "Environ {pct} pour cent des personnes interrogées veulent recommencer l’année prochaine.",
        "Ceux qui cherchent {obj} trouveront vite leur bonheur {place}.",
        "L’ambiance est bonne, même si le travail est souvent {adj}.",
        "Certains critiques estiment que {subj} {verb} {obj} trop rapidement.",
        "Malgré tout, personne ne semble vouloir abandonner.",
        "En été, plus de {big} visiteurs passent chaque semaine, beaucoup moins en hiver.",
        "{Person} se souvient encore très bien de la première tentative, en {year}.",
        "À l’époque, personne ne savait si l’effort en valait la peine.",
        "Désormais, {subj} {verb} aussi {obj}, ce qui semblait impensable il y a quelques années.",
        "Une enquête menée auprès de {big} participants dresse un tableau contrasté.",
        "Les plus jeunes s’intéressent de plus en plus à cette pratique.",
        "La prochaine occasion de se faire une idée sera lors de {event}.",
        "Le projet est financé par des dons, des cotisations et une petite subvention de la ville.",
        "En {month}, une nouvelle saison commence et les inscriptions sont déjà ouvertes.",
        "Quand on lui demande ce qui devrait changer, {person} répond sans hésiter : plus de temps et plus de monde.",
        "C’est un travail que l’on voit à peine de l’extérieur.",
        "En même temps, l’intérêt dépasse largement les frontières de la région.",
        "Reste à savoir si cette tendance va durer.",
        "{Subj} {place} ont même créé leur propre groupe de travail.",
        "C’est justement {thing} que l’on sous-estime le plus, estime {person}.",
        "Pour participer, il faut surtout de la curiosité et un peu d’endurance.",
        "Pour beaucoup, c’est devenu bien plus qu’un simple passe-temps.",
        "Le bilan de la première année est jugé {adj} par la plupart des participants.",
        "Chaque erreur est notée dans un cahier, puis discutée lors de la réunion suivante.",
        "Les habitants du quartier, d’abord sceptiques, viennent désormais volontiers donner un coup de main.",
    ], titles=["Pourquoi {subj} {verb} {obj}", "{Obj} {place} : enquête", "Comment {subj} {verb} {obj} {place}",
               "{Thing}, un enjeu sous-estimé", "Rencontre avec {subj} {place}"]),
    "es": dict(host="www.diario-ejemplo.test", vocab=dict(
        subj=["los investigadores", "muchas familias", "los cocineros", "los viajeros", "los aficionados",
              "los voluntarios", "los estudiantes", "los artesanos", "los senderistas", "los archiveros",
              "los vecinos", "los jóvenes programadores"],
        verb=["descubren", "preparan", "mejoran", "estudian", "comparten", "restauran", "documentan", "comparan",
              "prueban", "presentan", "coleccionan", "fotografían"],
        obj=["recetas tradicionales", "mapas antiguos", "rutas de montaña", "nuevas tecnologías",
             "partidos históricos", "huertos urbanos", "cartas antiguas", "instrumentos de medida",
             "productos locales", "bicicletas de segunda mano", "archivos familiares", "semillas autóctonas"],
        adj=["sorprendente", "sencillo", "valioso", "fascinante", "curioso", "exigente", "prometedor",
             "alentador", "notable", "delicado", "agotador", "emocionante"],
        place=["en Sevilla", "en Valencia", "cerca de Bilbao", "en la costa gallega", "en Salamanca",
               "en los Pirineos", "en Zaragoza", "en Asturias", "en Granada", "en un pueblo de Teruel", "en Málaga",
               "en la sierra de Madrid"],
        thing=["la financiación", "la paciencia", "la transmisión del oficio", "el voluntariado", "el tiempo",
               "la formación", "la confianza", "el precio del material", "la curiosidad", "la falta de tiempo",
               "el mantenimiento", "la cooperación"],
        event=["la fiesta del pueblo", "la jornada de puertas abiertas", "la próxima feria regional",
               "la semana cultural", "la asamblea anual", "el festival de otoño"],
        month=["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
               "noviembre", "diciembre"],
        weekday=["lunes", "martes", "miércoles", "jueves", "viernes", "sábado"],
        first=["Lucía", "Javier", "Carmen", "Diego", "Marta", "Pablo", "Elena", "Andrés", "Isabel", "Sergio"],
        last=["García", "Fernández", "López", "Martín", "Navarro", "Romero", "Torres", "Ruiz", "Castillo",
              "Herrera"]), sents=[
        "{Subj} {verb} {obj} {place}.",
        "Según {person}, el resultado es {adj}.",
        "Desde hace {num} años, {subj} {verb} {obj} con mucha paciencia.",
        "¿Por qué es tan {adj}? La respuesta no es evidente.",
        "{Place}, {subj} {verb} {obj} cada fin de semana.",
        "Todo empezó en {year}, con una idea sencilla y muy pocos recursos.",
        "Hoy, {subj} se reúnen cada {weekday} para compartir experiencias.",
        "Para muchos, {thing} sigue siendo la cuestión central, aunque se hable poco de ello.",
        "A menudo se subestima el tiempo que exige la preparación.",
        "Alrededor del {pct} por ciento de los encuestados quiere repetir el año que viene.",
        "Quien busque {obj} tiene muchas opciones {place}.",
        "El ambiente es bueno, aunque el trabajo suele ser {adj}.",
        "Algunos críticos opinan que {subj} {verb} {obj} demasiado deprisa.",
        "Aun así, nadie parece dispuesto a rendirse.",
        "En verano pasan más de {big} visitantes por semana, muchos menos en invierno.",
        "{Person} todavía recuerda muy bien el primer intento, en {year}.",
        "En aquel momento nadie sabía si el esfuerzo merecería la pena.",
        "Ahora {subj} también {verb} {obj}, algo impensable hace unos años.",
        "Una encuesta entre {big} participantes muestra un panorama desigual.",
        "Los más jóvenes se interesan cada vez más por esta actividad.",
        "La próxima oportunidad para verlo de cerca será durante {event}.",
        "El proyecto se financia con donaciones, cuotas de socios y una pequeña ayuda del ayuntamiento.",
        "En {month} empieza una nueva temporada y las inscripciones ya están abiertas.",
        "Cuando se le pregunta qué debería cambiar, {person} responde sin dudar: más tiempo y más gente.",
        "Es un trabajo que apenas se ve desde fuera.",
        "Al mismo tiempo, el interés crece mucho más allá de la región.",
        "Queda por ver si esta tendencia se mantendrá.",
        "{Subj} {place} incluso han creado su propio grupo de trabajo.",
        "Precisamente {thing} es lo que más se subestima, opina {person}.",
        "Para participar hace falta sobre todo curiosidad y algo de constancia.",
        "Para muchos, hace tiempo que dejó de ser un simple pasatiempo.",
        "La mayoría de los participantes considera que el balance del primer año es {adj}.",
        "Cada error se apunta en un cuaderno y se comenta en la reunión siguiente.",
        "Los vecinos del barrio, al principio escépticos, ahora echan una mano con gusto.",
        "El coste total ronda los {price} euros al mes, según los organizadores.",
        "«Avanzamos paso a paso, sin saltarnos ninguna etapa», explica {person}.",
    ], titles=["¿Por qué {subj} {verb} {obj}?", "{Obj} {place}: un reportaje", "Así {verb} {subj} {obj} {place}",
               "Un día con {subj} {place}", "{Thing}: lo que casi nadie cuenta"]),
    "zh": dict(host="www.shili-xinwen.test", vocab=dict(
        subj=["研究人员", "许多家庭", "年轻的厨师", "游客们", "球员们", "志愿者们", "大学生们", "老手艺人",
              "登山爱好者", "档案管理员", "社区居民", "年轻的程序员"],
        verb=["发现了", "准备了", "改进了", "讨论了", "分享了", "整理了", "记录了", "比较了", "测试了", "修复了",
              "收集了", "展示了"],
        obj=["新的食谱", "古老的地图", "更快的电脑", "漫长的徒步路线", "传统的手艺", "老照片", "家族书信",
             "本地的农产品", "二手自行车", "山区的小路", "开源软件", "珍贵的种子"],
        adj=["令人惊讶", "非常简单", "十分重要", "很有意思", "相当辛苦", "颇为复杂", "值得期待", "出乎意料",
             "令人鼓舞", "格外顺利"],
        place=["北京", "上海", "杭州", "成都", "西安", "广州", "昆明", "青岛", "苏州", "厦门", "南京", "一个江南小镇"],
        thing=["资金问题", "耐心", "经验的传承", "天气变化", "专业培训", "彼此的信任", "材料成本", "好奇心",
               "时间安排", "日常维护", "团队合作", "年轻人的兴趣"],
        event=["春季庙会", "开放日活动", "年度交流会", "秋季展览", "周末工作坊", "社区文化节"],
        month=["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
        weekday=["周一", "周二", "周三", "周四", "周五", "周六"],
        person=["王先生", "李女士", "张教授", "陈老师", "刘师傅", "赵女士", "周先生", "孙博士", "吴老师",
                "郑教授"]), sents=[
        "{subj}在{place}{verb}{obj}。",
        "据{person}介绍，结果{adj}。",
        "过去{num}年里，{subj}一直在研究{obj}。",
        "这件事{adj}，背后却有不少故事。",
        "在{place}，越来越多的人开始关注{obj}。",
        "一切始于{year}年，当时只有一个简单的想法和很少的经费。",
        "如今，{subj}每逢{weekday}都会聚在一起交流经验。",
        "对很多人来说，{thing}仍然是最核心的问题，只是很少有人公开谈论。",
        "准备工作所需要的时间，常常被外人低估。",
        "约有百分之{pct}的受访者表示明年还想再参加。",
        "想找{obj}的人，在{place}很容易就能找到。",
        "大家的气氛很好，虽然工作本身{adj}。",
        "也有批评者认为，{subj}推进得太快了。",
        "尽管如此，没有人打算放弃。",
        "夏天每周有超过{big}名访客，冬天则少得多。",
        "{person}至今还清楚地记得{year}年第一次尝试时的情景。",
        "那时候，谁也不知道这些付出是否值得。",
        "如今，{subj}也{verb}{obj}，这在几年前几乎无法想象。",
        "一项针对{big}名参与者的调查显示，人们的看法并不一致。",
        "年轻人对这项活动的兴趣正在逐年增加。",
        "下一次亲眼看看的机会是{event}。",
        "这个项目的经费来自捐款、会员费和市政府的一小笔补贴。",
        "{month}将开始新一轮活动，报名已经开放。",
        "被问到最需要改变什么时，{person}毫不犹豫地回答：更多时间，更多人手。",
        "这是一份从外面几乎看不到的工作。",
        "与此同时，关注这件事的人已经远远超出了本地。",
        "这种趋势能否持续，还有待观察。",
        "{place}的{subj}甚至成立了自己的小组。",
        "{person}认为，最容易被低估的恰恰是{thing}。",
        "想参加的人，最需要的是好奇心和一点毅力。",
        "对许多人来说，这早已不只是一种爱好。",
        "每一次失误都会被记在本子上，并在下次开会时讨论。",
        "附近的居民起初有些怀疑，现在却很乐意来帮忙。",
    ], titles=["{subj}为什么关注{obj}", "{place}的{obj}：一份调查报告", "走近{place}的{subj}", "{thing}背后的故事"]),
    "ja": dict(host="www.rei-shinbun.test", vocab=dict(
        subj=["研究者たち", "多くの家族", "若い料理人", "旅行者", "ボランティアの人たち", "学生たち", "職人たち",
              "登山者", "地元の住民", "若いエンジニア", "図書館の職員", "農家の人たち"],
        verb=["を発見しました", "を準備しました", "について話し合いました", "を改良しました", "を記録しました",
              "を調べました", "を修理しました", "を集めました", "を紹介しました", "を比べました", "を展示しました",
              "を守ってきました"],
        obj=["新しいレシピ", "古い地図", "速いコンピューター", "長いハイキングコース", "昔の写真", "家族の手紙",
             "地元の野菜", "中古の自転車", "山道", "伝統的な工芸", "古い駅舎", "珍しい種"],
        adj=["とても興味深い", "意外に簡単", "非常に重要", "かなり大変", "少し複雑", "楽しみ"],
        place=["東京", "大阪", "京都", "札幌", "福岡", "金沢", "仙台", "松本", "長崎", "高松", "函館", "奈良"],
        thing=["資金の問題", "根気", "技術の継承", "天気", "専門的な研修", "お互いの信頼", "材料費", "好奇心",
               "時間の使い方", "日々の手入れ", "チームワーク", "若い世代の関心"],
        event=["春祭り", "オープンハウス", "年に一度の交流会", "秋の展示会", "週末のワークショップ", "地域の文化祭"],
        month=["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
        weekday=["月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"],
        person=["田中さん", "佐藤さん", "鈴木教授", "高橋さん", "伊藤先生", "渡辺さん", "山本さん", "中村博士",
                "小林さん", "加藤さん"]), sents=[
        "{subj}は{place}で{obj}{verb}。",
        "{person}によると、結果は{adj}です。",
        "この{num}年間、{subj}は{obj}を研究してきました。",
        "{place}では、{obj}に注目する人が増えています。",
        "すべては{year}年、小さなアイデアとわずかな予算から始まりました。",
        "今では、{subj}が毎週{weekday}に集まって経験を交換しています。",
        "多くの人にとって、{thing}は今も一番大切な問題ですが、話題になることはあまりありません。",
        "準備にかかる時間は、外から見るよりずっと長いものです。",
        "参加者の約{pct}パーセントが、来年もまた参加したいと答えました。",
        "{obj}を探している人は、{place}ならすぐに見つけられるでしょう。",
        "仕事は{adj}ですが、雰囲気はとても明るいです。",
        "一方で、進め方が速すぎるという批判の声もあります。",
        "それでも、あきらめようとする人はいません。",
        "夏には毎週{big}人以上が訪れますが、冬はかなり少なくなります。",
        "{person}は、{year}年の最初の試みを今でもはっきり覚えているそうです。",
        "当時は、その努力が報われるかどうか誰にも分かりませんでした。",
        "最近では、{subj}が{obj}{verb}。数年前には考えられなかったことです。",
        "{big}人の参加者を対象にした調査では、意見が大きく分かれました。",
        "若い人たちの関心も、年々高まっているようです。",
        "次に実際の様子を見られるのは、{event}のときです。",
        "このプロジェクトは、寄付と会費、そして市からの小さな補助金で運営されています。",
        "{month}から新しいシーズンが始まり、申し込みはすでに受け付けています。",
        "何を変えるべきかと聞かれると、{person}は迷わず「もっと時間と人手が必要です」と答えました。",
        "外からはほとんど見えない仕事だと言えるでしょう。",
        "同時に、関心は地域の外にも大きく広がっています。",
        "この流れが続くかどうかは、まだ分かりません。",
        "{place}の{subj}は、自分たちの研究会まで立ち上げました。",
        "{person}は、一番見落とされやすいのは{thing}だと考えています。",
        "参加するのに必要なのは、好奇心と少しの根気だけです。",
        "多くの人にとって、これはもう単なる趣味ではありません。",
        "失敗はすべてノートに書き留められ、次の会合で話し合われます。",
        "近所の人たちも、最初は半信半疑でしたが、今では喜んで手伝ってくれます。",
    ], titles=["{place}の{obj}について", "{subj}と{obj}", "{place}で出会った{subj}", "{thing}を考える"]),
}

# --- Page furniture, junk and PII --------------------------------------------------------
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


# =========================================================================================
# Text generation
# =========================================================================================
# Least body size per language, topped up with more sentences when a draw falls short: words
# for spaced scripts (English articles must have 150-600), characters for zh/ja.
MIN_BODY = dict(en=170, de=110, fr=110, es=110, zh=260, ja=260)


def make_person(rng, vocab):
    if "person" in vocab:
        return rng.choice(vocab["person"])
    return f"{rng.choice(vocab.get('first', FIRST))} {rng.choice(vocab.get('last', LAST))}"


class Deck:
    """Slot values for one article: list values are dealt without replacement (reshuffled once
    used up), numbers are drawn fresh, and {person} cycles through a cast of three people."""

    NUMBERS = dict(num=(3, 40, 1), small=(3, 9, 1), year=(1998, 2023, 1), pct=(5, 85, 1),
                   big=(150, 5000, 50), price=(20, 400, 10))

    def __init__(self, rng, vocab):
        self.rng, self.vocab, self.piles = rng, vocab, {}
        self.cast = [make_person(rng, vocab) for _ in range(3)]

    def draw(self, slot):
        if slot in self.NUMBERS:
            lo, hi, step = self.NUMBERS[slot]
            return str(self.rng.randrange(lo, hi + 1, step))
        if not self.piles.get(slot):
            self.piles[slot] = list(self.cast if slot == "person" else self.vocab[slot])
            self.rng.shuffle(self.piles[slot])
        return self.piles[slot].pop()


def fill(template, deck):
    """Fill {slot}/{Slot} placeholders; a capitalised slot capitalises only the first character."""
    vals = {}
    for _, field, _, _ in string.Formatter().parse(template):
        if field and field not in vals:
            v = deck.draw(field.lower())
            vals[field] = v[0].upper() + v[1:] if field[0].isupper() else v
    return template.format(**vals)


def make_article(rng, lang, topic):
    """Title and paragraphs; no template is used twice within one article."""
    if lang == "en":
        t = TOPICS[topic]
        host, vocab, body, titles = t["host"], {**EN_COMMON, **t["vocab"]}, t["sents"] + EN_GENERIC, EN_TITLE
        n_paras, lead, close = rng.randint(4, 6), rng.choice(EN_LEAD), rng.choice(EN_CLOSE)
    else:
        t = LANGS[lang]
        host, vocab, body, titles = t["host"], t["vocab"], t["sents"], t["titles"]
        n_paras, lead, close = rng.randint(3, 5), None, None
    sep = "" if lang in ("zh", "ja") else " "
    deck = Deck(rng, vocab)
    title = fill(rng.choice(titles), deck)
    pool = rng.sample(body, len(body))  # drawn from the end, without replacement
    paras = [[fill(pool.pop(), deck) for _ in range(rng.randint(3, 5))] for _ in range(n_paras)]
    if lead:
        paras[0].insert(0, fill(lead, deck))
        paras[-1].append(fill(close, deck))

    def size(s):
        return len(s) if sep == "" else len(s.split())
    total = sum(size(s) for p in paras for s in p)
    while total < MIN_BODY[lang] and pool:  # a rare run of short sentences: add some (before any close)
        s = fill(pool.pop(), deck)
        paras[rng.randrange(len(paras))].insert(-1, s)
        total += size(s)
    return dict(host=host, vocab=vocab, titles=titles, title=title, paras=[sep.join(p) for p in paras], lang=lang)


# =========================================================================================
# Pages and WARC records
# =========================================================================================
def slug(text):
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in ascii_).split()
    return "-".join(words[:8]) or "article"


def render(art, site, theme, rng, charset="utf-8"):
    """Full page: cookie banner, nav, article, sidebar, footer -- boilerplate for the extractor to strip."""
    nav, cookie, accept, related, rights = BOILER[art["lang"]]
    e = html.escape
    navs = "".join(f'<li><a href="/{slug(n) or "s%d" % i}/">{e(n)}</a></li>' for i, n in enumerate(nav))
    links = "".join(f'<li><a href="/story/{rng.randint(1000, 9999)}.html">{e(fill(rng.choice(art["titles"]), Deck(rng, art["vocab"])))}</a></li>'
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
