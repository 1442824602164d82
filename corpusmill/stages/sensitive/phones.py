"""Phone numbers: our own regex (datatrove has none), tuned to miss dates, prices and IDs.

Chosen over the `phonenumbers` package by measurement: phonenumbers needs a default region to
find national numbers (a document's language is not its country, so "030 1234567" and
"(555) 010-0199" cannot both be found with one region), and on candidate documents it was
slower than this regex. See docs/sensitive.md for the figures.

Three shapes are recognised, each bounded so it cannot start or end inside a longer number:
  international  +CC then digit groups        +1 555-010-0199, +44 20 7946 0018, +49 (0)30 1234567
  North American 3-3-4 with one separator     (555) 010-0199, 555-010-0199, 555.010.0199, 303/232/9507
  national trunk 0, area code, then groups    030 1234567, 020 7946 0018, (030) 1234567, 06 12 34 56 78
A match must then hold a plausible count of digits (E.164 allows at most 15).
"""
from __future__ import annotations

import re

PHONE_RE = re.compile(
    r"""
    (?<![\w+/.:@-])                          # not glued to a word, number, URL path or other digits
    (?:
        (?P<intl>\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,5})
      | (?P<nanp>(?:1[ .-])?(?:\(\d{3}\)[ ]?\d{3}[ .-]|\d{3}(?P<sep>[./-])\d{3}(?P=sep))\d{4})
      | (?P<natl>(?:\(0\d{1,4}\)[ ]?|0\d{1,4}[ /-])\d{2,8}(?:[ -]\d{2,4}){0,3})
    )
    (?![\w@]|[.,/-]?\d)                      # nor followed by more of a number
    """,
    re.VERBOSE | re.ASCII,  # ASCII digits, as in the RE2 hint; a Han character before a number is no word
)

# A cheap superset of PHONE_RE for pyarrow's RE2: documents that cannot hold a number skip it.
PHONE_HINT = r"\+\d|\(\d{2,5}\)|\d{3}[./-]\d{3}[./-]\d{4}|0\d{1,4}[ /-]\d{2}"

_DIGITS = {"intl": (8, 15), "nanp": (10, 11), "natl": (9, 12)}


def is_phone(m: re.Match) -> bool:
    """Digit-count check on a PHONE_RE match: keeps '+1 2' or '05 11 2021' from counting."""
    kind = "intl" if m["intl"] else "nanp" if m["nanp"] else "natl"
    lo, hi = _DIGITS[kind]
    n = sum(c in "0123456789" for c in m.group(0))
    return lo <= n <= hi
