"""One freshness policy per layer, applied to every asset of it in `definitions.py`.

Games end by ~1 am US Eastern; the raw feeds have last night's finals by 6 am, analytics by 6:30,
precompute by 7, predictions by 7:30 and exports by 8, each materialized within the 24 hours
before its deadline (off days too: an empty partition is still a materialization). Dagster judges this on the latest materialization
of ANY partition; the per-date completeness check that an old backfill cannot satisfy is issue 5.
"""

import datetime as dt
from functools import cache

import dagster as dg

from nba_pipeline.partitions import GAME_TIMEZONE

DEADLINES = {
    "nba_raw": "0 6 * * *",
    "nba_analytics": "30 6 * * *",
    "nba_precompute": "0 7 * * *",
    # the model, the day's predictions and last night's grades
    "nba_predictions": "30 7 * * *",
    # the day's best-bets file and the performance summary including last night
    "nba_exports": "0 8 * * *",
}


@cache  # building a cron policy walks its schedule (~10 ms); the same three serve every asset
def layer_freshness_policy(group: str) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.cron(
        deadline_cron=DEADLINES[group], lower_bound_delta=dt.timedelta(hours=24), timezone=GAME_TIMEZONE
    )


def with_layer_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    return dg.apply_freshness_policy(spec, layer_freshness_policy(spec.group_name))
