"""Completeness per game date, from the event log (incidents 5 and 6): today's and last night's
partitions are judged on their own, an old backfill cannot make them look fresh, an old gap
cannot make them look stale, and a stopped upstream is alerted."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from nba_pipeline.alerts import AlertNotifier, late_partition_alerts, late_partition_tick, new_late_partitions
from nba_pipeline.completeness import ET, PREGAME, RESULTS, late_partitions
from nba_pipeline_tests.test_alerts import Receiver

# materializations are recorded at the real time, so "now" is late on the real current day:
# every deadline has passed and every materialization made by the test is after midnight
REAL_TODAY = dt.datetime.now(ET).date()
NOW = dt.datetime.combine(REAL_TODAY, dt.time(23, 59, 59), ET)
LAST_NIGHT = (REAL_TODAY - dt.timedelta(days=1)).isoformat()
TODAY = REAL_TODAY.isoformat()


def land(instance, assets, partition):
    for a in assets:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=dg.AssetKey(a.split("/")), partition=partition))


def ids(late) -> set[str]:
    return {x.id for x in late}


def test_due_partitions_are_late_until_they_land(instance):
    late = late_partitions(instance, NOW)
    assert ids(late) == {f"{a}@{LAST_NIGHT}" for a in RESULTS} | {f"{a}@{TODAY}" for a in PREGAME}
    assert {x.reason for x in late} == {"never materialized"}
    land(instance, RESULTS, LAST_NIGHT)
    land(instance, PREGAME, TODAY)
    assert late_partitions(instance, NOW) == []


def test_nothing_is_due_before_its_deadline(instance):
    early = dt.datetime.combine(REAL_TODAY, dt.time(5, 59), ET)
    assert late_partitions(instance, early) == []
    at_six = dt.datetime.combine(REAL_TODAY, dt.time(6, 0), ET)
    assert ids(late_partitions(instance, at_six)) == {f"nba_raw/{t}@{LAST_NIGHT}" for t in ("schedule", "team_boxscores", "player_boxscores")}


def test_incident_06_an_old_backfill_does_not_make_today_fresh_and_an_old_gap_does_not_make_it_stale(instance):
    """Incident 6: freshness judged over a range of dates instead of per date."""
    old = (REAL_TODAY - dt.timedelta(days=30)).isoformat()
    land(instance, [*RESULTS, *PREGAME], old)  # a backfill of an old date, just now
    assert len(late_partitions(instance, NOW)) == len(RESULTS) + len(PREGAME)
    # the recent dates land; the date before last night was never built: not today's concern
    land(instance, RESULTS, LAST_NIGHT)
    land(instance, PREGAME, TODAY)
    assert late_partitions(instance, NOW) == []


def test_a_partition_built_before_its_games_ended_is_late(instance):
    land(instance, RESULTS, TODAY)  # today's results partition, materialized today (before the finals)
    tomorrow_morning = dt.datetime.combine(REAL_TODAY + dt.timedelta(days=1), dt.time(9, 0), ET)
    late = {x.id: x.reason for x in late_partitions(instance, tomorrow_morning)}
    assert late[f"nba_raw/player_boxscores@{TODAY}"].endswith("before its data could be complete")


def test_incident_05_a_stopped_upstream_is_late_and_alerted_once():
    """Incident 5: the phase-3 orchestrator was down three days and nobody noticed."""
    receiver = Receiver()
    try:
        with dg.instance_for_test() as instance:
            everything_but = [a for a in RESULTS if a != "nba_raw/player_boxscores"]
            land(instance, everything_but, LAST_NIGHT)  # the player box score feed stopped
            land(instance, PREGAME, TODAY)
            notifier = AlertNotifier(webhook_url=receiver.url)
            result, cursor = late_partition_tick(instance, notifier, None, NOW)
            body = receiver.posts[0][1]
            assert body["kind"] == "late_partitions" and "1 newly late" in result.skip_message
            assert [(a["asset"], a["partition"], a["reason"]) for a in body["alerts"]] == [
                ("nba_raw/player_boxscores", LAST_NIGHT, "never materialized")]
            late_partition_tick(instance, notifier, cursor, NOW)
            assert len(receiver.posts) == 1  # alerted once
            land(instance, ["nba_raw/player_boxscores"], LAST_NIGHT)
            assert new_late_partitions(instance, NOW, cursor)[0] == []
            # the sensor itself runs on the real clock against its resource
            context = dg.build_sensor_context(instance=instance, resources={"alerts": notifier})
            assert isinstance(late_partition_alerts(context), dg.SkipReason)
    finally:
        receiver.close()
