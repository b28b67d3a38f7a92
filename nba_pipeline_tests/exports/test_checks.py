"""The exports checks fail on the cases they exist for: a missing, malformed, misdated or stale
best-bets file (a pick at another book, line or price; wrong counts), and a performance summary
with a row too many or too few, a value out of range, a day that disagrees with the grades or an
"all" row that is not the sum of the markets."""

import datetime as dt
from pathlib import Path

import pandas as pd

from nba_pipeline.core.checks.common import values_in_range
from nba_pipeline.exports import checks as checks
from nba_pipeline.exports import files, tables, transforms
from nba_pipeline.predictions.tables import prediction_accuracy
from nba_pipeline_tests.exports.test_transforms import (
    DAY,
    NOW,
    REBOUNDS,
    THREES,
    THREES_FEATURES,
    THREES_PICK,
    _features,
    _prediction,
    accuracy_frame,
    day_rows,
    graded,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = "2025-11-01"


def _file_and_predictions():
    pred = pd.DataFrame([_prediction(1, 0.035), THREES_PICK, _prediction(3, None, "PASS", market=REBOUNDS)])
    f = transforms.best_bets_files(pred, _features(pred, **THREES_FEATURES), [DAY.date()], 10, NOW, "r")[KEY]
    return f, pred


def test_file_valid_names_what_is_wrong():
    good, _ = _file_and_predictions()
    text = good.model_dump_json()
    parsed = checks.read_best_bets(
        {
            KEY: text,
            "2025-11-02": None,
            "2025-11-03": text.replace('"picks"', '"pics"'),
            "2025-11-04": text,  # a file copied to the wrong date
            "2025-11-05": text.replace('"odds":120.0', '"odds":50.0'),  # no book quotes +50
            "2025-11-06": text.replace('"market":"player_threes"', '"market":"player_steals"'),
        }
    )
    out = checks.file_valid(parsed, list(parsed))
    assert out[KEY].passed and out[KEY].metadata["picks"] == 2
    assert [o.passed for o in out.values()] == [True, False, False, False, False, False]
    assert out["2025-11-02"].metadata["problem"] == "file missing"
    assert "does not match the schema" in out["2025-11-03"].metadata["problem"]
    assert out["2025-11-04"].metadata["problem"] == f"file is dated {KEY}, not 2025-11-04"
    assert "('picks', 0, 'odds'): Value error, 50 is not American odds" in out["2025-11-05"].metadata["problem"]
    assert "('picks', 0, 'market')" in out["2025-11-06"].metadata["problem"]
    assert out["2025-11-05"].description.startswith("2025-11-05: best_bets/2025-11-05.json: does not match")


def _edited(f: files.BestBetsFile, **update) -> files.BestBetsFile:
    return f.model_copy(update={"picks": [f.picks[0].model_copy(update=update), *f.picks[1:]]})


def test_picks_must_be_the_stored_top_recommendations():
    good, pred = _file_and_predictions()
    assert checks.picks_match_predictions({KEY: good}, pred, [KEY])[KEY].passed
    # predictions re-materialized after the file was written: a new, better pick
    newer = pd.concat([pred, pd.DataFrame([_prediction(9, 0.2, market=REBOUNDS)])], ignore_index=True)
    stale = checks.picks_match_predictions({KEY: good}, newer, [KEY])[KEY]
    assert not stale.passed and stale.metadata["expected_picks"] == 3
    assert stale.description == (
        f"{KEY}: 2 pick(s) in the file, 3 top stored recommendation(s); 2 pick(s) differ, first #1: "
        "player 7 player_threes OVER 1.5 at fanduel +120 (EV 0.0812) in the file, "
        "player 9 player_rebounds OVER 19.5 at draftkings -110 (EV 0.2000) stored; "
        "the file counts 3 prediction(s), 4 stored; the file counts 2 candidate(s), 3 stored"
    )
    # a hand-edited side, market, book, line, price or EV (beyond rounding) fails; rounding does not
    for update in (
        {"side": "UNDER"},
        {"market": REBOUNDS},
        {"bookmaker": "draftkings"},
        {"line": 2.5},
        {"odds": 125.0},
        {"ev": 0.09},
    ):
        out = checks.picks_match_predictions({KEY: _edited(good, **update)}, pred, [KEY])[KEY]
        assert not out.passed and "1 pick(s) differ, first #1: " in out.description, update
        assert out.metadata["examples"].data["fields"] == list(checks._PICK)
    assert checks.picks_match_predictions({KEY: _edited(good, ev=0.0815)}, pred, [KEY])[KEY].passed
    # the order is the EV order
    swapped = good.model_copy(update={"picks": good.picks[::-1]})
    assert not checks.picks_match_predictions({KEY: swapped}, pred, [KEY])[KEY].passed
    # counts that are not the stored ones
    recount = good.model_copy(update={"candidates": 5})
    out = checks.picks_match_predictions({KEY: recount}, pred, [KEY])[KEY]
    assert not out.passed and out.description == f"{KEY}: the file counts 5 candidate(s), 2 stored"
    assert not checks.picks_match_predictions({KEY: "file missing"}, pred, [KEY])[KEY].passed


def _summary_and_grades():
    acc = accuracy_frame(day_rows())
    return transforms.performance_summary(acc, [dt.date(2025, 11, 1)]), acc


def test_one_row_per_period_and_market():
    summary, _ = _summary_and_grades()
    rows = lambda s: checks.rows_match(s, checks.expected_rows([KEY]), ["game_date", "period", "market"], [KEY])[KEY]  # noqa: E731
    assert rows(summary).passed and rows(summary).metadata["expected_rows"] == 4 * 6
    missing = rows(summary[~((summary["market"] == THREES) & (summary["period"] == "last7"))])
    assert not missing.passed and missing.metadata["missing"] == 1
    assert not rows(pd.concat([summary, summary.iloc[:1]])).passed
    # an empty summary of a date with no grades still has every row
    empty = transforms.performance_summary(prediction_accuracy.empty_frame(), [dt.date(2025, 11, 1)])
    assert rows(empty).passed


def test_values_in_range():
    summary, _ = _summary_and_grades()
    assert values_in_range(summary, tables.performance_summary, [KEY])[KEY].passed
    bad = summary.copy()
    bad.loc[bad["market"] == "all", "roi"] = 201.0  # more than any price pays (+20000)
    out = values_in_range(bad, tables.performance_summary, [KEY])[KEY]
    assert not out.passed and out.metadata["out_of_range_by_column"].data == {"roi": 4}


def test_summary_day_must_match_the_grades():
    summary, acc = _summary_and_grades()
    assert checks.day_matches_grades(summary, acc, [KEY])[KEY].passed
    # a date re-graded after the summary was built: one more threes loss
    regraded = accuracy_frame(
        [
            *day_rows(),
            graded(
                KEY,
                THREES,
                line=0.5,
                predicted=1.0,
                actual=0,
                outcome="UNDER",
                bet_result="LOSS",
                profit=-1.0,
                player_id=9,
            ),
        ]
    )
    out = checks.day_matches_grades(summary, regraded, [KEY])[KEY]
    problems = out.metadata["problems"].data
    assert not out.passed
    for expected in (
        "player_threes losses: 0 vs 1 graded",
        "player_threes profit_units: 0.0000 vs -1.0000",
        "all losses: 1 vs 2 graded",
        "all graded: 6 vs 7 graded",
    ):
        assert expected in problems
    assert not any(p.startswith("player_points") for p in problems)
    # the same rows, a different price: profit differs, counts do not
    repriced = acc.copy()
    repriced.loc[repriced["bet_result"] == "WIN", "profit_units"] = 0.9091
    problems = checks.day_matches_grades(summary, repriced, [KEY])[KEY].metadata["problems"].data
    assert problems == ["player_points profit_units: 0.5000 vs -0.0909", "all profit_units: 0.5000 vs -0.0909"]
    # a season period holding less than its day; a market's day row gone
    broken = summary.copy()
    broken.loc[(broken["period"] == "season") & (broken["market"] == THREES), "graded"] = 0
    assert (
        "player_threes graded: last30 > season"
        in checks.day_matches_grades(broken, acc, [KEY])[KEY].metadata["problems"].data
    )
    gone = summary[~((summary["period"] == "day") & (summary["market"] == REBOUNDS))]
    assert checks.day_matches_grades(gone, acc, [KEY])[KEY].metadata["problems"].data == ["player_rebounds: no day row"]


def test_all_must_be_the_sum_of_the_markets():
    summary, _ = _summary_and_grades()
    assert checks.all_is_the_sum_of_markets(summary, [KEY])[KEY].passed
    tampered = summary.copy()
    is_all_day = (tampered["market"] == "all") & (tampered["period"] == "day")
    tampered.loc[is_all_day, "wins"] = 2
    tampered.loc[is_all_day, "profit_units"] = 0.6
    out = checks.all_is_the_sum_of_markets(tampered, [KEY])[KEY]
    assert not out.passed and out.metadata["problems"].data == [
        "day wins: 2 for all vs 1 over the markets",
        "day profit_units: 0.6 for all vs 0.5 over the markets",
    ]
    # a market's row left out of a period is missing from the sum too
    short = summary[~((summary["market"] == THREES) & (summary["period"] == "season"))]
    assert "season pushes: 1 for all vs 0 over the markets" in (
        checks.all_is_the_sum_of_markets(short, [KEY])[KEY].metadata["problems"].data
    )
    with_mae = summary.copy()
    with_mae.loc[with_mae["market"] == "all", "mae"] = 3.0
    out = checks.all_is_the_sum_of_markets(with_mae, [KEY])[KEY]
    assert not out.passed and "last7: all has an MAE (the markets' units differ)" in out.metadata["problems"].data


def test_both_calibrations_must_bucket_exactly_the_brier_rows():
    summary, _ = _summary_and_grades()
    assert checks.calibration_adds_up(summary, [KEY])[KEY].passed
    dropped = summary.copy()
    is_all_day = (dropped["market"] == "all") & (dropped["period"] == "day")
    dropped.loc[is_all_day, "books_calibration"] = "[]"
    out = checks.calibration_adds_up(dropped, [KEY])[KEY]
    assert not out.passed and out.description == (
        f"{KEY}: day all books_calibration: 0 row(s) in the buckets, brier_rows 3"
    )
    misfiled = summary.copy()
    misfiled.loc[is_all_day, "calibration"] = (
        '[{"p_from": 0.0, "p_to": 0.1, "rows": 3, "mean_p_over": 0.58, "over_rate": 0.6667}]'
    )
    out = checks.calibration_adds_up(misfiled, [KEY])[KEY]
    assert not out.passed and "day all calibration: mean 0.58 outside its bucket [0.0, 0.1)" in out.description


def test_documented_schema_is_the_generated_one():
    """docs/best_bets.schema.json is generated from the models the writer and the check use;
    regenerate it with `python -m nba_pipeline.exports.files > docs/best_bets.schema.json`."""
    assert (ROOT / "docs" / "best_bets.schema.json").read_text() == files.json_schema()
