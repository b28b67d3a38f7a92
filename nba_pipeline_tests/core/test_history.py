"""Season labels and the season-to-date history a game date requires."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from nba_pipeline.core.history import required_history, season_label, season_labels, season_start
from nba_pipeline.core.partitions import game_date_partitions


def test_season_label():
    assert season_label(dt.date(2024, 10, 22)) == "2024-25"
    assert season_label(dt.date(2025, 6, 20)) == "2024-25"  # the Finals
    assert season_label(dt.date(2025, 7, 15)) == "2024-25"  # July: still the previous season
    assert season_label(dt.date(2025, 7, 31)) == "2024-25"
    assert season_label(dt.date(2025, 8, 1)) == "2025-26"  # from August on: the coming season
    assert season_label(dt.date(1999, 11, 1)) == "1999-00"  # century wrap, zero padded
    assert season_label(dt.date(2009, 1, 5)) == "2008-09"


def test_season_labels_vectorised_matches_scalar():
    days = [dt.date(2024, 10, 22), dt.date(2025, 7, 15), dt.date(2025, 8, 1), dt.date(2000, 1, 1), dt.date(2021, 10, 1)]
    out = season_labels(pd.Series(pd.to_datetime(days)))
    assert out.tolist() == ["2024-25", "2024-25", "2025-26", "1999-00", "2021-22"]
    assert out.tolist() == [season_label(d) for d in days]
    assert str(out.dtype) == "string"


def test_season_start():
    assert season_start(dt.date(2024, 10, 22)) == dt.date(2024, 10, 1)
    assert season_start(dt.date(2025, 3, 1)) == dt.date(2024, 10, 1)
    assert season_start(dt.date(2025, 7, 15)) == dt.date(2024, 10, 1)
    assert season_start(dt.date(2024, 10, 1)) == dt.date(2024, 10, 1)


def test_required_history_is_season_start_to_the_day_before():
    out = required_history([dt.date(2024, 10, 1), dt.date(2024, 10, 4), dt.date(2025, 6, 15)])
    assert list(out) == ["2024-10-01", "2024-10-04", "2025-06-15"]
    assert out["2024-10-01"] == []
    assert out["2024-10-04"] == ["2024-10-01", "2024-10-02", "2024-10-03"]
    june = out["2025-06-15"]
    assert june[0] == "2024-10-01" and june[-1] == "2025-06-14"
    assert len(june) == (dt.date(2025, 6, 15) - dt.date(2024, 10, 1)).days == 257
    assert len(set(june)) == len(june) and june == sorted(june)  # every day once, in order
    assert "2024-12-31" in june and "2025-01-01" in june and "2025-02-28" in june


def test_the_first_seasons_history_starts_at_the_first_partition():
    # the partitions start on Oct 1 of the first season (2024-25 in the tests: conftest), which is
    # where that season's history starts: nothing required lies before the first partition
    first = game_date_partitions.get_first_partition_key()
    assert first == "2024-10-01"
    assert required_history([dt.date(2024, 10, 1)]) == {"2024-10-01": []}
    assert required_history([dt.date(2024, 10, 3)]) == {"2024-10-03": ["2024-10-01", "2024-10-02"]}
    assert min(required_history([dt.date(2025, 6, 30)])["2025-06-30"]) == first
    # a date before the partitions (not one: the CLI refuses it) requires nothing before them either
    assert required_history([dt.date(2024, 9, 30)]) == {"2024-09-30": []}


# Issue 17: what a step requires is read off its asset's inputs and partition mappings (one
# statement, the asset's), by the step's guard, the automation condition and the morning schedule.

DAY = dt.date(2025, 11, 5)  # a Wednesday: the model serving it was trained on dates before Monday 11-03


def _required(assets_def) -> dict[str, tuple[str, str, int]]:
    from nba_pipeline.core.history import needs_of

    out = {}
    for need in needs_of(assets_def):
        keys = need.partitions(DAY)
        out[need.upstream.to_user_string()] = (keys[0], keys[-1], len(keys))
    return out


def test_each_step_requires_what_its_inputs_read():
    """Identity mapping: the same date; history window: its season up to the window's end (D-1,
    or D itself); the points model's training inputs: the training cutoff's season to date; an
    input only the checks read: required too (its checks would judge the date on nothing)."""
    from nba_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    same = ("2025-11-05", "2025-11-05", 1)
    got = {
        k: _required(graph.assets_def_for_key(dg.AssetKey(k.split("/"))))
        for k in (
            "nba_raw/schedule",
            "nba_raw/team_boxscores",
            "nba_analytics/team_offense_game_summary",
            "nba_analytics/upcoming_team_game_context",
            "nba_analytics/upcoming_player_game_context",
            "nba_precompute/team_defense_zone_analysis",
            "nba_predictions/prop_models",
            "nba_exports/performance_summary",
            "nba_exports/report",
        )
    }
    assert got == {
        "nba_raw/schedule": {},
        "nba_raw/team_boxscores": {"nba_raw/schedule": same, "nba_raw/player_boxscores": same},
        "nba_analytics/team_offense_game_summary": {
            "nba_raw/team_boxscores": same,
            "nba_raw/schedule": same,
            "nba_analytics/player_game_summary": same,
        },
        "nba_analytics/upcoming_team_game_context": {
            "nba_raw/schedule": ("2025-10-01", "2025-11-05", 36),
            "nba_raw/game_lines": same,
        },
        "nba_analytics/upcoming_player_game_context": {
            "nba_raw/player_boxscores": ("2025-10-01", "2025-11-04", 35),
            "nba_analytics/player_prop_quotes": same,
            "nba_raw/schedule": same,
            "nba_analytics/upcoming_team_game_context": same,
        },
        "nba_precompute/team_defense_zone_analysis": {
            "nba_analytics/team_defense_game_summary": ("2025-10-01", "2025-11-04", 35),
            "nba_analytics/upcoming_team_game_context": same,
        },
        "nba_predictions/prop_models": {
            "nba_precompute/ml_feature_store": ("2025-10-01", "2025-11-02", 33),
            "nba_analytics/player_game_summary": ("2025-10-01", "2025-11-02", 33),
            "nba_analytics/player_prop_quotes": ("2025-10-01", "2025-11-02", 33),
            "nba_analytics/upcoming_player_game_context": same,
        },
        "nba_exports/performance_summary": {"nba_predictions/prediction_accuracy": ("2025-10-01", "2025-11-05", 36)},
        # the day's picks and games, and the record of the season's dates before it
        "nba_exports/report": {
            "nba_predictions/player_prop_predictions": same,
            "nba_precompute/ml_feature_store": same,
            "nba_raw/schedule": same,
            "nba_exports/performance_summary": ("2025-10-01", "2025-11-04", 35),
        },
    }


def _requirements_of(**ins):
    from nba_pipeline.core.history import needs_of

    @dg.asset(partitions_def=game_date_partitions, ins=ins)
    def downstream(**inputs): ...

    return {n.upstream.to_user_string(): (n.what, n.partitions(DAY)) for n in needs_of(downstream)}


def _first_week(day: dt.date) -> list[str]:
    return ["2025-10-01", "2025-10-07"]


def test_an_input_may_require_nothing_or_a_rule_of_its_own():
    from nba_pipeline.core.history import Requirement, required_metadata

    assert _requirements_of(
        a=dg.AssetIn("a", metadata=required_metadata(False)),
        b=dg.AssetIn("b", metadata=required_metadata(Requirement("its first week", _first_week))),
        c=dg.AssetIn("c"),
    ) == {"b": ("its first week", ["2025-10-01", "2025-10-07"]), "c": ("its same-date input", ["2025-11-05"])}


def test_a_rule_must_be_found_again_and_a_mapping_must_have_one():
    """A rule is stored by its import path (input metadata is serialized); a mapping with no rule
    of what it requires fails the definition."""
    from nba_pipeline.core.history import Requirement, required_metadata

    with pytest.raises(ValueError, match="is not a module-level function"):
        required_metadata(Requirement("a lambda", lambda day: []))
    ahead = dg.TimeWindowPartitionMapping(start_offset=0, end_offset=1)
    with pytest.raises(ValueError, match="no rule says which partitions of a an input read through"):
        _requirements_of(a=dg.AssetIn("a", partition_mapping=ahead))
