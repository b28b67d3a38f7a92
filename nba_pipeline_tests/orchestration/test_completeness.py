"""Completeness per game date, from the event log and the source's data (incidents 5 and 6; issue
16 part 3): each game date with data is judged on its own, an old backfill cannot make it look
fresh, a date without data is expected of no one, an empty or short partition is not built, and
a stopped upstream is alerted."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from nba_pipeline.definitions import defs
from nba_pipeline.orchestration.alerts import (
    AlertNotifier,
    late_partition_tick,
    new_late_partitions,
)
from nba_pipeline.orchestration.completeness import ET, GameDays, due_times, late_partitions
from nba_pipeline.orchestration.freshness import build_freshness
from nba_pipeline_tests.orchestration.test_alerts import Receiver

# when each asset is due, as the layers declare it with their tables (read off the assets' metadata)
GRAPH = defs.resolve_asset_graph()
DUES = due_times(GRAPH.get(k) for k in GRAPH.get_all_asset_keys())
RESULTS = [a for a, due in DUES.items() if due.kind == "results"]
PREGAME = [a for a, due in DUES.items() if due.kind == "pregame"]

# materializations are recorded at the real time, so "now" is late on the real current day:
# every deadline has passed and every materialization made by the test is after midnight
REAL_TODAY = dt.datetime.now(ET).date()
NOW = dt.datetime.combine(REAL_TODAY, dt.time(23, 59, 59), ET)
LAST_NIGHT = (REAL_TODAY - dt.timedelta(days=1)).isoformat()
TODAY = REAL_TODAY.isoformat()
# the source: games last night (final) and today (scheduled)
DAYS = GameDays(
    REAL_TODAY,
    REAL_TODAY - dt.timedelta(days=1),
    REAL_TODAY,
    with_games=frozenset({LAST_NIGHT, TODAY}),
    with_finals=frozenset({LAST_NIGHT}),
)
DUE = {f"{a}@{LAST_NIGHT}" for a in RESULTS} | {f"{a}@{d}" for a in PREGAME for d in (LAST_NIGHT, TODAY)}


def land(instance, assets, partition, rows: int | None = None):
    for a in assets:
        meta = {} if rows is None else {"dagster/partition_row_count": rows}
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=dg.AssetKey(a.split("/")), partition=partition, metadata=meta)
        )


def ids(late) -> set[str]:
    return {x.id for x in late}


def test_due_partitions_are_late_until_they_land(instance):
    late = late_partitions(instance, NOW, DAYS, DUES)
    assert ids(late) == DUE
    assert {x.reason for x in late} == {"never materialized"}
    land(instance, RESULTS, LAST_NIGHT)
    land(instance, PREGAME, LAST_NIGHT)
    land(instance, PREGAME, TODAY)
    assert late_partitions(instance, NOW, DAYS, DUES) == []


def test_nothing_is_due_before_its_deadline(instance):
    early = dt.datetime.combine(REAL_TODAY, dt.time(5, 59), ET)
    assert ids(late_partitions(instance, early, DAYS, DUES)) == {f"{a}@{LAST_NIGHT}" for a in PREGAME}
    at_six = dt.datetime.combine(REAL_TODAY, dt.time(6, 0), ET)
    assert ids(late_partitions(instance, at_six, DAYS, DUES)) - {f"{a}@{LAST_NIGHT}" for a in PREGAME} == {
        f"nba_raw/{t}@{LAST_NIGHT}" for t in ("schedule", "team_boxscores", "player_boxscores")
    }


def test_a_date_without_data_is_expected_of_no_one(instance):
    """The shipped history ends long before today: nothing after its newest game date is due, and
    a source with no game data expects nothing at all (a fresh deployment)."""
    old = REAL_TODAY - dt.timedelta(days=400)
    ended = GameDays(
        old,
        old - dt.timedelta(days=6),
        old,
        with_games=frozenset({old.isoformat()}),
        with_finals=frozenset({old.isoformat()}),
    )
    assert {x.partition for x in late_partitions(instance, NOW, ended, DUES)} == {old.isoformat()}
    assert late_partitions(instance, NOW, GameDays(None), DUES) == []


def test_incident_06_an_old_backfill_does_not_make_today_fresh_and_an_old_gap_does_not_make_it_stale(instance):
    """Incident 6: freshness judged over a range of dates instead of per date."""
    old = (REAL_TODAY - dt.timedelta(days=30)).isoformat()
    land(instance, [*RESULTS, *PREGAME], old)  # a backfill of an old date, just now
    assert ids(late_partitions(instance, NOW, DAYS, DUES)) == DUE
    # the recent dates land; the older dates were never built: not these dates' concern
    land(instance, RESULTS, LAST_NIGHT)
    land(instance, PREGAME, LAST_NIGHT)
    land(instance, PREGAME, TODAY)
    assert late_partitions(instance, NOW, DAYS, DUES) == []


def test_an_empty_or_short_partition_is_not_built_with_its_data(instance):
    """An empty write never makes a date fresh: a derived partition with 0 rows on a game date, or
    a raw one with fewer rows than the source has, is late; the best-bets file may hold no pick."""
    days = GameDays(
        DAYS.newest,
        DAYS.start,
        DAYS.end,
        DAYS.with_games,
        DAYS.with_finals,
        raw_rows={"nba_raw/player_props": {TODAY: 212}},
    )
    land(instance, [a for a in PREGAME if a != "nba_raw/player_props"], TODAY, rows=0)
    land(instance, ["nba_raw/player_props"], TODAY, rows=150)
    late = {x.asset: x.reason for x in late_partitions(instance, NOW, days, DUES) if x.partition == TODAY}
    assert late["nba_predictions/player_prop_predictions"] == "materialized with 0 rows on a game date"
    assert late["nba_raw/player_props"] == "150 row(s) stored, the source has 212: built before its data"
    assert "nba_exports/best_bets" not in late


def test_a_partition_built_before_its_games_ended_is_late(instance):
    tomorrow = REAL_TODAY + dt.timedelta(days=1)
    days = GameDays(REAL_TODAY, REAL_TODAY, REAL_TODAY, frozenset({TODAY}), frozenset({TODAY}))
    land(instance, RESULTS, TODAY)  # today's results partition, materialized today (before the finals)
    late = {
        x.id: x.reason for x in late_partitions(instance, dt.datetime.combine(tomorrow, dt.time(9, 0), ET), days, DUES)
    }
    assert late[f"nba_raw/player_boxscores@{TODAY}"].endswith("before its data could be complete")


def test_a_failed_blocking_check_leaves_the_partition_not_built(instance):
    key = dg.AssetKey(["nba_raw", "schedule"])
    check = dg.AssetCheckKey(key, "final_games_have_scores")
    land(instance, ["nba_raw/schedule"], LAST_NIGHT)
    from nba_pipeline.core.checks.partitioned import latest_materializations

    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=check.name,
            passed=False,
            metadata={},
            partition=LAST_NIGHT,
            target_materialization_data=latest_materializations(instance, key, [LAST_NIGHT])[LAST_NIGHT],
        )
    )
    late = {x.id: x.reason for x in late_partitions(instance, NOW, DAYS, DUES, {key: [check]})}
    assert late[f"nba_raw/schedule@{LAST_NIGHT}"] == "blocking check(s) failed: final_games_have_scores"


def test_incident_05_a_stopped_upstream_is_late_and_alerted_once():
    """Incident 5: the phase-3 orchestrator was down three days and nobody noticed."""
    receiver = Receiver()
    try:
        with dg.instance_for_test() as instance:
            everything_but = [a for a in RESULTS if a != "nba_raw/player_boxscores"]
            land(instance, everything_but, LAST_NIGHT)  # the player box score feed stopped
            land(instance, PREGAME, LAST_NIGHT)
            land(instance, PREGAME, TODAY)
            notifier = AlertNotifier(webhook_url=receiver.url)
            result, cursor = late_partition_tick(instance, notifier, None, NOW, DAYS, DUES)
            body = receiver.posts[0][1]
            assert body["kind"] == "late_partitions" and "1 newly late" in result.skip_message
            assert [(a["asset"], a["partition"], a["reason"]) for a in body["alerts"]] == [
                ("nba_raw/player_boxscores", LAST_NIGHT, "never materialized")
            ]
            late_partition_tick(instance, notifier, cursor, NOW, DAYS, DUES)
            assert len(receiver.posts) == 1  # alerted once
            land(instance, ["nba_raw/player_boxscores"], LAST_NIGHT)
            assert new_late_partitions(instance, NOW, cursor, DAYS, DUES)[0] == []
    finally:
        receiver.close()


def test_a_partition_rebuilt_many_times_does_not_hide_the_others(instance):
    """A live day's odds partition is rebuilt every snapshot: the dates beside it still count."""
    props = "nba_raw/player_props"
    land(instance, [props], LAST_NIGHT)
    for _ in range(50):
        land(instance, [props], TODAY)
    assert late_partitions(instance, NOW, DAYS, DUES, assets=[props]) == []


def test_each_layer_states_when_its_tables_are_due_and_an_asset_without_one_fails_at_load():
    """The deadlines come from the tables' declarations (results: each layer half an hour after
    the one it reads; pre-game: noon), not a list in orchestration; an asset stating none could
    never be judged, so the code location refuses it."""
    by = {a: (d.kind, f"{d.by:%H:%M}") for a, d in DUES.items()}
    assert by["nba_raw/team_boxscores"] == ("results", "06:00")
    assert by["nba_analytics/player_game_summary"] == ("results", "06:30")
    assert by["nba_predictions/prediction_accuracy"] == ("results", "07:30")
    assert by["nba_exports/performance_summary"] == ("results", "08:00")
    assert by["nba_precompute/ml_feature_store"] == ("pregame", "12:00")
    assert by["nba_exports/report"] == ("pregame", "12:00")  # its record is the day before's, due at 08:00
    assert sorted(a for a, d in DUES.items() if d.may_be_empty) == ["nba_exports/best_bets", "nba_exports/report"]
    assert len(DUES) == len(GRAPH.get_all_asset_keys()) == 23

    @dg.asset(key=["nba_raw", "undeclared"])
    def undeclared():
        return None

    try:
        build_freshness([undeclared])
    except dg.DagsterInvalidDefinitionError as exc:
        assert "no due time" in str(exc) and "nba_raw/undeclared" in str(exc)
    else:
        raise AssertionError("an asset without a due time was accepted")
