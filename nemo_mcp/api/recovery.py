"""The one recovery policy of every backend call.

Every call goes through :meth:`RecoveryPolicy.run`, which owns the bearer token and decides
what to repeat. The policy knows the failures; the caller (the session manager) supplies
only the effects that need its store, through :class:`Recoveries`:

* 502 / 503 / 504 or no response at all: repeated with capped, jittered backoff, up to
  ``max_attempts`` in all, and only where a repeat cannot double an effect (``repeatable``);
* 1001 / 401, token rejected: ``refresh_token`` replaces it and the call is repeated once;
  without that hook (a token from ``NEMO_TOKEN``) the error is raised as it is;
* 1002, session gone: ``replace_session`` names a new session and the call is repeated once
  on it;
* HTTP 429: wait ``Retry-After`` (else 30 s, at most 120 s) and repeat once;
* HTTP 400, missing client id: ``replace_client_id`` makes a new one and the call is repeated once.

The client runs each request through the policy with only the transient repeats (it alone
knows which requests are safe to send twice); the session manager runs each operation
through it with the other recoveries, so each kind happens at one level only. Time is
injected (``sleep``) so tests never wait for real.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import SecretStr

from nemo_mcp.errors import (
    AuthError,
    MissingClientId,
    RateLimited,
    ServerError,
    SessionNotFound,
    TransportError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
#: One attempt of a call: it gets the bearer token (or None) and the session id (or None).
Operation = Callable[[SecretStr | None, str | None], Awaitable[T]]

DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 120.0
#: Backoff between transient repeats: 0.5 s, 1 s, 2 s … capped here, plus jitter so clients spread out.
MAX_BACKOFF = 8.0
JITTER = 0.25


@dataclass(frozen=True)
class Recoveries:
    """The caller's part of the recoveries; a hook left out means that failure is raised as it is."""

    bearer: Callable[[], Awaitable[SecretStr]] | None = None
    refresh_token: Callable[[SecretStr | None], Awaitable[None]] | None = None
    replace_session: Callable[[str], Awaitable[str]] | None = None
    replace_client_id: Callable[[], None] | None = None
    wait_on_rate_limit: bool = False
    repeatable: bool = False


def retry_delay(exc: RateLimited) -> float:
    """How long to wait after a 429: its Retry-After, else the documented 30 s, never over 120 s."""
    if exc.retry_after is None:
        return DEFAULT_RETRY_AFTER
    return min(exc.retry_after, MAX_RETRY_AFTER)


def backoff(repeat: int) -> float:
    """The wait before transient repeat number ``repeat`` (from 0)."""
    return min(MAX_BACKOFF, 0.5 * 2.0**repeat) + random.uniform(0, JITTER)  # noqa: S311 (jitter, not secrecy)


def is_transient(exc: BaseException) -> bool:
    """A failure that a repeat of the same request may not meet again."""
    if isinstance(exc, ServerError):
        return exc.transient
    return isinstance(exc, TransportError)


@dataclass(frozen=True)
class RecoveryPolicy:
    """Runs a call with each recovery :class:`Recoveries` allows, each at most once (transient aside)."""

    sleep: Sleep
    max_attempts: int = 4

    async def run(
        self, op: Operation[T], how: Recoveries, *, session_id: str | None = None
    ) -> tuple[str | None, T]:
        """Run ``op`` until it succeeds or no recovery is left; returns the session id it last used and its result."""
        done: set[str] = set()
        repeats = 0
        while True:
            token = await how.bearer() if how.bearer is not None else None
            try:
                return session_id, await op(token, session_id)
            except (ServerError, TransportError) as exc:
                if not how.repeatable or not is_transient(exc) or repeats + 1 >= self.max_attempts:
                    raise
                await self.sleep(backoff(repeats))
                repeats += 1
            except AuthError as exc:
                if how.refresh_token is None or not _first(done, "auth"):
                    raise
                log.info("token rejected (code %s); acquiring a new anonymous token", exc.code)
                await how.refresh_token(token)
            except SessionNotFound:
                if how.replace_session is None or session_id is None or not _first(done, "session"):
                    raise
                session_id = await how.replace_session(session_id)
            except RateLimited as exc:
                if not how.wait_on_rate_limit or not _first(done, "rate"):
                    raise
                delay = retry_delay(exc)
                log.info("rate limited; retrying once in %.0f s", delay)
                await self.sleep(delay)
            except MissingClientId:
                if how.replace_client_id is None or not _first(done, "client"):
                    raise
                how.replace_client_id()


def _first(done: set[str], kind: str) -> bool:
    """Mark ``kind`` as used; False when it was used already in this call."""
    if kind in done:
        return False
    done.add(kind)
    return True
