"""Alerts: failed asset checks, failed runs and late partitions (`completeness.py`), sent to
Slack or a webhook.

Where they go is configured by environment (`notifier_from_env`): NBA_ALERT_WEBHOOK_URL (a JSON
POST) and/or NBA_SLACK_TOKEN + NBA_SLACK_CHANNEL (through dagster-slack). ERROR check failures
always alert; WARN ones with NBA_ALERT_WARN=1.

- at most one alert per failing check and partition: the sensor's cursor remembers what it has
  reported until that check passes again for that partition;
- a delivery that fails (a 404 webhook, Slack refusing) raises in the sensor: the tick fails,
  visibly in the UI and the daemon's log, and the cursor does not move, so the next tick tries
  again (incident 11: a dead webhook nobody noticed).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence

import dagster as dg

import nba_pipeline.environment as environment
from nba_pipeline.core.schema import Due
from nba_pipeline.orchestration.automation import sensor_status
from nba_pipeline.orchestration.completeness import (
    ET,
    GameDays,
    Late,
    blocking_checks,
    due_times,
    game_days,
    late_partitions,
)
from nba_pipeline.raw.sources.base import NbaSource

# check executions read per query (a season backfill records ~270 per check)
PAGE = 1000
MAX_LISTED = 30


class AlertDeliveryError(Exception):
    """An alert could not be delivered; the sensor tick fails with it."""


class AlertNotifier(dg.ConfigurableResource):
    """Sends alert messages to a webhook and/or a Slack channel.

    The webhook URL (its path or query usually holds a token) and the Slack token are secrets:
    give them as `dg.EnvVar` (`notifier_from_env` does), or they are stored in the instance's job
    snapshots; errors show the webhook's scheme and host only."""

    webhook_url: str | None = None
    slack_token: str | None = None
    slack_channel: str | None = None
    # for tests and Slack-compatible servers; the Slack client's default otherwise
    slack_api_url: str | None = None
    include_warnings: bool = False
    timeout_seconds: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url or (self.slack_token and self.slack_channel))

    def send(self, title: str, lines: Sequence[str], payload: dict) -> None:
        text = f"{title}\n" + "\n".join(f"- {line}" for line in lines[:MAX_LISTED])
        if len(lines) > MAX_LISTED:
            text += f"\n... and {len(lines) - MAX_LISTED} more"
        if self.webhook_url:
            self._post_webhook({"text": text, **payload})
        if self.slack_token and self.slack_channel:
            self._post_slack(text)

    def _post_webhook(self, body: dict) -> None:
        shown = _shown_url(self.webhook_url)
        try:
            request = urllib.request.Request(
                self.webhook_url,
                data=json.dumps(body, default=str).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
        except ValueError:  # its message quotes the whole URL
            raise AlertDeliveryError(f"alert webhook {shown} (NBA_ALERT_WEBHOOK_URL) is not an http(s) URL") from None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise AlertDeliveryError(f"alert webhook {shown} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
            raise AlertDeliveryError(
                f"alert webhook {shown} unreachable: {_without(str(exc), self.webhook_url)}"
            ) from None
        if not 200 <= status < 300:
            raise AlertDeliveryError(f"alert webhook {shown} answered HTTP {status}")

    def _post_slack(self, text: str) -> None:
        from dagster_slack import SlackResource
        from slack_sdk.errors import SlackApiError

        client = SlackResource(token=self.slack_token).get_client()
        if self.slack_api_url:
            client.base_url = self.slack_api_url
        client.timeout = int(self.timeout_seconds)
        try:
            client.chat_postMessage(channel=self.slack_channel, text=text)
        except SlackApiError as exc:
            raise AlertDeliveryError(f"Slack refused the alert: {exc.response.get('error')}") from None
        except OSError as exc:
            raise AlertDeliveryError(f"Slack unreachable: {_without(str(exc), self.slack_token)}") from None


def _shown_url(url: str) -> str:
    """A URL as errors show it: scheme and host; the path and query may hold a token."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/***" if parts.scheme and parts.netloc else "***"


def _without(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def notifier_from_env() -> AlertNotifier:
    """The destinations the environment names; the webhook URL and the Slack token as `dg.EnvVar`
    (only the variables' names go into the resource's config, stored in every job snapshot; Dagster
    reads the values when a sensor tick initializes the resource). Unset: no destination."""
    settings = environment.alert_settings()
    return AlertNotifier(
        webhook_url=settings.webhook_url,
        slack_token=settings.slack_token,
        slack_channel=settings.slack_channel,
        include_warnings=settings.include_warnings,
    )


# failed checks ----------------------------------------------------------------------------------
def new_check_failures(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], cursor: str | None, include_warnings: bool
) -> tuple[list[dict], str]:
    """Failed check evaluations since the cursor that were not reported yet, and the next cursor.
    A check that passes for a partition clears it, so a later failure alerts again.

    Read per check from Dagster's check-execution index (the embedded event log is sharded by
    run, so a scan of all events by type is not possible there; the index is the same on every
    storage)."""
    state = json.loads(cursor) if cursor else {"seen": {}, "alerted": []}
    seen: dict[str, int] = state["seen"]
    alerted = set(state["alerted"])
    storage = instance.event_log_storage
    failures = []
    for ck in check_keys:
        last = seen.get(ck.to_user_string(), 0)
        records, page = [], None
        while True:  # newest first, back to the last one seen
            batch = storage.get_asset_check_execution_history(ck, limit=PAGE, cursor=page)
            new = [r for r in batch if r.id > last]
            # evaluations only (a PLANNED row gets its result in place later, same id); the status
            # type is not exported, so by its value
            records.extend(r for r in new if r.status.value in ("SUCCEEDED", "FAILED"))
            if len(new) < len(batch) or len(batch) < PAGE:
                break
            page = batch[-1].id
        for r in sorted(records, key=lambda r: r.id):
            cid = f"{ck.to_user_string()}@{r.partition}"
            if r.status.value == "SUCCEEDED":
                alerted.discard(cid)
                continue
            e = r.event.dagster_event.event_specific_data if r.event and r.event.dagster_event else None
            severity = e.severity if e is not None else dg.AssetCheckSeverity.ERROR
            if (severity == dg.AssetCheckSeverity.WARN and not include_warnings) or cid in alerted:
                continue
            alerted.add(cid)
            failures.append(
                {
                    "check": cid,
                    "severity": severity.value,
                    "run_id": r.run_id,
                    "description": getattr(e, "description", None),
                }
            )
        if records:
            seen[ck.to_user_string()] = max(r.id for r in records)
    return failures, json.dumps({"seen": seen, "alerted": sorted(alerted)}, sort_keys=True)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=sensor_status(),
    description="Sends one alert per failing asset check and partition (ERROR; WARN if configured).",
)
def check_failure_alerts(context: dg.SensorEvaluationContext, alerts: AlertNotifier):
    check_keys = sorted(context.repository_def.asset_graph.asset_check_keys, key=lambda k: k.to_user_string())
    failures, cursor = new_check_failures(context.instance, check_keys, context.cursor, alerts.include_warnings)
    if failures and alerts.configured:
        lines = [
            f"{f['check']} ({f['severity']})" + (f": {f['description']}" if f["description"] else "") for f in failures
        ]
        try:
            alerts.send(
                f"nba_pipeline: {len(failures)} asset check(s) failed",
                lines,
                {"kind": "check_failures", "alerts": failures},
            )
        except AlertDeliveryError as exc:
            context.log.error(f"alert delivery failed, {len(failures)} alert(s) not sent: {exc}")
            raise
    context.update_cursor(cursor)
    if not failures:
        return dg.SkipReason("no new check failures")
    if not alerts.configured:
        return dg.SkipReason(f"{len(failures)} new check failure(s), but no alert destination is configured")
    return dg.SkipReason(f"alerted {len(failures)} check failure(s)")


# failed runs ------------------------------------------------------------------------------------
@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=sensor_status(),
    monitor_all_code_locations=False,
    description="Sends an alert for every failed run, with its failed steps and partitions.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertNotifier):
    run = context.dagster_run
    steps = [e.step_key for e in context.get_step_failure_events()]
    tags = run.tags
    partitions = tags.get("dagster/partition") or (
        f"{tags.get('dagster/asset_partition_range_start')} .. {tags.get('dagster/asset_partition_range_end')}"
        if tags.get("dagster/asset_partition_range_start")
        else "-"
    )
    message = context.failure_event.message or ""
    lines = [f"run {run.run_id} ({run.job_name}), partitions {partitions}", *(f"failed step {s}" for s in steps)]
    if message:
        lines.append(message[:500])
    if alerts.configured:
        try:
            alerts.send(
                "nba_pipeline: a run failed",
                lines,
                {"kind": "run_failure", "run_id": run.run_id, "partitions": partitions, "failed_steps": steps},
            )
        except AlertDeliveryError as exc:
            context.log.error(f"alert delivery failed for run {run.run_id}: {exc}")
            raise


# late partitions --------------------------------------------------------------------------------
def new_late_partitions(
    instance: dg.DagsterInstance,
    now: dt.datetime,
    cursor: str | None,
    days: GameDays,
    dues: Mapping[str, Due],
    blocking: Mapping[dg.AssetKey, Sequence[dg.AssetCheckKey]] | None = None,
) -> tuple[list[Late], str]:
    """Late partitions not reported yet (one alert each), and the next cursor. A partition that
    is no longer late (it landed) is forgotten."""
    alerted = set(json.loads(cursor)["alerted"]) if cursor else set()
    late = late_partitions(instance, now, days, dues, blocking)
    current = {x.id for x in late}
    new = [x for x in late if x.id not in alerted]
    return new, json.dumps({"alerted": sorted(current)})


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=sensor_status(),
    description="Alerts once per partition that is due and not built with its data (missing, built before "
    "its data, empty on a game date, or failing a blocking check), over the source's newest game dates.",
)
def late_partition_alerts(context: dg.SensorEvaluationContext, alerts: AlertNotifier, nba_source: NbaSource):
    now = dt.datetime.now(dt.UTC)
    days = game_days(nba_source, now.astimezone(ET).date())
    graph = context.repository_def.asset_graph
    blocking = blocking_checks(graph)
    dues = due_times(graph.get(key) for key in graph.get_all_asset_keys())
    try:
        result, cursor = late_partition_tick(context.instance, alerts, context.cursor, now, days, dues, blocking)
    except AlertDeliveryError as exc:
        context.log.error(f"alert delivery failed, late partitions not reported: {exc}")
        raise
    context.update_cursor(cursor)
    return result


def late_partition_tick(
    instance: dg.DagsterInstance,
    alerts: AlertNotifier,
    cursor: str | None,
    now: dt.datetime,
    days: GameDays,
    dues: Mapping[str, Due],
    blocking: Mapping[dg.AssetKey, Sequence[dg.AssetCheckKey]] | None = None,
) -> tuple[dg.SkipReason, str]:
    """One tick of `late_partition_alerts` at `now`: send what is newly late (raises on a failed
    delivery, leaving the cursor as it was)."""
    new, next_cursor = new_late_partitions(instance, now, cursor, days, dues, blocking)
    if new and alerts.configured:
        lines = [f"{x.asset} partition {x.partition}, due {x.due:%Y-%m-%d %H:%M} ET: {x.reason}" for x in new]
        alerts.send(
            f"nba_pipeline: {len(new)} partition(s) late",
            lines,
            {
                "kind": "late_partitions",
                "alerts": [
                    {"asset": x.asset, "partition": x.partition, "due": x.due.isoformat(), "reason": x.reason}
                    for x in new
                ],
            },
        )
    note = "" if alerts.configured or not new else "; no alert destination configured"
    return dg.SkipReason(f"{len(new)} newly late partition(s) over {days.window}{note}"), next_cursor
