"""nba_pipeline: NBA box scores and sportsbook lines to player-points predictions, on Dagster."""

__version__ = "0.1.0"
