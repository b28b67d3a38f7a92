"""Issue 16: each partition's materialization carries its own numbers (the asset's Partitions plots
chart dates), and what a step counted over its whole range is said once, in the run's log."""

import dagster as dg
import pandas as pd

from nba_pipeline.core.table_assets import record_partitions
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.core.schema import Column, Table, register

GAMES = Table(
    dataset="nba_test",
    name="layer_games",
    description="test table",
    columns=(Column("game_date", "date", "d"), Column("game_id", "str", "g")),
    grain=("game_date", "game_id"),
)
register(GAMES)
FACTS = {"feed_rows_read": 7834, "games_by_status": {"final": 3}}
EXTRA: dict = {}  # more record_partitions arguments


@dg.asset(key=GAMES.asset_key, partitions_def=game_date_partitions, backfill_policy=dg.BackfillPolicy.single_run())
def layer_games(context: dg.AssetExecutionContext) -> None:
    df = pd.DataFrame({"game_date": pd.to_datetime(["2025-11-01", "2025-11-02", "2025-11-02"]), "game_id": ["a", "b", "c"]})
    df = df[df["game_date"].dt.strftime("%Y-%m-%d").isin(context.partition_keys)]
    record_partitions(context, GAMES, df, FACTS, **EXTRA)


def _run(instance, start: str, end: str) -> tuple[dict[str, dict], str]:
    result = dg.materialize(
        [layer_games], instance=instance,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
    )
    assert result.success
    mats = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    return {m.partition: m.metadata for m in mats}, result.run_id


def _values(meta: dict) -> dict:
    return {k: getattr(v, "value", v) for k, v in meta.items()}


def test_a_range_run_gives_each_date_its_own_numbers_and_says_run_totals_once_in_the_log():
    """Once each date carried the run's range, its row total and the source's counts over it."""
    with dg.DagsterInstance.ephemeral() as instance:
        by_date, run_id = _run(instance, "2025-11-01", "2025-11-03")
        assert {d: _values(m) for d, m in by_date.items()} == {
            "2025-11-01": {"dagster/partition_row_count": 1},
            "2025-11-02": {"dagster/partition_row_count": 2},
            "2025-11-03": {"dagster/partition_row_count": 0},
        }
        said = [e.user_message for e in instance.all_logs(run_id) if e.dagster_event is None and "rows over" in e.user_message]
        assert said == ['nba_test/layer_games: 3 rows over 3 game dates 2025-11-01 .. 2025-11-03; over the whole '
                        'range: {"feed_rows_read": 7834, "games_by_status": {"final": 3}}']


def test_a_one_date_run_puts_its_facts_on_that_date():
    with dg.DagsterInstance.ephemeral() as instance:
        by_date, _ = _run(instance, "2025-11-02", "2025-11-02")
        assert _values(by_date["2025-11-02"]) == {
            "dagster/partition_row_count": 2, "feed_rows_read": 7834, "games_by_status": {"final": 3},
        }


def test_values_true_of_every_date_go_on_every_date(monkeypatch):
    monkeypatch.setitem(EXTRA, "every_partition", {"feature_version": "v3"})
    with dg.DagsterInstance.ephemeral() as instance:
        by_date, _ = _run(instance, "2025-11-01", "2025-11-02")
        assert [_values(by_date[d]) for d in ("2025-11-01", "2025-11-02")] == [
            {"dagster/partition_row_count": 1, "feature_version": "v3"},
            {"dagster/partition_row_count": 2, "feature_version": "v3"},
        ]
