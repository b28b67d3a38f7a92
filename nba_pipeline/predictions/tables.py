"""Declared schemas of the `nba_predictions` tables: the model serving each date, the predictions
made before tip-off, and their grades once the games are final."""

import datetime as dt

from nba_pipeline.analytics.tables import SHARE
from nba_pipeline.core.schema import PREGAME_DUE, Check, Column, Table, register, results_due

RESULTS_DUE = results_due(dt.time(7, 30))  # the grades: an hour after the analytics results


DATASET = "nba_predictions"

# American -110 on both sides: a bet wins 100/110 units, and breaks even at 110/210 = 52.38%
STANDARD_ODDS = -110
BREAK_EVEN = 110 / 210
WIN_PAYOUT = 100 / 110
RECOMMENDATIONS = ("OVER", "UNDER", "PASS")
LINE_SOURCES = ("sportsbook", "estimated")


def _player_game() -> tuple[Column, ...]:
    return (
        Column("game_date", "date", "US Eastern game date (partition column)"),
        Column("game_id", "string", "NBA.com game id"),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "player name", nullable=True),
        Column("team", "string", "team"),
    )


points_model = Table(
    dataset=DATASET,
    name="points_model",
    due=PREGAME_DUE,
    description=(
        "The points model serving each game date: retrained weekly (every date of a week shares "
        "its Monday's model), fitted only on dates before that Monday. Its version, feature "
        "version, training window and held-out metrics, and the model itself as JSON."
    ),
    columns=(
        Column("game_date", "date", "the game date this model serves (partition column)"),
        Column("model_version", "string", "kind-code_version-cutoff, e.g. ridge-1-2025-10-27"),
        Column("model_kind", "string", "ridge / gbm", checks=(Check.isin(["ridge", "gbm"]),)),
        Column("feature_version", "string", "ml_feature_store feature_version it reads"),
        Column("training_cutoff", "date", "training dates are strictly before this date"),
        Column("training_start", "date", "first game date with training rows"),
        Column("training_end", "date", "last game date with training rows (< training_cutoff)"),
        Column("training_rows", "int", "played player-games fitted on", range=(0, 200_000)),
        Column("validation_start", "date", "first of the held-out game dates (the window's last ones)"),
        Column("validation_rows", "int", "held-out player-games"),
        Column("validation_mae", "float", "MAE on the held-out dates, fitted without them", range=(0, 15)),
        Column("validation_baseline_mae", "float", "season-to-date average's MAE on the same rows", nullable=True),
        Column("market_weight_points", "float", "beta: prediction = line + beta x (model - line)", range=SHARE),
        Column("market_weight_prob", "float", "w: logit p_over = w logit p_model + (1 - w) logit p_books", range=SHARE),
        Column("market_rows", "int", "held-out player-games with a sportsbook line the weights were fitted on"),
        Column("model_json", "string", "the fitted model (PointsModel.to_json)"),
    ),
    grain=("game_date",),
)

player_points_predictions = Table(
    dataset=DATASET,
    name="player_points_predictions",
    due=PREGAME_DUE,
    description=(
        "One prediction per eligible player of the date's games (a sportsbook line, or expected "
        "minutes and history enough to estimate one), made from pre-tip-off data only: the "
        "predicted points and their spread, the line (sportsbook consensus of the books' last "
        "snapshots before tip-off, else an estimate, labelled), the probability of the over and a "
        "recommendation where its edge beats the -110 vig."
    ),
    columns=(
        *_player_game(),
        Column("opponent", "string", "opponent"),
        Column("game_start_time", "timestamp", "scheduled tip-off (UTC)", nullable=True),
        Column(
            "predicted_points",
            "float",
            "expected points (model pulled towards the line where one exists)",
            range=(0, 80),
        ),
        Column("model_points", "float", "the regressor's expected points, before the market", range=(0, 80)),
        Column("predicted_spread", "float", "expected absolute error of model_points", range=(0, 30)),
        Column("line", "float", "points line the probabilities refer to", range=(0, 80)),
        Column("line_source", "string", "sportsbook / estimated", checks=(Check.isin(LINE_SOURCES),)),
        Column("books", "int", "books in the sportsbook consensus (0 for an estimated line)", range=(0, 30)),
        Column("line_snapshot_time", "timestamp", "latest odds snapshot used (sportsbook lines)", nullable=True),
        Column("p_over", "float", "probability that points exceed the line", range=SHARE),
        Column("model_p_over", "float", "the model's own over probability, before pooling with the books", range=SHARE),
        Column("books_p_over", "float", "books' mean no-vig over probability", nullable=True, range=SHARE),
        Column("recommendation", "string", "OVER / UNDER / PASS", checks=(Check.isin(RECOMMENDATIONS),)),
        Column("edge", "float", "probability of the better side minus the -110 break-even (52.38%)", range=(-0.6, 0.5)),
        Column("confidence", "float", "probability of the better side (max(p_over, 1 - p_over))", range=(0.5, 1.0)),
        Column("model_version", "string", "points_model version that predicted"),
        Column("feature_version", "string", "feature vector version read"),
    ),
    grain=("game_date", "player_id"),
    cluster_by=("player_id",),
)

OUTCOMES = ("OVER", "UNDER", "PUSH", "VOID")
BET_RESULTS = ("WIN", "LOSS", "PUSH", "VOID", "NO_BET")

prediction_accuracy = Table(
    dataset=DATASET,
    name="prediction_accuracy",
    due=RESULTS_DUE,
    description=(
        "Every prediction of a final game, graded against the box score: the actual points, the "
        "error, the over/under outcome and whether the recommendation won. A player who did not "
        "play is VOID (books refund such bets). Re-grading a date is re-materializing it."
    ),
    columns=(
        *_player_game(),
        Column("line", "float", "line predicted against", range=(0, 80)),
        Column("line_source", "string", "sportsbook / estimated", checks=(Check.isin(LINE_SOURCES),)),
        Column("predicted_points", "float", "predicted points", range=(0, 80)),
        Column("p_over", "float", "predicted over probability", range=SHARE),
        Column("books_p_over", "float", "books' no-vig over probability", nullable=True, range=SHARE),
        Column("recommendation", "string", "OVER / UNDER / PASS", checks=(Check.isin(RECOMMENDATIONS),)),
        Column("played", "bool", "the player has a box score row for the game"),
        Column("actual_points", "int", "points scored (null: did not play)", nullable=True, range=(0, 100)),
        Column("absolute_error", "float", "|actual - predicted| (null: did not play)", nullable=True, range=(0, 100)),
        Column(
            "outcome",
            "string",
            "OVER / UNDER / PUSH against the line; VOID: did not play",
            checks=(Check.isin(OUTCOMES),),
        ),
        Column("bet_result", "string", "WIN / LOSS / PUSH / VOID; NO_BET for PASS", checks=(Check.isin(BET_RESULTS),)),
        Column(
            "profit_units",
            "float",
            f"result of a 1-unit bet at {STANDARD_ODDS} (0 for PASS, push, void)",
            range=(-1, 1),
        ),
        Column("model_version", "string", "model that predicted"),
    ),
    grain=("game_date", "player_id"),
    cluster_by=("player_id",),
)

PREDICTION_TABLES = (points_model, player_points_predictions, prediction_accuracy)
register(*PREDICTION_TABLES)
