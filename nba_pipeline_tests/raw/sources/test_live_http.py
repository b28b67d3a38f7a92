"""The live feeds' HTTP client against a local server: retries with backoff on 429/5xx (honouring
Retry-After), no retry on other errors, malformed JSON named, the rate limit kept, the API key
never shown."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nba_pipeline.raw.sources.live.http import FeedRequestError, JsonHttp


class Script:
    """Per path, the responses to give in order (the last one repeats)."""

    def __init__(self):
        self.responses: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.hits: dict[str, int] = {}


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            path = self.path.split("?")[0]
            n = script.hits.get(path, 0)
            script.hits[path] = n + 1
            queue = script.responses.get(path, [(404, {}, b"not found")])
            status, headers, body = queue[min(n, len(queue) - 1)]
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def _client(**kw):
    waits: list[float] = []
    return JsonHttp(timeout=5, backoff=0.5, sleep=waits.append, **kw), waits


def test_429_and_5xx_are_retried_with_backoff_then_succeed(server):
    url, script = server
    ok = json.dumps({"ok": 1}).encode()
    script.responses["/a"] = [
        (429, {"Retry-After": "7"}, b"slow down"),
        (503, {}, b"busy"),
        (500, {}, b"oops"),
        (200, {}, ok),
    ]
    http, waits = _client(max_retries=4)
    assert http.get(f"{url}/a") == {"ok": 1}
    assert script.hits["/a"] == 4 and http.requests_made == 4
    # Retry-After first, then the backoff for the 2nd and 3rd retry (0.5 * 2**n), with up to 10% jitter
    assert 7 <= waits[0] <= 7.7 and 1.0 <= waits[1] <= 1.1 and 2.0 <= waits[2] <= 2.2


def test_gives_up_after_max_retries_and_says_so(server):
    url, script = server
    script.responses["/b"] = [(500, {}, b"down")]
    http, waits = _client(max_retries=2)
    with pytest.raises(
        FeedRequestError, match=r"GET http://127.0.0.1:\d+/b: HTTP 500: 'down' \(gave up after 3 attempts\)"
    ) as err:
        http.get(f"{url}/b")
    assert err.value.status == 500 and script.hits["/b"] == 3 and len(waits) == 2


def test_other_errors_are_not_retried_and_the_key_is_redacted(server):
    url, script = server
    script.responses["/c"] = [(401, {}, b'{"message": "invalid api key"}')]
    http, _ = _client()
    with pytest.raises(FeedRequestError, match=r"/c\?apiKey=\*\*\*&x=1: HTTP 401") as err:
        http.get(f"{url}/c", {"apiKey": "SECRET", "x": "1"}, redact=("apiKey",))
    assert "SECRET" not in str(err.value) and script.hits["/c"] == 1


def test_a_connection_error_does_not_show_the_key():
    # requests' connection errors quote the URL with its query, the key included (URL-encoded)
    http, _ = _client(max_retries=0)
    with pytest.raises(FeedRequestError, match="ConnectionError") as err:
        http.get("http://127.0.0.1:9/odds", {"apiKey": "SECRET/key+1", "x": "1"}, redact=("apiKey",))  # discard port
    assert "127.0.0.1:9/odds?apiKey=***&x=1" in str(err.value)
    assert not any(form in str(err.value) for form in ("SECRET", "key+1", "key%2B1")), str(err.value)


def test_an_answer_echoing_the_key_does_not_show_it(server):
    url, script = server
    script.responses["/f"] = [(400, {}, b'{"message": "bad request /f?apiKey=SECRET"}')]
    http, _ = _client()
    with pytest.raises(FeedRequestError, match=r"HTTP 400: .*apiKey=\*\*\*") as err:
        http.get(f"{url}/f", {"apiKey": "SECRET"}, redact=("apiKey",))
    assert "SECRET" not in str(err.value)


def test_malformed_json_is_named(server):
    url, script = server
    script.responses["/d"] = [(200, {}, b'{"resultSets": [')]
    http, _ = _client()
    with pytest.raises(FeedRequestError, match=r"/d: response is not JSON"):
        http.get(f"{url}/d")


def test_connection_refused_is_retried_then_reported():
    http, waits = _client(max_retries=1)
    with pytest.raises(FeedRequestError, match=r"ConnectionError.*gave up after 2 attempts"):
        http.get("http://127.0.0.1:9/nothing")  # discard port: nothing listens
    assert len(waits) == 1


def test_rate_limit_spaces_requests(server):
    url, script = server
    script.responses["/e"] = [(200, {}, b"[]")]
    http, waits = _client(min_interval=2.0)
    for _ in range(3):
        assert http.get(f"{url}/e") == []
    # the first goes at once; each later one waits for its turn (the test's sleep does not pass time)
    assert len(waits) == 2 and waits[0] == pytest.approx(2.0, abs=0.2) and waits[1] == pytest.approx(4.0, abs=0.2)
