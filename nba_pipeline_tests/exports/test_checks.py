"""The exports checks fail on the cases they exist for: a missing, malformed, misdated or stale
best-bets file, and a performance summary that disagrees with the grades."""

import datetime as dt
from pathlib import Path

import pandas as pd

from nba_pipeline.exports import checks as checks
from nba_pipeline.exports import files, transforms
from nba_pipeline.predictions.tables import prediction_accuracy
from nba_pipeline_tests.exports.test_transforms import DAY, NOW, _accuracy, _features, _graded, _prediction

ROOT = Path(__file__).resolve().parents[2]
KEY = "2025-11-01"


def _file_and_predictions():
    pred = pd.DataFrame([_prediction(1, 0.03), _prediction(2, 0.06, "UNDER"), _prediction(3, 0.0, "PASS")])
    return transforms.best_bets_files(pred, _features(pred), [DAY.date()], 10, NOW, "r")[KEY], pred


def test_file_valid_names_what_is_wrong():
    good, _ = _file_and_predictions()
    text = good.model_dump_json()
    parsed = checks.read_best_bets(
        {
            KEY: text,
            "2025-11-02": None,
            "2025-11-03": text.replace('"picks"', '"pics"'),
            "2025-11-04": text,  # a file copied to the wrong date
        }
    )
    out = checks.file_valid(parsed, list(parsed))
    assert out[KEY].passed and out[KEY].metadata["picks"] == 2
    assert [o.passed for o in out.values()] == [True, False, False, False]
    assert out["2025-11-02"].metadata["problem"] == "file missing"
    assert "does not match the schema" in out["2025-11-03"].metadata["problem"]
    assert out["2025-11-04"].metadata["problem"] == f"file is dated {KEY}, not 2025-11-04"


def test_picks_must_be_the_stored_top_recommendations():
    good, pred = _file_and_predictions()
    assert checks.picks_match_predictions({KEY: good}, pred, [KEY])[KEY].passed
    # predictions re-materialized after the file was written: a new, better pick
    newer = pd.concat([pred, pd.DataFrame([_prediction(9, 0.2)])], ignore_index=True)
    stale = checks.picks_match_predictions({KEY: good}, newer, [KEY])[KEY]
    assert not stale.passed and stale.metadata["expected_picks"] == 3
    # a hand-edited side
    edited = good.model_copy(
        update={"picks": [good.picks[0].model_copy(update={"recommendation": "OVER"}), good.picks[1]]}
    )
    assert not checks.picks_match_predictions({KEY: edited}, pred, [KEY])[KEY].passed
    assert not checks.picks_match_predictions({KEY: "file missing"}, pred, [KEY])[KEY].passed


def test_summary_day_must_match_the_grades():
    rows = _graded(
        KEY, 2, actual_points=12, predicted_points=11.0, outcome="OVER", bet_result="WIN", profit_units=100 / 110
    )
    acc = _accuracy(rows)
    summary = transforms.performance_summary(acc, [dt.date(2025, 11, 1)])
    assert checks.day_matches_grades(summary, acc, [KEY])[KEY].passed
    # a date re-graded after the summary was built: one more loss
    regraded = _accuracy(
        rows
        + _graded(KEY, 1, actual_points=5, predicted_points=11.0, outcome="UNDER", bet_result="LOSS", profit_units=-1.0)
    )
    out = checks.day_matches_grades(summary, regraded, [KEY])[KEY]
    assert not out.passed and "losses: 0 vs 1 graded" in out.metadata["problems"].data
    # a season period holding less than its day
    broken = summary.copy()
    broken.loc[broken["period"] == "season", "graded"] = 0
    assert "graded: last30 > season" in checks.day_matches_grades(broken, acc, [KEY])[KEY].metadata["problems"].data


def test_one_row_per_period():
    summary = transforms.performance_summary(prediction_accuracy.empty_frame(), [dt.date(2025, 11, 1)])
    k = [KEY]
    assert checks.rows_match(summary, checks.expected_periods(k), ["game_date", "period"], k)[KEY].passed
    assert not checks.rows_match(summary.iloc[:3], checks.expected_periods(k), ["game_date", "period"], k)[KEY].passed


def test_documented_schema_is_the_generated_one():
    """docs/best_bets.schema.json is generated from the models the writer and the check use;
    regenerate it with `python -m nba_pipeline.exports.files > docs/best_bets.schema.json`."""
    assert (ROOT / "docs" / "best_bets.schema.json").read_text() == files.json_schema()
