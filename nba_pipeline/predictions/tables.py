"""Declared schemas of the `nba_predictions` tables: the models serving each date (one per prop
market), every quote priced, the predictions made before tip-off, and their grades once the
games are final."""

import datetime as dt

from nba_pipeline.analytics.tables import SHARE
from nba_pipeline.core.schema import (
    AMERICAN_ODDS_RANGE,
    MAX_AMERICAN_ODDS,
    PREGAME_DUE,
    Check,
    Column,
    Table,
    register,
    results_due,
)

RESULTS_DUE = results_due(dt.time(7, 30))  # the grades: an hour after the analytics results


DATASET = "nba_predictions"

RECOMMENDATIONS = ("OVER", "UNDER", "PASS")
# the line a prediction is made against: the books' consensus (median of each book's main line)
LINE_SOURCES = ("sportsbook",)
# a recommendation needs at least this expected profit per unit staked at the quote's own price
# (config `ev_threshold` of the predictions asset): a 3% edge over the book's price, after its vig
DEFAULT_EV_THRESHOLD = 0.03
# the markets, by The Odds API key, with the stat each settles on (player_game_summary column)
MARKET_STATS = {
    "player_points": "points",
    "player_rebounds": "reb",
    "player_assists": "ast",
    "player_threes": "fg3m",
    "player_points_rebounds_assists": "pra",
}
_MARKET = Column(
    "market", "string", "The Odds API market key: " + ", ".join(MARKET_STATS), checks=(Check.isin(list(MARKET_STATS)),)
)
_STAT = (0, 100)  # every market's stat and line (PRA included) lies within it
# a unit stake loses at most itself and wins at most the longest price a book may post
_WIN_MAX = MAX_AMERICAN_ODDS / 100
_EV = (-1.0, _WIN_MAX)


def _player_game() -> tuple[Column, ...]:
    return (
        Column("game_date", "date", "US Eastern game date (partition column)"),
        Column("game_id", "string", "NBA.com game id"),
        Column("player_id", "int", "NBA.com player id"),
        Column("player_name", "string", "player name", nullable=True),
        Column("team", "string", "team"),
    )


def _price(name: str, description: str, nullable: bool = True) -> Column:
    return Column(
        name,
        "float",
        f"{description}: American odds, {AMERICAN_ODDS_RANGE}",
        nullable=nullable,
        checks=(Check.american_odds(),),
    )


prop_models = Table(
    dataset=DATASET,
    name="prop_models",
    due=PREGAME_DUE,
    description=(
        "The model of each prop market serving each game date: retrained weekly (every date of a "
        "week shares its Monday's models), fitted only on dates before that Monday. Per market: "
        "a regression of the stat's mean and a negative binomial around it (counts: P(over) at "
        "any line, pushes at whole lines), the weights given to the books' line and no-vig "
        "probability, held-out metrics, and the model itself as JSON."
    ),
    columns=(
        Column("game_date", "date", "the game date this model serves (partition column)"),
        _MARKET,
        Column("model_version", "string", "kind-code_version-market-cutoff, e.g. ridge-2-player_threes-2025-10-27"),
        Column("model_kind", "string", "ridge / gbm", checks=(Check.isin(["ridge", "gbm"]),)),
        Column("feature_version", "string", "ml_feature_store feature_version it reads"),
        Column("training_cutoff", "date", "training dates are strictly before this date"),
        Column("training_start", "date", "first game date with training rows"),
        Column("training_end", "date", "last game date with training rows (< training_cutoff)"),
        Column("training_rows", "int", "played player-games fitted on", range=(0, 200_000)),
        Column("validation_start", "date", "first of the held-out game dates (the window's last ones)"),
        Column("validation_rows", "int", "held-out player-games"),
        Column("validation_mae", "float", "MAE on the held-out dates, fitted without them", range=(0, 20)),
        Column("validation_baseline_mae", "float", "season-to-date average's MAE on the same rows", nullable=True),
        Column(
            "variance_per_mean",
            "float",
            "a of the spread around the mean: variance = a x mean + b x mean^2 (negative binomial; "
            "Poisson where at most the mean), fitted on the held-out dates",
            range=(0, 20),
        ),
        Column("variance_per_mean_squared", "float", "b of the same variance function", range=(0, 5)),
        Column("market_weight_mean", "float", "beta: predicted = line + beta x (model - line)", range=SHARE),
        Column("market_weight_prob", "float", "w: logit p = w logit p_model + (1 - w) logit p_books", range=SHARE),
        Column("market_rows", "int", "held-out player-games with a line the weights were fitted on"),
        Column("model_json", "string", "the fitted model (PropModel.to_json)"),
    ),
    grain=("game_date", "market"),
)

prop_prices = Table(
    dataset=DATASET,
    name="prop_prices",
    due=PREGAME_DUE,
    description=(
        "Every quote a book offered before tip-off (each market, book and alternate line of a "
        "player with a prediction), priced by the model: the probabilities of over, under and "
        "push at that line and the expected profit of a 1-unit bet on each side at that book's "
        "own American odds."
    ),
    columns=(
        *_player_game(),
        _MARKET,
        Column("bookmaker", "string", "sportsbook key"),
        Column("line", "float", "the book's line", range=_STAT),
        _price("over_odds", "the book's price of the over"),
        _price("under_odds", "the book's price of the under"),
        Column("main_line", "bool", "the book's main line (of its lines, the one priced closest to even)"),
        Column("snapshot_time", "timestamp", "the book's odds snapshot (its latest before tip-off)"),
        Column("book_p_over", "float", "the book's no-vig probability of the over", nullable=True, range=SHARE),
        Column(
            "market_p_over",
            "float",
            "every book's P(over | no push) at this line, from their implied mean (player_prop_predictions."
            "market_mean; else this book's no-vig): what p_over pools with",
            nullable=True,
            range=SHARE,
        ),
        Column("p_over", "float", "the model's probability that the stat exceeds the line", range=SHARE),
        Column("p_under", "float", "the model's probability that the stat falls short of the line", range=SHARE),
        Column("p_push", "float", "the model's probability of exactly the line (whole lines only)", range=SHARE),
        Column("ev_over", "float", "expected profit of 1 unit on the over at over_odds", nullable=True, range=_EV),
        Column("ev_under", "float", "expected profit of 1 unit on the under at under_odds", nullable=True, range=_EV),
    ),
    grain=("game_date", "player_id", "market", "bookmaker", "line"),
    cluster_by=("player_id",),
)

player_prop_predictions = Table(
    dataset=DATASET,
    name="player_prop_predictions",
    due=PREGAME_DUE,
    description=(
        "One prediction per player and prop market with a sportsbook line on the date, from "
        "pre-tip-off data only: the predicted mean of the stat, the books' consensus line, the "
        "model's P(over) there beside the books' no-vig, and the recommendation: the side, book "
        "and line with the best expected value at that book's own price, or PASS when no quote "
        "clears the EV threshold."
    ),
    columns=(
        *_player_game(),
        _MARKET,
        Column("opponent", "string", "opponent"),
        Column("game_start_time", "timestamp", "scheduled tip-off (UTC)", nullable=True),
        Column("predicted", "float", "expected value of the stat (model pulled towards the line)", range=_STAT),
        Column("model_mean", "float", "the regression's expected stat, before the market", range=_STAT),
        Column(
            "market_mean",
            "float",
            "the books' implied mean: each main-line quote's no-vig probability read through the model's "
            "distribution, averaged (null: no main line priced on both sides)",
            nullable=True,
            range=_STAT,
        ),
        Column("line", "float", "the books' consensus line (median of each book's main line)", range=_STAT),
        Column("line_source", "string", "sportsbook (the books' consensus)", checks=(Check.isin(LINE_SOURCES),)),
        Column("books", "int", "books quoting a main line", range=(1, 30)),
        Column("line_snapshot_time", "timestamp", "latest odds snapshot used", nullable=True),
        Column("p_over", "float", "the model's P(stat > line) at the consensus line", range=SHARE),
        Column("p_push", "float", "the model's P(stat = line) (whole lines only)", range=SHARE),
        Column("model_p_over", "float", "P(over) from the model alone, before pooling with the books", range=SHARE),
        Column(
            "books_p_over",
            "float",
            "books' mean no-vig over probability at their main lines (null: no main line priced on both sides)",
            nullable=True,
            range=SHARE,
        ),
        Column(
            "market_p_over",
            "float",
            "the books' P(over | no push) at the consensus line, from market_mean: what p_over pools with",
            nullable=True,
            range=SHARE,
        ),
        Column("recommendation", "string", "OVER / UNDER / PASS", checks=(Check.isin(RECOMMENDATIONS),)),
        Column("bet_bookmaker", "string", "the book of the recommended bet (null: PASS)", nullable=True),
        Column("bet_line", "float", "that book's line of the bet (null: PASS)", nullable=True, range=_STAT),
        _price("bet_odds", "the book's price of the recommended side at bet_line (null: PASS)"),
        Column("bet_p_win", "float", "the model's probability that the bet wins", nullable=True, range=SHARE),
        Column(
            "ev", "float", "expected profit of 1 unit on the bet at bet_odds (null: PASS)", nullable=True, range=_EV
        ),
        Column(
            "best_ev",
            "float",
            "the best expected profit of any priced quote of this player and market (null: none priced)",
            nullable=True,
            range=_EV,
        ),
        Column("ev_threshold", "float", "the EV a quote needed to be recommended", range=(0, 1)),
        Column("model_version", "string", "prop_models version that predicted"),
        Column("feature_version", "string", "feature vector version read"),
    ),
    grain=("game_date", "player_id", "market"),
    cluster_by=("player_id",),
)

OUTCOMES = ("OVER", "UNDER", "PUSH", "VOID")
BET_RESULTS = ("WIN", "LOSS", "PUSH", "VOID", "NO_BET")

prediction_accuracy = Table(
    dataset=DATASET,
    name="prediction_accuracy",
    due=RESULTS_DUE,
    description=(
        "Every prediction of a final game, graded against the box score, per market: the actual "
        "stat, the errors of the prediction and of the line, the outcome at the consensus line, "
        "and the recommended bet settled at its book's line and price (a push returns the stake; "
        "a player who did not play is VOID, as books refund). Re-grading a date is "
        "re-materializing it."
    ),
    columns=(
        *_player_game(),
        _MARKET,
        Column("line", "float", "the consensus line predicted against", range=_STAT),
        Column("predicted", "float", "predicted mean of the stat", range=_STAT),
        Column("p_over", "float", "predicted P(over) at the line", range=SHARE),
        Column("books_p_over", "float", "books' no-vig over probability", nullable=True, range=SHARE),
        Column("recommendation", "string", "OVER / UNDER / PASS", checks=(Check.isin(RECOMMENDATIONS),)),
        Column("bet_bookmaker", "string", "book of the bet (null: PASS)", nullable=True),
        Column("bet_line", "float", "line of the bet (null: PASS)", nullable=True, range=_STAT),
        _price("bet_odds", "price of the bet (null: PASS)"),
        Column("played", "bool", "the player has a box score row for the game"),
        Column("actual", "int", "the stat (null: did not play)", nullable=True, range=_STAT),
        Column("absolute_error", "float", "|actual - predicted| (null: did not play)", nullable=True, range=_STAT),
        Column("line_error", "float", "|actual - line| (null: did not play)", nullable=True, range=_STAT),
        Column(
            "outcome",
            "string",
            "OVER / UNDER / PUSH against the consensus line; VOID: did not play",
            checks=(Check.isin(OUTCOMES),),
        ),
        Column(
            "bet_result",
            "string",
            "WIN / LOSS / PUSH (at bet_line) / VOID; NO_BET for PASS",
            checks=(Check.isin(BET_RESULTS),),
        ),
        Column(
            "profit_units",
            "float",
            "result of a 1-unit bet at bet_odds: the price's payout on a win, -1 on a loss, 0 otherwise",
            range=(-1, _WIN_MAX),
        ),
        Column("model_version", "string", "model that predicted"),
    ),
    grain=("game_date", "player_id", "market"),
    cluster_by=("player_id",),
)

PREDICTION_TABLES = (prop_models, prop_prices, player_prop_predictions, prediction_accuracy)
register(*PREDICTION_TABLES)
