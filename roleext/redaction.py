"""Keys never leave the process: every error and log line is redacted in one place.

A provider may quote what it was sent: the caller's key, or Spark's signed `authorization`
URL parameter (base64 of a string holding the key, see CONTEXT.md), raw or URL-encoded.
Backends register their keys here when built; `BackendError` redacts its message and the
`roleext` loggers redact their records, so neither stderr nor the database ever holds one.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter values (a test's "x") would mask ordinary words; real keys are 16 to 40 characters."""
MIN_ENCODED_CHARS = 8
"""A key's base64 fragment is matched only when long enough not to occur by chance."""

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Spark's signed URL: the whole parameter goes, whatever it encodes.
_AUTHORIZATION_PARAM = re.compile(r"(authorization=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)
_TOKEN = "[A-Za-z0-9+/=%_-]*"
"""Characters of a base64 (or URL-encoded base64) token around a key's fragment."""


def _base64_fragments(secret: str) -> set[str]:
    """What base64 of any text holding `secret` must contain, at each of the 3 alignments.

    The characters that mix with the neighbouring text are dropped, so the fragment is the
    same whatever surrounds the secret (Spark's authorization is base64 of `api_key="K", ...`).
    """
    fragments = set()
    for offset in range(3):
        padded = "\0" * offset + secret
        encoded = base64.b64encode(padded.encode()).decode().rstrip("=")
        start = -(-offset * 4 // 3) if offset else 0  # chars touched by the padding
        keep = (len(padded.encode()) // 3) * 4  # chars of whole 3-byte groups only
        fragment = encoded[start + (1 if offset else 0):keep]
        if len(fragment) >= MIN_ENCODED_CHARS:
            fragments.add(fragment)
    return fragments


def _forms(secret: str) -> set[str]:
    """A secret as it may be quoted: raw, URL-encoded, and inside base64 (also URL-encoded)."""
    plain = {secret, quote(secret, safe=""), quote_plus(secret)}
    encoded = set()
    if len(secret) >= MIN_ENCODED_CHARS:
        for fragment in _base64_fragments(secret):
            encoded |= {fragment, quote(fragment, safe=""), fragment.replace("+", "-").replace("/", "_")}
    return {re.escape(form) for form in plain} | {_TOKEN + re.escape(form) + _TOKEN for form in encoded}


def register(*secrets: str | None) -> None:
    """Remember keys so that no error or log line of this process ever shows them."""
    global _pattern
    fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS} - _secrets
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        forms = set().union(*(_forms(s) for s in _secrets))
        # Longest first, so a whole token wins over the raw key inside it.
        _pattern = re.compile("|".join(sorted(forms, key=len, reverse=True)))


def redact(text: str) -> str:
    """`text` with every registered key, its derived forms and any signed authorization masked."""
    text = _AUTHORIZATION_PARAM.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


class RedactingFilter(logging.Filter):
    """Masks keys in a log record's message and traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """A `roleext` logger whose records are redacted.

    A filter on a parent logger does not see its children's records, so each logger of the
    package is fetched here, which attaches the filter once.
    """
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
