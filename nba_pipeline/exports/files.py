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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nba_pipeline.core.schema import PREGAME_DUE, DeclaredOutput, Due

DATASET = "nba_exports"
SCHEMA_VERSION = 1
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

    def relative_path(self, game_date: str | dt.date) -> str:
        day = game_date if isinstance(game_date, str) else game_date.isoformat()
        return f"{self.name}/{day}.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reasoning(_Strict):
    """The numbers behind a pick, all known before tip-off (from ml_feature_store and the model)."""

    model_points: float = Field(description="the model's expected points before pooling with the line")
    predicted_spread: float = Field(description="expected absolute error of model_points")
    books_p_over: float | None = Field(description="the books' mean no-vig probability of the over")
    points_avg_season: float | None = Field(description="mean points this season (null: no game yet)")
    points_avg_last10: float | None = Field(description="mean points over the last 10 games this season")
    points_avg_last5: float | None = Field(description="mean points over the last 5 games this season")
    points_avg_recent20: float | None = Field(description="mean points over the last 20 games of any season")
    season_games_played: int = Field(description="games played this season before this date")
    minutes_avg_last5: float | None = Field(description="mean minutes over the last 5 games")
    minutes_trend: float | None = Field(description="minutes last 5 minus season average")
    usage_trend: float | None = Field(description="usage rate last 5 minus season average")
    opponent_defensive_rating_vs_league: float | None = Field(
        description="opponent points allowed per 100 possessions relative to the league (0.03: 3% more)"
    )
    pace_differential: float | None = Field(description="expected game pace relative to the league")
    implied_team_total: float | None = Field(description="team points the game lines imply")
    rest_days: int | None = Field(description="days of rest before the game (null: first game of the season)")
    back_to_back: bool = Field(description="played the day before")
    is_home: bool = Field(description="the player's team is at home")


class Pick(_Strict):
    rank: int = Field(ge=1, description="1 = largest edge")
    game_id: str
    game_start_time: dt.datetime | None = Field(description="scheduled tip-off, UTC")
    player_id: int
    player_name: str | None
    team: str
    opponent: str
    recommendation: Literal["OVER", "UNDER"]
    line: float = Field(description="sportsbook consensus points line")
    books: int = Field(ge=1, description="books in the consensus")
    line_snapshot_time: dt.datetime | None = Field(description="odds snapshot the line comes from (before tip-off)")
    predicted_points: float = Field(description="expected points (model pooled with the line)")
    p_over: float = Field(ge=0, le=1, description="calibrated probability that points exceed the line")
    edge: float = Field(gt=0, description="probability of the recommended side minus the -110 break-even")
    confidence: float = Field(ge=0.5, le=1, description="probability of the recommended side")
    summary: str = Field(description="the reasoning in one sentence")
    reasoning: Reasoning


class BestBetsFile(_Strict):
    """`best_bets/<game_date>.json`: the date's top recommendations with a sportsbook line."""

    schema_version: Literal[1] = SCHEMA_VERSION
    game_date: dt.date
    generated_at: dt.datetime = Field(description="when the file was written (UTC)")
    run_id: str = Field(description="Dagster run that wrote it")
    model_versions: list[str] = Field(description="points_model versions behind the date's predictions")
    feature_version: str | None
    break_even: float = Field(description="win probability needed at -110 (0.5238)")
    top_n: int = Field(ge=1, description="most picks a file holds")
    predictions: int = Field(ge=0, description="predictions made for the date")
    candidates: int = Field(ge=0, description="of them, OVER/UNDER recommendations against a sportsbook line")
    picks: list[Pick] = Field(description="the candidates with the largest edge, at most top_n, best first")


def json_schema() -> str:
    """The documented JSON Schema of a best-bets file (docs/best_bets.schema.json)."""
    return json.dumps(BestBetsFile.model_json_schema(), indent=2, sort_keys=True) + "\n"


best_bets = FileExport(
    dataset=DATASET,
    name="best_bets",
    # by noon on the date, like what it is built from; a day may have no pick (no line worth one)
    due=dataclasses.replace(PREGAME_DUE, may_be_empty=True),
    description=(
        # read as Markdown by the asset's page (a `<date>` placeholder vanished there as an HTML
        # tag) and as plain text by the catalog list (where code-span backticks show)
        "One JSON file per game date (best_bets/YYYY-MM-DD.json under the exports directory): the "
        "date's OVER/UNDER recommendations against a sportsbook line with the largest edge, each "
        "with its line, p_over, edge and reasoning. Written atomically; schema: "
        "docs/best_bets.schema.json. A date without picks still gets a file (empty picks)."
    ),
)


if __name__ == "__main__":
    print(json_schema(), end="")
