"""Declared schema of the `nba_exports` warehouse table: how the predictions have done, per date."""

import datetime as dt

from nba_pipeline.analytics.tables import SHARE
from nba_pipeline.core.schema import Check, Column, Table, register, results_due
from nba_pipeline.exports.files import DATASET

RESULTS_DUE = results_due(dt.time(8, 0))  # half an hour after the grades


# period -> days up to and including the game date (None: the season to date); no period reaches
# before the date's season
PERIODS = {"day": 1, "last7": 7, "last30": 30, "season": None}
# p_over buckets of the calibration table: [0, 0.1), [0.1, 0.2), ... [0.9, 1]
CALIBRATION_BUCKETS = 10

performance_summary = Table(
    dataset=DATASET,
    name="performance_summary",
    due=RESULTS_DUE,
    description=(
        "How the graded predictions have done up to each game date, over four periods (the day, "
        "the last 7 and 30 days, the season to date): MAE against the books' line, bets, hit rate "
        "and ROI at -110, Brier score against the books' and calibration buckets. Computed from "
        "prediction_accuracy, so re-grading a date and re-materializing this table updates it."
    ),
    columns=(
        Column("game_date", "date", "the last game date the periods cover (partition column)"),
        Column("period", "string", "day / last7 / last30 / season", checks=(Check.isin(list(PERIODS)),)),
        Column("period_start", "date", "first game date the period covers"),
        Column("graded", "int", "graded predictions (VOID included)", range=(0, None)),
        Column("played", "int", "graded predictions of players who played", range=(0, None)),
        Column("mae", "float", "mean |actual - predicted_points| over played", nullable=True, range=(0, 40)),
        Column("sportsbook_played", "int", "played, against a sportsbook line", range=(0, None)),
        Column(
            "mae_sportsbook", "float", "the model's MAE on the sportsbook_played rows", nullable=True, range=(0, 40)
        ),
        Column("line_mae", "float", "the books' line's MAE on the same rows", nullable=True, range=(0, 40)),
        Column("bets", "int", "recommendations graded WIN, LOSS or PUSH (VOID: refunded, left out)", range=(0, None)),
        Column("wins", "int", "winning recommendations", range=(0, None)),
        Column("losses", "int", "losing recommendations", range=(0, None)),
        Column("pushes", "int", "recommendations on an integer line the player hit exactly", range=(0, None)),
        Column("hit_rate", "float", "wins / (wins + losses); 0.5238 breaks even at -110", nullable=True, range=SHARE),
        Column("profit_units", "float", "sum of 1-unit bets at -110"),
        Column("roi", "float", "profit_units / bets", nullable=True, range=(-1.0, 1.0)),
        Column(
            "brier_rows", "int", "played rows with a sportsbook line, a books' probability and no push", range=(0, None)
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
    ),
    grain=("game_date", "period"),
)

EXPORT_TABLES = (performance_summary,)
register(*EXPORT_TABLES)
