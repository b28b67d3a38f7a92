"""Alerts against a local HTTP server standing in for the webhook and for Slack's API: one alert
per failing check and partition, failed runs reported, and a dead destination fails the tick
(incident 11) without losing the alert."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from nba_pipeline.orchestration import alerts
from nba_pipeline.orchestration.alerts import (
    AlertDeliveryError,
    AlertNotifier,
    check_failure_alerts,
    notifier_from_env,
    run_failure_alerts,
)

P = dg.DailyPartitionsDefinition("2025-11-01", end_offset=1)
BAD = {"2025-11-02"}  # the partition whose row count check fails
BROKEN: set[str] = set()  # partitions whose step fails before its checks are evaluated


class Receiver:
    """A local HTTP server recording every POST; `status` is what it answers."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    data = json.loads(body)
                except ValueError:  # Slack's client posts form-encoded bodies
                    from urllib.parse import parse_qsl

                    data = dict(parse_qsl(body.decode()))
                receiver.posts.append((self.path, data))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": receiver.status == 200}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def failing_partition():
    """The failing partition is module state the asset reads; every test starts from it."""
    BAD.clear()
    BAD.add("2025-11-02")
    BROKEN.clear()
    yield


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@dg.asset(
    partitions_def=P,
    check_specs=[
        dg.AssetCheckSpec("row_count", asset="scores", partitions_def=P),
        dg.AssetCheckSpec("share", asset="scores", partitions_def=P),
    ],
)
def scores(context):
    if context.partition_key in BROKEN:
        raise RuntimeError("no data")
    yield dg.Output(1)
    for check, severity in (("row_count", dg.AssetCheckSeverity.ERROR), ("share", dg.AssetCheckSeverity.WARN)):
        yield dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("scores"),
            check_name=check,
            passed=context.partition_key not in BAD,
            metadata={},
            severity=severity,
            partition=context.partition_key,
        )
        yield dg.Output(None, output_name=f"scores_{check}")


DEFS = dg.Definitions(assets=[scores])


def materialize(instance, partition: str, succeed=True):
    return dg.materialize([scores], instance=instance, partition_key=partition, raise_on_error=succeed)


def tick(instance, notifier, cursor=None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"alerts": notifier}, definitions=DEFS
    )
    result = check_failure_alerts(context)
    return result, context.cursor


def test_one_alert_per_failing_check_and_partition(instance, receiver):
    webhook = AlertNotifier(webhook_url=f"{receiver.url}/hook")
    materialize(instance, "2025-11-01")
    materialize(instance, "2025-11-02")
    _, cursor = tick(instance, webhook)
    assert len(receiver.posts) == 1
    path, body = receiver.posts[0]
    assert path == "/hook" and body["kind"] == "check_failures"
    assert [a["check"] for a in body["alerts"]] == ["scores:row_count@2025-11-02"]  # WARN not by default
    assert "scores:row_count@2025-11-02 (ERROR)" in body["text"]
    # the same failure again (a re-run), and nothing new: no second alert
    materialize(instance, "2025-11-02")
    _, cursor = tick(instance, webhook, cursor)
    assert len(receiver.posts) == 1
    # it passes, then fails again: that is news
    BAD.clear()
    materialize(instance, "2025-11-02")
    _, cursor = tick(instance, webhook, cursor)
    BAD.add("2025-11-02")
    materialize(instance, "2025-11-02")
    tick(instance, webhook, cursor)
    assert len(receiver.posts) == 2


def test_a_check_planned_but_never_evaluated_is_no_failure_and_hides_none(instance, receiver, monkeypatch):
    """A step that fails before its checks leaves them planned: not a failure to alert, and reading
    the history a page at a time past them loses no evaluation before or after them."""
    monkeypatch.setattr(alerts, "PAGE", 2)
    webhook = AlertNotifier(webhook_url=receiver.url)
    BAD.update({"2025-11-04", "2025-11-05"})
    BROKEN.add("2025-11-03")
    for day in ("2025-11-02", "2025-11-03", "2025-11-04", "2025-11-05"):
        materialize(instance, day, succeed=day not in BROKEN)
    planned = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("scores"), "row_count"), limit=10
    )
    assert [r.status.value for r in planned if r.partition == "2025-11-03"] == ["PLANNED"]
    _, cursor = tick(instance, webhook)
    assert [a["check"] for a in receiver.posts[0][1]["alerts"]] == [
        "scores:row_count@2025-11-02",
        "scores:row_count@2025-11-04",
        "scores:row_count@2025-11-05",
    ]
    # the broken day's data comes, and fails its check: that is news, once
    BROKEN.clear()
    BAD.add("2025-11-03")
    materialize(instance, "2025-11-03")
    _, cursor = tick(instance, webhook, cursor)
    assert [a["check"] for a in receiver.posts[1][1]["alerts"]] == ["scores:row_count@2025-11-03"]
    tick(instance, webhook, cursor)
    assert len(receiver.posts) == 2


def test_warnings_alert_when_configured(instance, receiver):
    materialize(instance, "2025-11-02")
    tick(instance, AlertNotifier(webhook_url=receiver.url, include_warnings=True))
    assert sorted(a["check"] for a in receiver.posts[0][1]["alerts"]) == [
        "scores:row_count@2025-11-02",
        "scores:share@2025-11-02",
    ]


def test_incident_11_a_dead_webhook_fails_the_tick_and_keeps_the_alert(instance, receiver):
    """Incident 11: the old webhook was dead (404) and nobody knew."""
    materialize(instance, "2025-11-02")
    receiver.status = 404
    dead = AlertNotifier(webhook_url=f"{receiver.url}/gone")
    with pytest.raises(AlertDeliveryError, match="answered HTTP 404"):
        tick(instance, dead)
    # through Dagster's own sensor machinery the tick is an error, not a skip
    context = dg.build_sensor_context(instance=instance, resources={"alerts": dead}, definitions=DEFS)
    with pytest.raises(Exception, match="HTTP 404"):
        check_failure_alerts.evaluate_tick(context)
    # the cursor did not move: once the destination is back, the alert goes out
    receiver.status = 200
    tick(instance, AlertNotifier(webhook_url=f"{receiver.url}/gone"))
    assert receiver.posts[-1][1]["alerts"][0]["check"] == "scores:row_count@2025-11-02"


def test_an_unreachable_webhook_fails_the_tick(instance):
    materialize(instance, "2025-11-02")
    with pytest.raises(AlertDeliveryError, match="unreachable"):
        tick(instance, AlertNotifier(webhook_url="http://127.0.0.1:9/nothing-listens-here", timeout_seconds=2))


TOKEN = "tok-8d1f0c"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/services/T0/B0/" + TOKEN,  # nothing listens (discard port)
        "http://127.0.0.1:9/hook?token=" + TOKEN,
        "http://user:" + TOKEN + "@127.0.0.1:9/hook",
        "hooks.example.com/services/" + TOKEN,  # no scheme
        "http://127.0.0.1:notaport/" + TOKEN,
    ],
)
def test_a_failed_delivery_does_not_show_the_webhook_token(instance, url):
    materialize(instance, "2025-11-02")
    with pytest.raises(AlertDeliveryError) as err:
        tick(instance, AlertNotifier(webhook_url=url, timeout_seconds=2))
    assert TOKEN not in str(err.value) and "***" in str(err.value), str(err.value)


def test_a_refused_delivery_shows_the_webhook_by_its_host_only(instance, receiver):
    materialize(instance, "2025-11-02")
    receiver.status = 404
    with pytest.raises(AlertDeliveryError) as err:
        tick(instance, AlertNotifier(webhook_url=f"{receiver.url}/services/{TOKEN}"))
    assert str(err.value) == f"alert webhook {receiver.url}/*** answered HTTP 404 Not Found"


@pytest.mark.parametrize("status", [200, 401])
def test_slack_errors_do_not_show_the_token(instance, receiver, status):
    materialize(instance, "2025-11-02")
    receiver.status = status  # 200 answers {"ok": true}; 401 {"ok": false}: refused
    api = f"{receiver.url}/api/" if status != 200 else "http://127.0.0.1:9/api/"
    with pytest.raises(AlertDeliveryError, match="Slack (refused|unreachable)") as err:
        tick(
            instance,
            AlertNotifier(slack_token=f"xoxb-{TOKEN}", slack_channel="#nba", slack_api_url=api, timeout_seconds=2),
        )
    assert TOKEN not in str(err.value)


def test_secrets_from_the_environment_are_variables_read_at_each_tick(instance, receiver, monkeypatch):
    """Only the variables' names are the resource's config (stored in the instance's job snapshots);
    the sensor's tick reads the values."""
    monkeypatch.setenv("NBA_ALERT_WEBHOOK_URL", f"{receiver.url}/hook/{TOKEN}")
    monkeypatch.setenv("NBA_SLACK_TOKEN", f"xoxb-{TOKEN}")
    monkeypatch.setenv("NBA_SLACK_CHANNEL", "#nba")
    notifier = notifier_from_env()
    assert (notifier.webhook_url.env_var_name, notifier.slack_token.env_var_name) == (
        "NBA_ALERT_WEBHOOK_URL",
        "NBA_SLACK_TOKEN",
    )
    materialize(instance, "2025-11-02")
    monkeypatch.delenv("NBA_SLACK_TOKEN")  # the webhook only, this time
    monkeypatch.delenv("NBA_SLACK_CHANNEL")
    tick(instance, notifier_from_env())
    assert receiver.posts[0][0] == f"/hook/{TOKEN}" and receiver.posts[0][1]["kind"] == "check_failures"
    # unset: no destination (not a failure)
    monkeypatch.delenv("NBA_ALERT_WEBHOOK_URL")
    assert notifier_from_env().webhook_url is None and not notifier_from_env().configured


def test_slack_gets_the_same_alert(instance, receiver):
    materialize(instance, "2025-11-02")
    tick(
        instance,
        AlertNotifier(slack_token="xoxb-test", slack_channel="#nba-alerts", slack_api_url=f"{receiver.url}/api/"),
    )
    path, body = receiver.posts[0]
    assert path == "/api/chat.postMessage" and body["channel"] == "#nba-alerts"
    assert "scores:row_count@2025-11-02" in body["text"]


def test_no_destination_is_said_not_silent(instance):
    materialize(instance, "2025-11-02")
    result, _ = tick(instance, AlertNotifier())
    assert "no alert destination is configured" in result.skip_message


@dg.asset(partitions_def=P)
def breaks(context):
    raise RuntimeError("warehouse write failed: 404 dataset")


def test_a_failed_run_is_alerted_with_its_step_and_partition(instance, receiver):
    result = dg.materialize([breaks], instance=instance, partition_key="2025-11-01", raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": AlertNotifier(webhook_url=receiver.url)},
    ).for_run_failure()
    run_failure_alerts(context)
    body = receiver.posts[0][1]
    assert body["kind"] == "run_failure" and body["run_id"] == result.run_id
    assert body["failed_steps"] == ["breaks"] and body["partitions"] == "2025-11-01"
