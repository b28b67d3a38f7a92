"""Issue 16: each partition's materialization carries its own numbers (the asset's Partitions plots
chart dates), and what a step counted over its whole range is said once, in the run's log."""

import dagster as dg
import pandas as pd

from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.core.schema import Column, Table, register
from nba_pipeline.core.table_assets import record_partitions

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
    df = pd.DataFrame(
        {"game_date": pd.to_datetime(["2025-11-01", "2025-11-02", "2025-11-02"]), "game_id": ["a", "b", "c"]}
    )
    df = df[df["game_date"].dt.strftime("%Y-%m-%d").isin(context.partition_keys)]
    record_partitions(context, GAMES, df, FACTS, **EXTRA)


def _run(instance, start: str, end: str) -> tuple[dict[str, dict], str]:
    result = dg.materialize(
        [layer_games],
        instance=instance,
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
        said = [
            e.user_message
            for e in instance.all_logs(run_id)
            if e.dagster_event is None and "rows over" in e.user_message
        ]
        assert said == [
            "nba_test/layer_games: 3 rows over 3 game dates 2025-11-01 .. 2025-11-03; over the whole "
            'range: {"feed_rows_read": 7834, "games_by_status": {"final": 3}}'
        ]


def test_a_one_date_run_puts_its_facts_on_that_date():
    with dg.DagsterInstance.ephemeral() as instance:
        by_date, _ = _run(instance, "2025-11-02", "2025-11-02")
        assert _values(by_date["2025-11-02"]) == {
            "dagster/partition_row_count": 2,
            "feed_rows_read": 7834,
            "games_by_status": {"final": 3},
        }


def test_values_true_of_every_date_go_on_every_date(monkeypatch):
    monkeypatch.setitem(EXTRA, "every_partition", {"feature_version": "v3"})
    with dg.DagsterInstance.ephemeral() as instance:
        by_date, _ = _run(instance, "2025-11-01", "2025-11-02")
        assert [_values(by_date[d]) for d in ("2025-11-01", "2025-11-02")] == [
            {"dagster/partition_row_count": 1, "feature_version": "v3"},
            {"dagster/partition_row_count": 2, "feature_version": "v3"},
        ]


# Issue 17: an asset states its inputs once (`In`); the guard, the history metadata and the frames
# its checks read are derived from them, and a check reading a table that is no input fails the
# definition instead of the run.

import pytest  # noqa: E402

from nba_pipeline.core.checks.common import rows_match, table_checks  # noqa: E402
from nba_pipeline.core.checks.partitioned import Outcome, PartitionCheck  # noqa: E402
from nba_pipeline.core.history import history_mapping  # noqa: E402
from nba_pipeline.core.table_assets import In, TableRows, table_asset  # noqa: E402
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager  # noqa: E402

GAME_COLUMNS = (Column("game_date", "date", "d"), Column("game_id", "string", "g"))
UP = Table(
    dataset="nba_test", name="wire_up", description="upstream", columns=GAME_COLUMNS, grain=("game_date", "game_id")
)
DOWN = Table(
    dataset="nba_test",
    name="wire_down",
    description="its same-date games",
    columns=GAME_COLUMNS,
    grain=("game_date", "game_id"),
)
register(UP, DOWN)


def _games(context) -> pd.DataFrame:
    days = pd.to_datetime(list(context.partition_keys))
    return pd.DataFrame({"game_date": days, "game_id": [f"g{d:%m%d}" for d in days]})


@table_asset(table_checks(UP, [PartitionCheck("ok", "always", lambda f, k: {d: Outcome(True) for d in k})]))
def wire_up(context):
    return _games(context)


# the check compares with the upstream's rows of the same dates: it passes only if the frame it is
# given is the run's dates of the windowed input, not the whole window
SAME_AS_UP = PartitionCheck(
    "same_as_up",
    "one row per upstream row of the date",
    lambda f, k: rows_match(f["wire_down"], f["wire_up"], ["game_date", "game_id"], k),
)


@table_asset(table_checks(DOWN, [SAME_AS_UP], reads=[UP]), ins={"up": In(UP, history_mapping(include_same_day=True))})
def wire_down(context, up: pd.DataFrame):
    dates = pd.to_datetime(list(context.partition_keys))
    return TableRows(up[up["game_date"].isin(dates)], facts={"window_rows": len(up)})


def _materialize(assets, db, instance, start, end):
    return dg.materialize(
        assets,
        instance=instance,
        resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        selection=[a.key for a in assets[-1:]],
    )


def _failure(result) -> str:
    (event,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return event.step_failure_data.error.message.removeprefix("dagster._core.definitions.events.Failure: ")


def test_a_windowed_input_is_required_over_its_season_and_read_by_the_checks_on_the_runs_dates(tmp_path):
    db = tmp_path / "w.duckdb"
    with dg.DagsterInstance.ephemeral() as instance:
        assert _materialize([wire_up], db, instance, "2024-10-01", "2024-10-03").success
        run = _materialize([wire_up, wire_down], db, instance, "2024-10-03", "2024-10-03")
        assert run.success
        (check,) = run.get_asset_check_evaluations()
        assert check.passed and check.partition == "2024-10-03"
        (mat,) = [e.event_specific_data.materialization for e in run.get_asset_materialization_events()]
        assert mat.metadata["history/wire_up"].value == (
            "season 2024-25: 2024-10-01 .. 2024-10-03 required and complete, 3 date(s) with rows; "
            "before the season: 0 date(s) with rows since 2023-12-08 (optional)"
        )
        assert mat.metadata["window_rows"].value == 3  # the facts of a one-date run go on its date
        # the window's earlier dates of its season must exist: refused, nothing written
        gap = _materialize([wire_up, wire_down], db, instance, "2024-10-05", "2024-10-05")
        assert not gap.success
        assert _failure(gap).startswith(
            "nba_test/wire_down: season-to-date history and same-date input needs 2 partition(s) of nba_test/wire_up "
            "that were never materialized: 2024-10-04, 2024-10-05; "
            "affected game dates: 2024-10-05. Nothing was written."
        )
        assert instance.get_materialized_partitions(DOWN.asset_key) == {"2024-10-03"}


CHECKS_ONLY = PartitionCheck(
    "up_has_rows",
    "the upstream has the date's game",
    lambda f, k: {d: Outcome(d in set(f["wire_up"]["game_date"].dt.strftime("%Y-%m-%d"))) for d in k},
)
CHECKED = Table(
    dataset="nba_test",
    name="wire_checked",
    description="reads its upstream in its checks only",
    columns=GAME_COLUMNS,
    grain=("game_date", "game_id"),
)
register(CHECKED)


@table_asset(table_checks(CHECKED, [CHECKS_ONLY], reads=[UP]), ins={"up": In(UP)})
def wire_checked(context):
    return _games(context)


def test_an_input_only_the_checks_read_is_required_too(tmp_path):
    """Its check would judge the date on a partition never built: refused before writing."""
    db = tmp_path / "w.duckdb"
    with dg.DagsterInstance.ephemeral() as instance:
        assert _materialize([wire_up], db, instance, "2024-10-01", "2024-10-01").success
        run = _materialize([wire_up, wire_checked], db, instance, "2024-10-01", "2024-10-02")
        assert not run.success
        assert _failure(run).startswith(
            "nba_test/wire_checked: its same-date input needs 1 partition(s) of nba_test/wire_up that were never "
            "materialized: 2024-10-02; affected game dates: 2024-10-02. Nothing was written."
        )
        assert instance.get_materialized_partitions(CHECKED.asset_key) == set()


def test_a_check_reading_a_table_that_is_no_input_fails_the_definition():
    """Once a KeyError in the middle of the run, after the write."""
    with pytest.raises(dg.DagsterInvalidDefinitionError) as raised:

        @table_asset(table_checks(CHECKED, [CHECKS_ONLY], reads=[UP]), ins={"down": In(DOWN)})
        def wire_checked(context):
            return _games(context)

    assert str(raised.value) == (
        "nba_test/wire_checked: the checks of nba_test.wire_checked read nba_test.wire_up, which is not an input of "
        "the asset (its inputs: down (nba_test.wire_down)); add it to the asset's ins"
    )


def test_a_step_parameter_that_is_no_input_fails_the_definition():
    """Dagster would take it for an input of an asset of that name, and fail when loading the code."""
    with pytest.raises(dg.DagsterInvalidDefinitionError) as raised:

        @table_asset(
            table_checks(DOWN, [SAME_AS_UP], reads=[UP]), ins={"up": In(UP, history_mapping(include_same_day=True))}
        )
        def wire_down(context, upp: pd.DataFrame):
            return upp

    assert str(raised.value) == (
        "nba_test/wire_down: parameter 'upp' of wire_down is none of the asset's inputs (up), nor config or a resource"
    )


def test_a_check_reading_only_earlier_dates_fails_the_definition():
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="window ends before the game date"):
        table_asset(table_checks(DOWN, [SAME_AS_UP], reads=[UP]), ins={"up": In(UP, history_mapping())})(lambda up: up)
