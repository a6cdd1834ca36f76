"""The one recovery policy: which failures it repeats, how often, and what it asks of the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import SecretStr

from nemo_mcp import errors
from nemo_mcp.api.recovery import Recoveries, RecoveryPolicy, backoff, retry_delay

from .helpers import FakeSleep

pytestmark = pytest.mark.anyio

Op = Callable[[SecretStr | None, str | None], Awaitable[str]]


def scripted(*outcomes: BaseException | str) -> tuple[Op, list[tuple[str | None, str | None]]]:
    """An operation that raises or returns the given outcomes in turn and records its arguments."""
    calls: list[tuple[str | None, str | None]] = []
    queue = list(outcomes)

    async def op(token: SecretStr | None, session_id: str | None) -> str:
        calls.append((token.get_secret_value() if token else None, session_id))
        outcome = queue.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return op, calls


async def test_transient_failures_are_repeated_only_when_the_call_is_repeatable() -> None:
    """A 503 is repeated with backoff for a repeatable call and raised at once for any other."""
    sleep = FakeSleep()
    policy = RecoveryPolicy(sleep=sleep)
    op, calls = scripted(errors.ServerError(status=503), "ok")
    assert await policy.run(op, Recoveries(repeatable=True)) == (None, "ok")
    assert len(calls) == 2 and len(sleep.delays) == 1 and 0.5 <= sleep.delays[0] <= 0.75
    once, once_calls = scripted(errors.ServerError(status=503), "ok")
    with pytest.raises(errors.ServerError):
        await policy.run(once, Recoveries())
    assert len(once_calls) == 1


async def test_a_plain_500_is_not_transient() -> None:
    """HTTP 500 is raised even for a repeatable call: only 502, 503, 504 and no response are transient."""
    op, calls = scripted(errors.ServerError(status=500), "ok")
    with pytest.raises(errors.ServerError):
        await RecoveryPolicy(sleep=FakeSleep()).run(op, Recoveries(repeatable=True))
    assert len(calls) == 1


async def test_each_recovery_runs_once_and_the_bearer_is_asked_on_every_attempt() -> None:
    """1001, 1002, 429 and a missing client id in one call: each recovered once, in the order met."""
    tokens = iter(["t1", "t2", "t3", "t4", "t5"])
    refreshed: list[str | None] = []
    new_ids: list[int] = []
    sleep = FakeSleep()

    async def bearer() -> SecretStr:
        return SecretStr(next(tokens))

    async def refresh(stale: SecretStr | None) -> None:
        refreshed.append(stale.get_secret_value() if stale else None)

    async def replace_session(old: str) -> str:
        return f"{old}-new"

    how = Recoveries(
        bearer=bearer,
        refresh_token=refresh,
        replace_session=replace_session,
        replace_client_id=lambda: new_ids.append(1),
        wait_on_rate_limit=True,
    )
    op, calls = scripted(
        errors.AuthError(code=1001),
        errors.SessionNotFound(code=1002),
        errors.RateLimited(retry_after=7),
        errors.MissingClientId(status=400),
        "done",
    )
    result = await RecoveryPolicy(sleep=sleep).run(op, how, session_id="s")
    assert result == ("s-new", "done")
    assert calls == [("t1", "s"), ("t2", "s"), ("t3", "s-new"), ("t4", "s-new"), ("t5", "s-new")]
    assert refreshed == ["t1"] and new_ids == [1] and sleep.delays == [7.0]


@pytest.mark.parametrize(
    "error",
    [
        errors.AuthError(code=1001),
        errors.SessionNotFound(code=1002),
        errors.RateLimited(),
        errors.MissingClientId(status=400),
    ],
)
async def test_the_same_failure_twice_is_raised_after_one_recovery(error: errors.APIError) -> None:
    """No recovery loops: a failure met again after its recovery is raised to the caller."""

    async def refresh(_: SecretStr | None) -> None:
        return None

    async def replace_session(old: str) -> str:
        return old

    how = Recoveries(
        refresh_token=refresh,
        replace_session=replace_session,
        replace_client_id=lambda: None,
        wait_on_rate_limit=True,
    )
    op, calls = scripted(error, error, "never")
    with pytest.raises(type(error)):
        await RecoveryPolicy(sleep=FakeSleep()).run(op, how, session_id="s")
    assert len(calls) == 2


async def test_a_missing_hook_means_the_failure_is_raised() -> None:
    """Without a refresh hook (a NEMO_TOKEN) a 1001 is raised; without a session id a 1002 is too."""
    policy = RecoveryPolicy(sleep=FakeSleep())
    op, _ = scripted(errors.AuthError(code=1001))
    with pytest.raises(errors.AuthError):
        await policy.run(op, Recoveries(wait_on_rate_limit=True))

    async def replace_session(old: str) -> str:
        return old

    gone, calls = scripted(errors.SessionNotFound(code=1002))
    with pytest.raises(errors.SessionNotFound):
        await policy.run(gone, Recoveries(replace_session=replace_session))
    assert calls == [(None, None)]


def test_rate_limit_wait_is_retry_after_capped_else_thirty_seconds() -> None:
    """Retry-After is honoured up to 120 s; without one the documented 30 s applies."""
    assert retry_delay(errors.RateLimited(retry_after=7)) == 7
    assert retry_delay(errors.RateLimited(retry_after=900)) == 120
    assert retry_delay(errors.RateLimited()) == 30


def test_backoff_doubles_from_half_a_second_and_caps_at_eight_plus_jitter() -> None:
    """The transient waits grow 0.5, 1, 2 … and stop growing at 8 s, each with at most 0.25 s of jitter."""
    for repeat, base in [(0, 0.5), (1, 1.0), (2, 2.0), (5, 8.0), (30, 8.0)]:
        assert base <= backoff(repeat) <= base + 0.25
