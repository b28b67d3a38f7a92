"""Where raw data comes from: `base.NbaSource` (the feeds every source offers), the `files` and
`live` sources, and `source_from_env`, which picks one (it sits here, above both, because the live
source reads its odds archive through the files source)."""

from __future__ import annotations

import os

import dagster as dg

from nba_pipeline.raw.sources.base import NbaSource
from nba_pipeline.raw.sources.files import FilesSource


def source_from_env() -> NbaSource:
    """The source NBA_SOURCE selects: `files` (default) reads NBA_RAW_DIR; `live` calls NBA.com
    stats and The Odds API (key NBA_ODDS_API_KEY), archiving odds snapshots under
    NBA_ODDS_ARCHIVE_DIR (NBA_STATS_URL / NBA_ODDS_URL override the endpoints, e.g. for a proxy).

    The key is passed as `dg.EnvVar`: a resource's config is its default in every job snapshot
    Dagster stores in the instance, so only the variable's name goes there, and Dagster reads
    the value when a run or sensor tick initializes the resource."""
    kind = os.environ.get("NBA_SOURCE", "files").lower()
    if kind == "files":
        return FilesSource(raw_dir=os.environ.get("NBA_RAW_DIR", ""))
    if kind == "live":
        from nba_pipeline.raw.sources.live.source import LiveSource  # the live clients build on this module

        archive = os.environ.get("NBA_ODDS_ARCHIVE_DIR", "")
        if not archive:
            raise ValueError("NBA_SOURCE=live needs NBA_ODDS_ARCHIVE_DIR: a lasting directory for odds snapshots")
        # checked here, at load, for one clear line: an unset EnvVar fails only when a run is
        # planned, with Dagster's multi-line config error
        if not os.environ.get("NBA_ODDS_API_KEY"):
            raise ValueError("NBA_SOURCE=live needs NBA_ODDS_API_KEY: The Odds API key")
        urls = {k: os.environ[e] for k, e in (("stats_url", "NBA_STATS_URL"), ("odds_url", "NBA_ODDS_URL")) if os.environ.get(e)}
        return LiveSource(archive_dir=archive, odds_api_key=dg.EnvVar("NBA_ODDS_API_KEY"), **urls)
    raise ValueError(f"NBA_SOURCE must be 'files' or 'live', not {kind!r}")
