"""The predictions checks fail on the cases they exist for."""

import pandas as pd

from nba_pipeline.predictions import checks as checks


def _pred(rows) -> pd.DataFrame:
    base = {
        "game_date": pd.Timestamp("2025-11-01"),
        "game_id": "0022500100",
        "line_source": "sportsbook",
        "game_start_time": pd.Timestamp("2025-11-01 23:00", tz="UTC"),
        "line_snapshot_time": pd.Timestamp("2025-11-01 17:00", tz="UTC"),
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_a_snapshot_at_or_after_tip_off_fails_its_date():
    tip = pd.Timestamp("2025-11-01 23:00", tz="UTC")
    pred = _pred([{"player_id": 1}, {"player_id": 2, "line_snapshot_time": tip}])
    out = checks.lines_before_tip_off(pred, ["2025-11-01", "2025-11-02"])
    assert not out["2025-11-01"].passed and out["2025-11-02"].passed
    assert out["2025-11-01"].metadata["snapshot_at_or_after_tip_off"] == 1
    assert checks.lines_before_tip_off(pred.iloc[:1], ["2025-11-01"])["2025-11-01"].passed


def test_estimated_line_share_warns_above_its_limit():
    pred = _pred([{"player_id": i, "line_source": "estimated" if i < 3 else "sportsbook"} for i in range(5)])
    assert not checks.estimated_line_share(pred, ["2025-11-01"], limit=0.5)["2025-11-01"].passed  # 3 of 5
    assert checks.estimated_line_share(pred, ["2025-11-01"], limit=0.6)["2025-11-01"].passed
    assert checks.estimated_line_share(pred, ["2025-11-02"])["2025-11-02"].passed  # no predictions: nothing estimated
