"""Keeping secrets out of text: a redaction function and a logging filter.

Tokens reach us from the environment and from the backend; signed download URLs carry
signatures in their query string. Anything that turns into a log line, an exception's
text or a tool result passes through :func:`redact` first, and every handler we install
carries :class:`RedactingFilter` so a stray ``%s`` of a header dict cannot leak either.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_MASK = "[redacted]"

# Bearer credentials in headers or free text. A credential has a digit or is long (tokens,
# JWTs): "a bearer token." or "bearer credentials" is prose and stays as written.
_CRED = r"[A-Za-z0-9._~+/=\-]"
_BEARER = re.compile(rf"(?i)\b(bearer)(\s+)(?={_CRED}*\d|{_CRED}{{20}}){_CRED}{{6,}}")
# The vendor's token shape (nmv_usr_…, nmv_…) wherever it appears.
_NEMO_TOKEN = re.compile(r"\bnmv_[A-Za-z0-9_\-.]{4,}")
# Signed-URL parameters (S3, CloudFront, GCS, Azure SAS) and generic token parameters.
_SIGNED_PARAM = re.compile(
    r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|"
    r"x-goog-signature|x-goog-credential|policy|key-pair-id|token|access_token|se|sp|sv)=)[^&#\s\"']+"
)
# JSON or header-ish "token": "…" pairs.
_TOKEN_FIELD = re.compile(
    r"(?i)([\"']?(?:token|authorization|access_token)[\"']?\s*[:=]\s*[\"']?)[^\"',\s}]{6,}"
)


class SecretRegistry:
    """Exact secret values known to this process, masked wherever they appear."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 6:
            self._values.add(value)

    def values(self) -> Iterable[str]:
        # Longest first so that a token containing another is masked whole.
        return sorted(self._values, key=len, reverse=True)


SECRETS = SecretRegistry()


def redact(text: str) -> str:
    """Return ``text`` with tokens, bearer credentials and URL signatures masked."""
    for value in SECRETS.values():
        if value in text:
            text = text.replace(value, _MASK)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}", text)
    text = _NEMO_TOKEN.sub(_MASK, text)
    text = _SIGNED_PARAM.sub(lambda m: f"{m.group(1)}{_MASK}", text)
    return _TOKEN_FIELD.sub(lambda m: f"{m.group(1)}{_MASK}", text)


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record's message and masks secrets in it.

    The record is rewritten in place (``msg`` becomes the redacted text, ``args`` is
    cleared), so every handler and formatter downstream sees only the safe text.
    Exception text is folded in too, because tracebacks quote local values.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message} ({type(exc).__name__}: {exc})"
            record.exc_info = None
            record.exc_text = None
        record.msg = redact(message)
        record.args = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactingFilter` to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
