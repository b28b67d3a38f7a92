"""The shared check evaluators: rows_match and values_in_range, per partition key."""

import pandas as pd

from nba_pipeline.analytics import tables as analytics
from nba_pipeline.core.checks.common import rows_match, values_in_range
from nba_pipeline.precompute import tables as precompute

KEY = ["game_date", "game_id", "player_id"]
DAYS = ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04", "2024-11-05"]


def keys_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=KEY)
    return df.astype({"game_date": "datetime64[ns]", "game_id": "string", "player_id": "Int64"})


def _expected():
    return keys_frame(
        [
            ("2024-11-01", "g1", 1),
            ("2024-11-01", "g1", 2),
            ("2024-11-02", "g2", 1),
            ("2024-11-02", "g2", 2),
            ("2024-11-03", "g3", 1),
            ("2024-11-04", "g4", 1),
            ("2024-11-04", "g4", 2),
            # 2024-11-05: no games
        ]
    )


def test_rows_match_exact_match_passes_everywhere():
    exp = _expected()
    # expected may repeat keys (e.g. one row per book): reduced to the distinct set
    out = rows_match(exp, pd.concat([exp, exp]), KEY, DAYS)
    assert set(out) == set(DAYS)
    assert all(o.passed for o in out.values())
    assert out["2024-11-01"].metadata["rows"] == 2
    assert out["2024-11-01"].metadata["expected_rows"] == 2


def test_rows_match_reports_missing_extra_and_duplicates_per_partition():
    actual = keys_frame(
        [
            ("2024-11-01", "g1", 1),
            ("2024-11-01", "g1", 2),  # exact
            ("2024-11-02", "g2", 1),  # player 2 missing
            ("2024-11-03", "g3", 1),
            ("2024-11-03", "g3", 9),  # player 9 unexpected
            ("2024-11-04", "g4", 1),
            ("2024-11-04", "g4", 2),
            ("2024-11-04", "g4", 2),  # player 2 twice
        ]
    )
    out = rows_match(actual, _expected(), KEY, DAYS)

    def counts(day):
        m = out[day].metadata
        return {k: m[k] for k in ("expected_rows", "rows", "missing", "unexpected", "duplicate_key_rows")}

    assert out["2024-11-01"].passed
    assert counts("2024-11-01") == dict(expected_rows=2, rows=2, missing=0, unexpected=0, duplicate_key_rows=0)

    assert not out["2024-11-02"].passed
    assert counts("2024-11-02") == dict(expected_rows=2, rows=1, missing=1, unexpected=0, duplicate_key_rows=0)
    assert out["2024-11-02"].metadata["examples"].value["missing"] == [["g2", "2"]]

    assert not out["2024-11-03"].passed
    assert counts("2024-11-03") == dict(expected_rows=1, rows=2, missing=0, unexpected=1, duplicate_key_rows=0)
    assert out["2024-11-03"].metadata["examples"].value["unexpected"] == [["g3", "9"]]

    assert not out["2024-11-04"].passed
    # both rows sharing the key are counted
    assert counts("2024-11-04") == dict(expected_rows=2, rows=3, missing=0, unexpected=0, duplicate_key_rows=2)
    assert out["2024-11-04"].metadata["examples"].value["duplicated"] == [["g4", "2"], ["g4", "2"]]

    # no rows and none expected
    assert out["2024-11-05"].passed
    assert counts("2024-11-05") == dict(expected_rows=0, rows=0, missing=0, unexpected=0, duplicate_key_rows=0)


def test_rows_match_with_empty_frames():
    empty = keys_frame([])
    out = rows_match(empty, empty, KEY, DAYS[:2])
    assert all(o.passed for o in out.values())
    out = rows_match(empty, _expected(), KEY, DAYS[:2])
    assert not out["2024-11-01"].passed and out["2024-11-01"].metadata["missing"] == 2


def _summary(rows):
    base = {"game_id": "g", "season": "2024-25", "season_type": "regular", "team": "LAL", "opponent": "BOS"}
    return analytics.player_game_summary.conform(pd.DataFrame([{**base, **r} for r in rows]))


def test_values_in_range_fails_only_the_partition_with_a_bad_value():
    df = _summary(
        [
            {
                "game_date": "2024-11-01",
                "game_id": "g1",
                "player_id": 1,
                "minutes": 70.0,
                "usage_rate": 0.3,
                "true_shooting_pct": 1.5,
            },
            {
                "game_date": "2024-11-01",
                "game_id": "g1",
                "player_id": 2,
                "minutes": 0.0,
                "usage_rate": None,
                "fg_pct": 0.0,
            },
            {"game_date": "2024-11-02", "game_id": "g2", "player_id": 1, "minutes": 30.0, "usage_rate": 0.2},
            {"game_date": "2024-11-02", "game_id": "g2", "player_id": 3, "minutes": 30.0, "usage_rate": 1.2},
        ]
    )
    out = values_in_range(df, analytics.player_game_summary, DAYS[:3])
    # bounds are inclusive, nulls are fine
    assert out["2024-11-01"].passed
    assert out["2024-11-01"].metadata["rows_out_of_range"] == 0
    assert out["2024-11-01"].metadata["rows"] == 2
    bad = out["2024-11-02"]
    assert not bad.passed
    assert bad.metadata["rows"] == 2 and bad.metadata["rows_out_of_range"] == 1
    assert bad.metadata["out_of_range_by_column"].value == {"usage_rate": 1}
    assert bad.metadata["examples"].value == [["g2", "3", "usage_rate", "1.2"]]
    assert bad.metadata["columns_checked"] == len(analytics.player_game_summary.ranged_columns)
    # a partition without rows passes
    assert out["2024-11-03"].passed and out["2024-11-03"].metadata["rows"] == 0


def test_values_in_range_on_a_table_whose_grain_includes_game_date():
    table = precompute.player_shot_zone_analysis
    assert "game_date" in table.grain
    base = {"game_id": "g", "season": "2024-25", "team": "LAL", "opponent": "BOS"}
    df = table.conform(
        pd.DataFrame(
            [
                {**base, "game_date": "2024-11-01", "player_id": 1, "games_in_window": 5},
                {**base, "game_date": "2024-11-02", "player_id": 1, "games_in_window": 11},  # above 10
            ]
        )
    )
    out = values_in_range(df, table, DAYS[:2])
    assert out["2024-11-01"].passed
    assert not out["2024-11-02"].passed
    assert out["2024-11-02"].metadata["out_of_range_by_column"].value == {"games_in_window": 1}
