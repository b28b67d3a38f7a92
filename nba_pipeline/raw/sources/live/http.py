"""JSON over HTTP for the live feeds: timeouts, retries with backoff, a rate limit, clear errors.

`requests` (already a Dagster dependency) does the transport. What it does not do is written here,
small on purpose: urllib3's `Retry` would retry, but it cannot rate-limit across calls, and its
errors do not say which feed and which request failed.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import requests

from nba_pipeline.raw.feeds import UnreadableFeed

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class FeedRequestError(UnreadableFeed, RuntimeError):
    """A live feed request that failed for good (after its retries), naming the request."""

    def __init__(self, url: str, problem: str, status: int | None = None):
        self.url, self.problem, self.status = url, problem, status
        super().__init__(f"GET {url}: {problem}")


@dataclass
class JsonHttp:
    """GET JSON with a per-request timeout, at most `max_retries` retries of 429/5xx responses and
    connection errors (exponential backoff with jitter, or the server's Retry-After), and at most
    one request every `min_interval` seconds (the feeds' rate limits)."""

    timeout: float = 30.0
    max_retries: int = 4
    backoff: float = 1.0  # first wait; doubles each retry
    max_backoff: float = 60.0
    min_interval: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_at: float = 0.0
    requests_made: int = 0  # every attempt, retries included (for tests and metadata)

    def _wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + self.min_interval
        if wait > 0:
            self.sleep(wait)

    def get(self, url: str, params: Mapping[str, str] | None = None, redact: tuple[str, ...] = ()) -> object:
        """The decoded JSON body of GET url?params. `redact`: parameter names (API keys) shown as
        *** in errors, wherever their value appears: requests' connection errors quote the full
        URL with its query, and a server may echo it in its answer."""
        shown = url + (
            "?" + "&".join(f"{k}={'***' if k in redact else v}" for k, v in params.items()) if params else ""
        )
        secrets = [params[k] for k in redact if params and params.get(k)]

        def failed(problem: str, status: int | None) -> FeedRequestError:
            return FeedRequestError(shown, _redacted(problem, secrets), status)

        attempt = 0
        while True:
            self._wait_turn()
            self.requests_made += 1
            try:
                resp = self.session.get(url, params=params, headers=dict(self.headers), timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem, status, retry_after = f"{type(exc).__name__}: {exc}", None, None
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except (json.JSONDecodeError, ValueError) as exc:
                        raise failed(f"response is not JSON ({exc}): {resp.text[:120]!r}", resp.status_code) from None
                problem = f"HTTP {resp.status_code}: {resp.text[:200].strip()!r}"
                status, retry_after = resp.status_code, _retry_after(resp)
                if status not in RETRY_STATUSES:
                    raise failed(problem, status)
            if attempt >= self.max_retries:
                raise failed(f"{problem} (gave up after {attempt + 1} attempts)", status)
            delay = retry_after if retry_after is not None else min(self.max_backoff, self.backoff * 2**attempt)
            self.sleep(delay * (1 + 0.1 * random.random()))
            attempt += 1


def _redacted(text: str, secrets: list[str]) -> str:
    """`text` with every secret, as given or URL-encoded, replaced by ***."""
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: back off as usual
        return None
