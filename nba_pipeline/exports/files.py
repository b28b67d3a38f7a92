"""Declared schema of the `best_bets` export: one JSON file per game date.

The pydantic models below are the one definition of the file: the asset builds its files from
them, the asset check validates every file read back against them, and the JSON Schema in
`docs/best_bets.schema.json` is generated from them (a test keeps it in step).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from nba_pipeline.core.schema import AMERICAN_ODDS_RANGE, MAX_AMERICAN_ODDS, PREGAME_DUE, DeclaredOutput, Due
from nba_pipeline.predictions.tables import MARKET_STATS

DATASET = "nba_exports"
SCHEMA_VERSION = 2  # 2: every prop market, bets at a book's own line and price
# performance_summary's market of the sums over every prop market
ALL_MARKETS = "all"
# enough for a daily card; more would dig into edges the model is least sure of
DEFAULT_TOP_N = 10


@dataclass(frozen=True)
class FileExport(DeclaredOutput):
    """A file export: one file per game-date partition under the exports directory."""

    dataset: str
    name: str
    description: str
    code_version: str = "1"
    due: Due | None = None  # when a game date's file must be written (freshness)
    suffix: str = "json"

    def relative_path(self, game_date: str | dt.date) -> str:
        day = game_date if isinstance(game_date, str) else game_date.isoformat()
        return f"{self.name}/{day}.{self.suffix}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _american(odds: float) -> float:
    # the warehouse's rule (Check.american_odds): nothing strictly between -100 and +100
    if not 100 <= abs(odds) <= MAX_AMERICAN_ODDS:
        raise ValueError(f"{odds:g} is not American odds ({AMERICAN_ODDS_RANGE})")
    return odds


AmericanOdds = Annotated[float, AfterValidator(_american)]
# enums of the predictions' markets (The Odds API keys) and the stats they settle on
Market = Literal[tuple(MARKET_STATS)]  # type: ignore[valid-type]
Stat = Literal[tuple(dict.fromkeys(MARKET_STATS.values()))]  # type: ignore[valid-type]


class Reasoning(_Strict):
    """The numbers behind a pick, all known before tip-off (ml_feature_store of the date), under
    the same names whatever the market: `stat_*` are the market's own stat."""

    stat: Stat = Field(description="the player_game_summary column the market settles on")
    stat_avg_season: float | None = Field(description="mean of the stat this season (null: no game yet)")
    stat_avg_last10: float | None = Field(description="mean of the stat over the last 10 games this season")
    stat_avg_last5: float | None = Field(description="mean of the stat over the last 5 games this season")
    stat_avg_recent20: float | None = Field(description="mean of the stat over the last 20 games of any season")
    season_games_played: int = Field(description="games played this season before this date")
    opponent_allowed_vs_league: float | None = Field(
        description=(
            "what the opponent allowed of the stat over its last 10 games relative to the league (0.03: 3% more); "
            "for points its defensive rating (points allowed per 100 possessions)"
        )
    )
    minutes_avg_last5: float | None = Field(description="mean minutes over the last 5 games")
    minutes_trend: float | None = Field(description="minutes last 5 minus season average")
    usage_trend: float | None = Field(description="usage rate last 5 minus season average")
    pace_differential: float | None = Field(description="expected game pace relative to the league")
    implied_team_total: float | None = Field(description="team points the game lines imply")
    rest_days: int | None = Field(description="days of rest before the game (null: first game of the season)")
    back_to_back: bool = Field(description="played the day before")
    is_home: bool = Field(description="the player's team is at home")


class Pick(_Strict):
    """One recommended bet: a side of one book's line at that book's price."""

    rank: int = Field(ge=1, description="1 = largest expected value")
    game_id: str
    game_start_time: dt.datetime | None = Field(description="scheduled tip-off, UTC")
    player_id: int
    player_name: str | None
    team: str
    opponent: str
    market: Market = Field(description="The Odds API market key")
    side: Literal["OVER", "UNDER"]
    bookmaker: str = Field(description="the book offering the bet")
    line: float = Field(description="that book's line of the bet (may be an alternate line)")
    odds: AmericanOdds = Field(description=f"that book's price of the side: American odds, {AMERICAN_ODDS_RANGE}")
    ev: float = Field(ge=0, description="expected profit of a 1-unit bet at odds (0.081: +8.1%)")
    p_win: float = Field(ge=0, le=1, description="the model's probability that the bet wins")
    consensus_line: float = Field(description="the books' consensus line (median of each book's main line)")
    books: int = Field(ge=1, description="books in the consensus")
    p_over: float = Field(ge=0, le=1, description="the model's probability that the stat exceeds the consensus line")
    books_p_over: float | None = Field(
        ge=0, le=1, description="the books' mean no-vig probability of the over at their main lines"
    )
    predicted: float = Field(description="expected value of the stat (the model pulled towards the line)")
    model_mean: float = Field(description="the model's expected value of the stat, before the market")
    line_snapshot_time: dt.datetime | None = Field(description="latest odds snapshot used (before tip-off)")
    summary: str = Field(description="the pick and its reasons in one sentence")
    reasoning: Reasoning


class BestBetsFile(_Strict):
    """`best_bets/<game_date>.json`: the date's recommendations with the largest expected value,
    across the prop markets."""

    schema_version: Literal[2] = SCHEMA_VERSION
    game_date: dt.date
    generated_at: dt.datetime = Field(description="when the file was written (UTC)")
    run_id: str = Field(description="Dagster run that wrote it")
    model_versions: list[str] = Field(description="prop_models versions behind the date's predictions")
    feature_version: str | None
    ev_threshold: float | None = Field(
        description="expected profit per unit a quote needed to be recommended (null: no prediction)"
    )
    top_n: int = Field(ge=1, description="most picks a file holds")
    predictions: int = Field(ge=0, description="predictions (player and market) made for the date")
    candidates: int = Field(ge=0, description="of them, recommendations (OVER or UNDER, not PASS)")
    picks: list[Pick] = Field(description="the candidates with the largest expected value, at most top_n, best first")


# --- the daily report: the data each page carries (and shows) -----------------------------------

REPORT_SCHEMA_VERSION = 1


class Game(_Strict):
    game_id: str
    away_team: str
    home_team: str
    start_time_utc: dt.datetime | None


class Record(_Strict):
    """One period of performance_summary for one market (or all of them), as stored."""

    market: str
    period: str
    period_start: dt.date
    bets: int
    wins: int
    losses: int
    pushes: int
    hit_rate: float | None
    profit_units: float
    roi: float | None
    played: int
    mae: float | None
    line_mae: float | None
    brier: float | None
    books_brier: float | None


class ProfitPoint(_Strict):
    game_date: dt.date
    day_profit_units: float = Field(description="the day's profit over every market (period day)")
    season_profit_units: float = Field(description="the season's profit to that date (period season)")


class MaePoint(_Strict):
    game_date: dt.date
    market: str
    mae: float
    line_mae: float


class Bucket(_Strict):
    p_from: float
    p_to: float
    rows: int
    mean_p_over: float
    over_rate: float


class ReportData(_Strict):
    """Everything the page shows, as it shows it."""

    schema_version: Literal[1] = REPORT_SCHEMA_VERSION
    game_date: dt.date
    generated_at: dt.datetime
    run_id: str
    games: list[Game]
    predictions: int = Field(ge=0, description="predictions (player and market) made for the date")
    candidates: int = Field(ge=0, description="of them, recommendations (not PASS)")
    ev_threshold: float | None
    top_n: int
    picks: list[Pick]
    record_through: dt.date | None = Field(description="the last graded date the record covers (null: none yet)")
    record: list[Record] = Field(description="per market and all, the season and last-30-day rows")
    profit_by_date: list[ProfitPoint]
    calibration: list[Bucket] = Field(description="the model's P(over) buckets over the season")
    books_calibration: list[Bucket] = Field(description="the books' no-vig P(over) buckets on the same rows")
    mae_by_date: list[MaePoint] = Field(description="per market, the last 7 days' MAE beside the line's")

    def headline(self, period: str) -> Record | None:
        """The period's row over every market (None: no record yet)."""
        return next((r for r in self.record if r.market == ALL_MARKETS and r.period == period), None)

    @property
    def has_record(self) -> bool:
        season = self.headline("season")
        return season is not None and season.bets + season.played > 0


def json_schema() -> str:
    """The documented JSON Schema of a best-bets file (docs/best_bets.schema.json)."""
    return json.dumps(BestBetsFile.model_json_schema(), indent=2, sort_keys=True) + "\n"


best_bets = FileExport(
    dataset=DATASET,
    name="best_bets",
    code_version="2",  # 2: every prop market (schema_version 2)
    # by noon on the date, like what it is built from; a day may have no pick (no line worth one)
    due=dataclasses.replace(PREGAME_DUE, may_be_empty=True),
    description=(
        # read as Markdown by the asset's page (a `<date>` placeholder vanished there as an HTML
        # tag) and as plain text by the catalog list (where code-span backticks show)
        "One JSON file per game date (best_bets/YYYY-MM-DD.json under the exports directory): the "
        "date's recommendations across the prop markets with the largest expected value, each "
        "with its book, line, American price, EV, the books' consensus and the reasoning. "
        "Written atomically; schema: docs/best_bets.schema.json. A date without picks still "
        "gets a file (empty picks)."
    ),
)

report = FileExport(
    dataset=DATASET,
    name="report",
    suffix="html",
    # the picks are due when best_bets' are; the record it shows is the day before's, graded by then
    due=dataclasses.replace(PREGAME_DUE, may_be_empty=True),
    description=(
        "One self-contained HTML page per game date (report/YYYY-MM-DD.html under the exports "
        "directory) that a bettor opens from disk: the date's games and top picks across the "
        "prop markets with their reasoning (or no edge today), then the record up to the day "
        "before: profit at real prices over the season and the last 30 days, hit rate and ROI "
        "per market, calibration beside the books', and the model's MAE against the line's. "
        "Plots are inline SVG; every number comes from player_prop_predictions, "
        "performance_summary and the schedule. Written atomically."
    ),
)


if __name__ == "__main__":
    print(json_schema(), end="")
