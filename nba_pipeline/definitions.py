"""The code location: every asset, check and resource of nba_pipeline."""

from __future__ import annotations

import dagster as dg

from nba_pipeline.analytics.assets import ANALYTICS_ASSETS
from nba_pipeline.alerts import (
    AlertNotifier,
    check_failure_alerts,
    late_partition_alerts,
    notifier_from_env,
    run_failure_alerts,
)
from nba_pipeline.automation import automation_sensor, with_automation
from nba_pipeline.cli_runs import dead_cli_runs
from nba_pipeline.exports.assets import EXPORT_ASSETS
from nba_pipeline.freshness import build_freshness
from nba_pipeline.precompute.assets import PRECOMPUTE_ASSETS
from nba_pipeline.predictions.assets import PREDICTION_ASSETS
from nba_pipeline.raw.assets import RAW_ASSETS
from nba_pipeline.resources.exports import ExportsDirectory, exports_from_env
from nba_pipeline.resources.sources import NbaSource, source_from_env
from nba_pipeline.resources.warehouse import warehouse_io_manager
from nba_pipeline.sensors import morning_predictions, raw_data_sensor


def build_definitions(
    nba_source: NbaSource | None = None,
    io_manager: dg.ConfigurableIOManagerFactory | None = None,
    exports: ExportsDirectory | None = None,
    alerts: AlertNotifier | None = None,
) -> dg.Definitions:
    """Definitions with resources from the environment unless given (tests, the CLI's demo)."""
    assets = [*RAW_ASSETS, *ANALYTICS_ASSETS, *PRECOMPUTE_ASSETS, *PREDICTION_ASSETS, *EXPORT_ASSETS]
    freshness_checks, freshness_sensor = build_freshness(assets)
    defs = dg.Definitions(
        assets=assets,
        asset_checks=[freshness_checks],
        # every asset carries its checks inline (check_specs), evaluated in the step that writes it
        resources={
            "io_manager": io_manager or warehouse_io_manager(),
            "nba_source": nba_source or source_from_env(),
            "exports": exports or exports_from_env(),
            "alerts": alerts or notifier_from_env(),
        },
        sensors=[automation_sensor, raw_data_sensor, check_failure_alerts, run_failure_alerts, late_partition_alerts, dead_cli_runs,
                 freshness_sensor],
        schedules=[morning_predictions],
        # a subprocess per step costs seconds; steps here are short and pandas-bound
        executor=dg.in_process_executor,
    )
    return defs.map_asset_specs(func=with_automation)


defs = build_definitions()
