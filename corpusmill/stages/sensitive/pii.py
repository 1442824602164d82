"""Emails, public IPv4/IPv6 addresses and phone numbers: find, count and replace.

Emails and IPv4 reuse datatrove's PIIFormatter: its regexes, its replacement strings and its
public-address test (Python's `is_global`: private 10/8, 172.16/12, 192.168/16, loopback,
link-local, CGNAT and the documentation ranges are kept, as they identify no one). Two changes:
the IPv4 regex is bounded so it cannot cut an address out of a longer dotted number
("1.2.3.4.5", "123.45.67.890"), and replacements cycle per document, not per process, so the
output does not depend on which worker saw which document first (resume stays byte-identical).
IPv6 and phone numbers are ours: datatrove has neither.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from datatrove.pipeline.formatters.pii import PIIFormatter, public_ip_validator

from corpusmill.stages.sensitive.phones import PHONE_HINT, PHONE_RE, is_phone

_dt = PIIFormatter()
EMAIL_RE: re.Pattern = _dt.emails_replacer.regex
IPV4_RE = re.compile(rf"(?<![\w.]){_dt.ip_replacer.regex.pattern}(?!\w|\.\d)")
DEFAULT_EMAIL_REPLACEMENT: tuple[str, ...] = _dt.emails_replacer.replacements
DEFAULT_IP_REPLACEMENT: tuple[str, ...] = _dt.ip_replacer.replacements
del _dt

# Global unicast IPv6 lives in 2000::/3, so a candidate starts with a group 2xxx or 3xxx; that
# skips "12:30:45", "a::b" and most hex in code. ipaddress validates the rest.
IPV6_RE = re.compile(r"(?<![\w.])(?<![0-9A-Fa-f]:)[23][0-9A-Fa-f]{0,3}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])", re.ASCII)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# Documentation prefix (RFC 3849): never anyone's address, and not replaced again on a re-run.
DEFAULT_IPV6_REPLACEMENT = ("2001:db8::1", "2001:db8:85a3::8a2e:370:7334", "2001:db8:0:1::101")
DEFAULT_PHONE_REPLACEMENT = ("<PHONE>",)

# Cheap supersets of each regex for pyarrow's RE2: one pass over the whole batch finds the few
# documents that may hold any PII, a pass per kind over those says which Python regexes to run
# (each costs ~0.3-0.7 ms on an 8 KB document; RE2 scans 50k such documents a second).
EMAIL_HINT = "@"
IPV4_HINT = r"\d\.\d{1,3}\.\d{1,3}\.\d"
IPV6_HINT = r"[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:"


def public_ipv6(s: str) -> bool:
    try:
        ip = ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return ip.is_global and ip in _GLOBAL_UNICAST


@dataclass
class PiiCounts:
    email: int = 0
    ip: int = 0
    phone: int = 0


class Replacer:
    """Replaces valid matches of one regex, cycling through replacements within a document."""

    def __init__(self, kind: str, regex: re.Pattern, hint: str, replacements: Sequence[str],
                 valid: Callable[[re.Match], bool] | None = None):
        self.kind, self.regex, self.hint, self.valid = kind, regex, hint, valid
        self.replacements = tuple(replacements)
        self.placeholders = frozenset(self.replacements)  # already redacted: a re-run changes nothing

    def __call__(self, text: str) -> tuple[str, int]:
        n = 0

        def sub(m: re.Match) -> str:
            nonlocal n
            if m.group(0) in self.placeholders or (self.valid is not None and not self.valid(m)):
                return m.group(0)
            r = self.replacements[n % len(self.replacements)]
            n += 1
            return r

        out = self.regex.sub(sub, text)
        return (out, n) if n else (text, 0)


class PiiRedactor:
    """Applies the enabled replacers in datatrove's order (emails first, so an address's digits
    are gone before the IP and phone regexes look), then IPv6, IPv4 and phones."""

    def __init__(self, emails: bool, ips: bool, phones: bool, email_replacement: Sequence[str],
                 ip_replacement: Sequence[str], ipv6_replacement: Sequence[str], phone_replacement: Sequence[str]):
        self.steps: list[Replacer] = []
        if emails:
            self.steps.append(Replacer("email", EMAIL_RE, EMAIL_HINT, email_replacement))
        if ips:
            self.steps.append(Replacer("ip", IPV6_RE, IPV6_HINT, ipv6_replacement, lambda m: public_ipv6(m.group(0))))
            self.steps.append(Replacer("ip", IPV4_RE, IPV4_HINT, ip_replacement,
                                       lambda m: public_ip_validator(m.group(0))))
        if phones:
            self.steps.append(Replacer("phone", PHONE_RE, PHONE_HINT, phone_replacement, is_phone))
        self.hint = "|".join(s.hint for s in self.steps)  # matches wherever any step could

    def __call__(self, text: str, run: Sequence[bool] | None = None) -> tuple[str, PiiCounts]:
        """run[k]: whether step k's hint matched this text (all steps when None)."""
        counts = PiiCounts()
        for k, step in enumerate(self.steps):
            if run is None or run[k]:
                text, n = step(text)
                setattr(counts, step.kind, getattr(counts, step.kind) + n)
        return text, counts
