"""Sensitive content: PII redaction, URL blocklist, bad words. See stage.py and docs/sensitive.md."""
from corpusmill.stages.sensitive.options import SensitiveOptions
from corpusmill.stages.sensitive.stage import Sensitive

__all__ = ["Sensitive", "SensitiveOptions"]
