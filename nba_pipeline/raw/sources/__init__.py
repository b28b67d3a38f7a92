"""Where raw data comes from: `base.NbaSource` (the feeds every source offers), the `files` and
`live` sources, and `source_from_env`, which picks one (it sits here, above both, because the live
source reads its odds archive through the files source)."""

from __future__ import annotations

import nba_pipeline.environment as environment
from nba_pipeline.raw.sources.base import NbaSource
from nba_pipeline.raw.sources.files import FilesSource


def source_from_env() -> NbaSource:
    """The source NBA_SOURCE selects (`environment.source_settings`): `files` (default) reads
    NBA_RAW_DIR; `live` calls NBA.com stats and The Odds API (key NBA_ODDS_API_KEY), archiving odds
    snapshots under NBA_ODDS_ARCHIVE_DIR (NBA_STATS_URL / NBA_ODDS_URL override the endpoints).

    The key comes as `dg.EnvVar`: a resource's config is its default in every job snapshot Dagster
    stores in the instance, so only the variable's name goes there, and Dagster reads the value
    when a run or sensor tick initializes the resource."""
    settings = environment.source_settings()
    if isinstance(settings, environment.FilesSourceSettings):
        return FilesSource(raw_dir=settings.raw_dir)
    # imported when chosen: the live clients are not needed by the files source
    from nba_pipeline.raw.sources.live.source import LiveSource

    urls = {k: v for k, v in (("stats_url", settings.stats_url), ("odds_url", settings.odds_url)) if v}
    return LiveSource(archive_dir=settings.archive_dir, odds_api_key=settings.odds_api_key, **urls)
