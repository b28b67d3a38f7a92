"""Declared schema of the `nba_exports` warehouse table: how the predictions have done, per date
and prop market."""

import datetime as dt

from nba_pipeline.analytics.tables import SHARE
from nba_pipeline.core.schema import Check, Column, Table, register, results_due
from nba_pipeline.exports.files import ALL_MARKETS, DATASET
from nba_pipeline.predictions.tables import MARKET_STATS, prediction_accuracy

RESULTS_DUE = results_due(dt.time(8, 0))  # half an hour after the grades


# period -> days up to and including the game date (None: the season to date); no period reaches
# before the date's season
PERIODS = {"day": 1, "last7": 7, "last30": 30, "season": None}
# the markets' rows, then their sum: bets and probabilities add up across markets, errors do not
# (a rebound and a PRA point are different units), so the "all" rows have no MAE
MARKETS = (*MARKET_STATS, ALL_MARKETS)
# p_over buckets of the calibration table: [0, 0.1), [0.1, 0.2), ... [0.9, 1]
CALIBRATION_BUCKETS = 10
_ERROR = (0, 100)  # every market's stat lies within 0..100 (predictions' range), so do the errors
# a bet loses at most its stake and wins at most what prediction_accuracy allows a win to pay
_ROI = prediction_accuracy.column("profit_units").range

performance_summary = Table(
    dataset=DATASET,
    name="performance_summary",
    due=RESULTS_DUE,
    code_version="3",  # 2: per prop market and overall, profit at each bet's own price; 3: books' calibration
    description=(
        "How the graded predictions have done up to each game date, over four periods (the day, "
        "the last 7 and 30 days, the season to date), per prop market and over all of them: the "
        "model's and the consensus line's MAE, bets, wins, hit rate, profit and ROI at each bet's "
        "own price, Brier score and calibration buckets beside the books'. Computed from "
        "prediction_accuracy, so re-grading a date and re-materializing this table updates it."
    ),
    columns=(
        Column("game_date", "date", "the last game date the periods cover (partition column)"),
        Column("period", "string", "day / last7 / last30 / season", checks=(Check.isin(list(PERIODS)),)),
        Column(
            "market",
            "string",
            "The Odds API market key, or all (the sum over the markets)",
            checks=(Check.isin(list(MARKETS)),),
        ),
        Column("period_start", "date", "first game date the period covers"),
        Column("graded", "int", "graded predictions (VOID included)", range=(0, None)),
        Column("played", "int", "graded predictions of players who played", range=(0, None)),
        Column(
            "mae",
            "float",
            "mean |actual - predicted| over played (null: none, or market all: the stats' units differ)",
            nullable=True,
            range=_ERROR,
        ),
        Column(
            "line_mae",
            "float",
            "the consensus line's mean |actual - line| on the same rows (null as mae)",
            nullable=True,
            range=_ERROR,
        ),
        Column("bets", "int", "recommendations graded WIN, LOSS or PUSH (VOID: refunded, left out)", range=(0, None)),
        Column("wins", "int", "winning recommendations", range=(0, None)),
        Column("losses", "int", "losing recommendations", range=(0, None)),
        Column("pushes", "int", "recommendations on a whole line the player hit exactly (stake back)", range=(0, None)),
        Column(
            "hit_rate",
            "float",
            "wins / (wins + losses); what breaks even depends on the prices (see roi)",
            nullable=True,
            range=SHARE,
        ),
        Column("profit_units", "float", "sum of 1-unit bets, each settled at its book's line and American price"),
        Column("roi", "float", "profit_units / bets", nullable=True, range=_ROI),
        Column(
            "brier_rows",
            "int",
            "played rows without a push at the consensus line and with a books' probability",
            range=(0, None),
        ),
        Column("brier", "float", "mean (p_over - over)^2 on brier_rows", nullable=True, range=SHARE),
        Column(
            "books_brier", "float", "the books' no-vig probability's Brier on the same rows", nullable=True, range=SHARE
        ),
        Column(
            "calibration",
            "string",
            "JSON list, one entry per p_over bucket with rows: {p_from, p_to, rows, mean_p_over, over_rate}",
        ),
        Column(
            "books_calibration",
            "string",
            "the same buckets of the books' no-vig probability on the same rows: {p_from, p_to, rows, mean_p_over, "
            "over_rate}",
        ),
    ),
    grain=("game_date", "period", "market"),
)

EXPORT_TABLES = (performance_summary,)
register(*EXPORT_TABLES)
