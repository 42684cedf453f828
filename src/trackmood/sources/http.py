"""One retry loop for every remote call (Spotify through spotipy, ReccoBeats through requests).

spotipy's own retries sleep silently on a ``Retry-After`` of hours and then lose the header, so
trackmood hands spotipy a plain :class:`requests.Session` (no retry adapter) and retries here:

* ``429`` with ``Retry-After`` up to a cap (argument, then ``TRACKMOOD_MAX_RETRY_AFTER``, then 60 s)
  is waited out; above the cap, or with ``"reason": "QUOTA_EXCEEDED"``, it stops with a
  :class:`~trackmood.errors.RateLimitError` that says when to resume;
* ``5xx``, timeouts and dropped connections are retried with exponential backoff;
* anything else is raised at once for the caller to explain.

>>> policy = RetryPolicy(max_retry_after=5, backoff=0)
>>> calls = []
>>> def flaky():
...     calls.append(1)
...     if len(calls) < 3:
...         raise HTTPFailure(503, "busy")
...     return "ok"
>>> with_retries(flaky, what="a test call", policy=policy)
'ok'
>>> len(calls)
3
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import RateLimitError, SourceError

T = TypeVar("T")

#: Default longest ``Retry-After`` (seconds) that is waited out rather than stopping.
DEFAULT_MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def env_float(name: str, default: float) -> float:
    """A float from the environment variable ``name``; a bad value raises :class:`SourceError`."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(f"environment variable {name}={raw!r} is not a number") from None
    if value < 0:
        raise SourceError(f"environment variable {name}={raw!r} must be >= 0")
    return value


def resolve_max_retry_after(value: float | None = None) -> float:
    """Argument, then ``TRACKMOOD_MAX_RETRY_AFTER``, then :data:`DEFAULT_MAX_RETRY_AFTER`."""
    if value is not None:
        if value < 0:
            raise SourceError(
                f"max retry-after {value:g} must be >= 0 seconds", param="max_retry_after"
            )
        return float(value)
    return env_float("TRACKMOOD_MAX_RETRY_AFTER", DEFAULT_MAX_RETRY_AFTER)


@dataclass
class RetryPolicy:
    """How :func:`with_retries` waits.

    Parameters
    ----------
    max_retry_after : float, optional
        Longest ``Retry-After`` waited out; default from :func:`resolve_max_retry_after`.
    attempts : int
        Tries for one call that fails with 5xx, a timeout or a dropped connection.
    backoff : float, optional
        First backoff in seconds (doubles each try); default ``TRACKMOOD_RETRY_BACKOFF`` or 1.
    max_backoff : float
        Longest single backoff.
    max_rate_limited : int
        Consecutive 429 answers tolerated for one call before giving up.
    sleep : callable
        ``time.sleep`` (tests pass a recorder).
    notify : callable, optional
        Told (one line) whenever the loop waits.
    """

    max_retry_after: float | None = None
    attempts: int = 5
    backoff: float | None = None
    max_backoff: float = 30.0
    max_rate_limited: int = 10
    sleep: Callable[[float], None] = time.sleep
    notify: Callable[[str], None] | None = None
    waited: float = field(default=0.0, init=False)

    def __post_init__(self):
        self.max_retry_after = resolve_max_retry_after(self.max_retry_after)
        if self.backoff is None:
            self.backoff = env_float("TRACKMOOD_RETRY_BACKOFF", 1.0)

    def _wait(self, seconds: float, why: str) -> None:
        if self.notify:
            self.notify(why)
        self.waited += seconds
        if seconds > 0:
            self.sleep(seconds)


class HTTPFailure(Exception):
    """A failed HTTP exchange in one shape, whatever library raised it.

    ``status`` is the HTTP status, or ``"timeout"`` / ``"connection"``.
    """

    def __init__(
        self,
        status,
        message: str = "",
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        url: str | None = None,
    ):
        self.status, self.message, self.reason = status, message, reason
        self.retry_after, self.url = retry_after, url
        super().__init__(f"{status}: {message}")


def parse_retry_after(value) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - _dt.datetime.now(_dt.UTC)).total_seconds())


def normalize(exc: BaseException) -> HTTPFailure | None:
    """An :class:`HTTPFailure` for exceptions of spotipy and requests; ``None`` for others."""
    if isinstance(exc, HTTPFailure):
        return exc
    import requests

    try:
        from spotipy.exceptions import SpotifyException
    except ImportError:  # pragma: no cover - spotipy is a dependency
        SpotifyException = ()
    if SpotifyException and isinstance(exc, SpotifyException):
        headers = exc.headers or {}
        retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
        msg = str(exc.msg or "").split(":\n", 1)[-1].strip()
        return HTTPFailure(exc.http_status, msg, reason=exc.reason, retry_after=retry_after)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        r = exc.response
        message, reason = "", None
        try:
            body = r.json()
            err = body.get("error", body) if isinstance(body, dict) else {}
            if isinstance(err, dict):
                message, reason = str(err.get("message") or ""), err.get("reason")
            else:
                message = str(err)
        except ValueError:
            message = (r.text or "")[:200]
        return HTTPFailure(
            r.status_code,
            message,
            reason=reason,
            retry_after=parse_retry_after(r.headers.get("Retry-After")),
            url=r.url,
        )
    if isinstance(exc, requests.Timeout):
        return HTTPFailure("timeout", "no answer in time")
    if isinstance(exc, requests.ConnectionError):
        return HTTPFailure("connection", "connection failed")
    return None


def human_duration(seconds: float) -> str:
    """``'45 s'``, ``'12 min'``, ``'3 h 20 min'``."""
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def resume_hint(seconds: float | None) -> str:
    """``'after 14:05 (in 1 h 0 min)'`` or ``'later'`` when the wait is unknown."""
    if seconds is None:
        return "later (Spotify does not say when; try again in an hour)"
    when = _dt.datetime.now() + _dt.timedelta(seconds=seconds)
    fmt = "%H:%M" if seconds < 20 * 3600 else "%Y-%m-%d %H:%M"
    return f"after {when.strftime(fmt)} (in {human_duration(seconds)})"


def with_retries(
    call: Callable[[], T], *, what: str, policy: RetryPolicy, service: str = "Spotify"
) -> T:
    """Run ``call()``; wait out rate limits and retry transient failures as :class:`RetryPolicy` says.

    Non-transient HTTP errors are re-raised as :class:`HTTPFailure` for the caller to explain.
    Raises :class:`RateLimitError` when the wait would exceed the cap or the quota is spent, and
    :class:`SourceError` when transient failures outlast ``policy.attempts``.
    """
    failures = 0
    limited = 0
    # resolved by RetryPolicy.__post_init__; a policy whose fields were reset gets the defaults
    cap = resolve_max_retry_after(policy.max_retry_after)
    backoff = policy.backoff if policy.backoff is not None else 1.0
    while True:
        try:
            return call()
        except Exception as exc:
            f = normalize(exc)
            if f is None:
                raise
        if f.status == 429:
            limited += 1
            if f.reason == "QUOTA_EXCEEDED":
                raise RateLimitError(
                    f"{service} says the app's quota is spent (QUOTA_EXCEEDED) while {what}; "
                    f"finished work is saved: run the same command again {resume_hint(f.retry_after)}",
                    retry_after=f.retry_after,
                    quota=True,
                )
            wait = (
                f.retry_after
                if f.retry_after is not None
                else min(backoff * 2 ** (limited - 1), policy.max_backoff)
            )
            if wait > cap:
                raise RateLimitError(
                    f"{service} asks to wait {human_duration(wait)} (Retry-After: {wait:g} s) while "
                    f"{what}, more than the {cap:g} s cap; finished work is saved: "
                    f"run the same command again {resume_hint(wait)} (or raise the cap; "
                    "TRACKMOOD_MAX_RETRY_AFTER sets it too)",
                    retry_after=wait,
                    param="max_retry_after",
                )
            if limited > policy.max_rate_limited:
                raise RateLimitError(
                    f"{service} kept answering 429 Too Many Requests while {what} ({limited} times); "
                    f"finished work is saved: run the same command again {resume_hint(wait)}",
                    retry_after=wait,
                )
            policy._wait(
                wait,
                f"{service} rate limit: waiting {human_duration(wait)} (Retry-After) before {what}",
            )
            continue
        if f.status in RETRY_STATUSES or f.status in ("timeout", "connection"):
            failures += 1
            label = f"HTTP {f.status}" if isinstance(f.status, int) else f.status
            if failures >= policy.attempts:
                raise SourceError(
                    f"{service} failed {failures} times while {what} (last: {label}"
                    f"{': ' + f.message if f.message else ''}); finished work is saved: "
                    "run the same command again later"
                ) from None
            wait = (
                f.retry_after
                if f.retry_after is not None and f.retry_after <= cap
                else min(backoff * 2 ** (failures - 1), policy.max_backoff)
            )
            policy._wait(
                wait,
                f"{service} {label} while {what}; retry {failures} of "
                f"{policy.attempts - 1} in {wait:.1f} s",
            )
            continue
        raise f
