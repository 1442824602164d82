"""The `sensitive` stage: URL blocklist, bad words (LDNOOBW lists), PII redaction.

Columns added to every row (annotate first, then filter):
  sensitive.url_blocked     string   the listed domain (or URL) that blocks the url, else null
  sensitive.badwords        int32    listed words found (no overlaps); null where the language has no list
  sensitive.badwords.ratio  float32  those words / all words (zh, ja, th: / non-space characters)
  sensitive.badwords.words  list<string>  the different listed words found, sorted (kept rows too)
  sensitive.pii.email|ip|phone int32 addresses/numbers replaced (pii: redact) or found (annotate)
Reasons: url_blocklist, badwords. stats.json counts, per listed word, the documents that held it
(counters badwords.documents_by_word) and those removed for badwords (badwords.removed_by_word).
PII is redacted in every row, removed ones too: removed/ is an
output as well, and it should not hold the addresses the kept documents lost.
"""
from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.pipeline.stage import Decision, Stage, Verdict
from corpusmill.stages.sensitive.badwords import BadWords, lang_key
from corpusmill.stages.sensitive.blocklist import Blocklist, normalize_domain, read_list
from corpusmill.stages.sensitive.options import SensitiveOptions
from corpusmill.stages.sensitive.pii import PiiRedactor

PII_KINDS = ("email", "ip", "phone")


class Sensitive(Stage):
    name = "sensitive"
    Options = SensitiveOptions

    loaded = ("blocklist", "badwords", "redactor")  # lists and automata: each worker builds its own
    thresholds = ("badwords.min_count", "badwords.min_distinct", "badwords.min_ratio")

    def setup(self) -> None:
        o = self.options
        self.blocklist = self.badwords = self.redactor = None
        if o.url_blocklist is not None:
            b = o.url_blocklist
            domains = {normalize_domain(d) for d in b.domains} - {""}
            for path in b.paths:
                domains |= read_list(path)
            self.blocklist = Blocklist(b.default, domains)
        if o.badwords is not None:
            w = o.badwords
            self.badwords = BadWords(w.packaged, w.paths, {a.lower() for a in w.allow}, w.languages,
                                     set(w.substring_languages))
        if o.pii.mode != "off":
            p = o.pii
            self.redactor = PiiRedactor(p.emails, p.ips, p.phones, p.email_replacement, p.ip_replacement,
                                        p.ipv6_replacement, p.phone_replacement)

    def process(self, batch: pa.Table) -> Decision:
        table = batch
        if self.blocklist is not None:
            urls = batch.column("url").to_pylist() if "url" in batch.column_names else [None] * batch.num_rows
            table = table.append_column("sensitive.url_blocked", pa.array(self.blocklist.match(urls), pa.string()))
        if self.badwords is not None:
            table = self._badwords(table)
        if self.redactor is not None:
            table = self._pii(table)
        verdict = self.decide(table)
        return Decision(table, verdict.reasons, verdict.counters)

    def decide(self, table: pa.Table) -> Verdict:
        """url_blocklist first, then badwords by its rule over the stored count, ratio (float32) and words."""
        n = table.num_rows
        reasons: list[str | None] = [None] * n
        if self.options.url_blocklist is not None:
            reasons = ["url_blocklist" if b is not None else None for b in table.column("sensitive.url_blocked").to_pylist()]
        o = self.options.badwords
        if o is None:
            return Verdict(reasons)
        seen: Counter[str] = Counter()
        removed: Counter[str] = Counter()
        for i, (c, r, words) in enumerate(zip(table.column("sensitive.badwords").to_pylist(),
                                              table.column("sensitive.badwords.ratio").to_pylist(),
                                              table.column("sensitive.badwords.words").to_pylist())):
            if not c:
                continue
            seen.update(words)
            if reasons[i] is None and ((o.min_count is None or c >= o.min_count)
                                       and (o.min_distinct is None or len(words) >= o.min_distinct)
                                       and (o.min_ratio is None or r >= o.min_ratio)):
                reasons[i] = "badwords"
                removed.update(words)
        return Verdict(reasons, {"badwords.documents_by_word": dict(seen), "badwords.removed_by_word": dict(removed)})

    def notices(self) -> list[str]:
        return self.options.notices()

    def _badwords(self, table: pa.Table) -> pa.Table:
        o = self.options.badwords
        n = table.num_rows
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * n
        keys = [lang_key(lang, o.default_language) for lang in langs]
        m = self.badwords.match_rows(table.column("text").combine_chunks(), keys)
        return (table.append_column("sensitive.badwords", pa.array(m.counts, pa.int32()))
                .append_column("sensitive.badwords.ratio", pa.array(m.ratios, pa.float32()))
                .append_column("sensitive.badwords.words", pa.array(m.words, pa.list_(pa.string()))))

    def _pii(self, table: pa.Table) -> pa.Table:
        p = self.options.pii
        n = table.num_rows
        text = table.column("text").combine_chunks()
        # One RE2 pass over the batch, then one per kind over the few documents it found.
        found = pc.match_substring_regex(text, self.redactor.hint) if self.redactor.steps else pa.nulls(n, pa.bool_())
        rows = pc.indices_nonzero(pc.fill_null(found, False))
        counts = {k: [0] * n for k in PII_KINDS}
        changed_rows, changed_texts = [], []
        if len(rows):
            cand = text.take(rows)
            runs = zip(*[pc.match_substring_regex(cand, s.hint).to_pylist() for s in self.redactor.steps])
            for i, t, run in zip(rows.to_pylist(), cand.to_pylist(), runs):
                new, c = self.redactor(t, run)
                counts["email"][i], counts["ip"][i], counts["phone"][i] = c.email, c.ip, c.phone
                if new is not t:
                    changed_rows.append(i)
                    changed_texts.append(new)
        if p.mode == "redact" and changed_rows:
            mask = [False] * n
            for i in changed_rows:
                mask[i] = True
            text = pc.replace_with_mask(text, pa.array(mask), pa.array(changed_texts, text.type))
            table = table.set_column(table.schema.get_field_index("text"), "text", text)
        on = {"email": p.emails, "ip": p.ips, "phone": p.phones}
        for k in PII_KINDS:
            col = pa.array(counts[k], pa.int32()) if on[k] else pa.nulls(n, pa.int32())
            table = table.append_column(f"sensitive.pii.{k}", col)
        return table
