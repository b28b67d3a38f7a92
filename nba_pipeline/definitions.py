"""The code location: every asset, check and resource of nba_pipeline.

The resources come from the environment (`environment.py`), the warehouse per deployment: DuckDB
embedded (the default), BigQuery in production (`WAREHOUSES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

import nba_pipeline
import nba_pipeline.environment as environment
from nba_pipeline.analytics import assets as analytics_assets
from nba_pipeline.core.table_assets import CODE_REFERENCES, with_owners_and_kinds
from nba_pipeline.exports import assets as exports_assets
from nba_pipeline.exports.directory import ExportsDirectory, exports_from_env
from nba_pipeline.instance.cli_runs import dead_cli_runs
from nba_pipeline.orchestration.alerts import (
    AlertNotifier,
    check_failure_alerts,
    late_partition_alerts,
    notifier_from_env,
    run_failure_alerts,
)
from nba_pipeline.orchestration.automation import automation_sensor, with_automation
from nba_pipeline.orchestration.freshness import build_freshness
from nba_pipeline.orchestration.sensors import morning_predictions, raw_data_sensor
from nba_pipeline.precompute import assets as precompute_assets
from nba_pipeline.predictions import assets as predictions_assets
from nba_pipeline.raw import assets as raw_assets
from nba_pipeline.raw.sources import NbaSource, source_from_env
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager


def with_code_references(assets: Sequence[dg.AssetsDefinition]) -> Sequence[dg.AssetsDefinition]:
    """Each asset links to the code that builds it (the UI's "Code" links): a file and line here,
    or the file in the repository's web view when NBA_GIT_URL is set (a GitHub or GitLab URL;
    NBA_GIT_REF: the branch, tag or commit deployed, default main)."""
    # a table asset links the function its factory wraps already (Dagster's link would be the wrapper's)
    assets = [
        a if all(CODE_REFERENCES in m for m in a.metadata_by_key.values()) else dg.with_source_code_references([a])[0]
        for a in assets
    ]
    git = environment.git_link()
    if git is None:
        return assets
    return dg.link_code_references_to_git(
        assets,
        git_url=git.url,
        git_branch=git.ref,
        file_path_mapping=dg.AnchorBasedFilePathMapping(
            local_file_anchor=Path(nba_pipeline.__file__), file_anchor_path_in_repository="nba_pipeline/__init__.py"
        ),
    )


def duckdb_warehouse() -> dg.ConfigurableIOManagerFactory:
    return NbaDuckDBIOManager(database=environment.duckdb_settings().path)


def bigquery_warehouse() -> dg.ConfigurableIOManagerFactory:
    # imported here: dagster-gcp and the Google clients take ~0.5 s to import
    from nba_pipeline.warehouse.bigquery import NbaBigQueryIOManager

    settings = environment.bigquery_settings()
    return NbaBigQueryIOManager(project=settings.project, location=settings.location)


# the warehouse of each deployment; the raw source, the exports directory and the alerts are chosen
# by their own variables in both (production backfills old seasons from files, say)
WAREHOUSES: dict[environment.Deployment, Callable[[], dg.ConfigurableIOManagerFactory]] = {
    environment.EMBEDDED: duckdb_warehouse,
    environment.PRODUCTION: bigquery_warehouse,
}


def warehouse_io_manager() -> dg.ConfigurableIOManagerFactory:
    """The warehouse of the deployment the environment names (NBA_WAREHOUSE)."""
    return WAREHOUSES[environment.deployment()]()


# every asset a layer's assets module defines (a new one is picked up without a list to extend)
LAYERS = (raw_assets, analytics_assets, precompute_assets, predictions_assets, exports_assets)


def build_definitions(
    nba_source: NbaSource | None = None,
    io_manager: dg.ConfigurableIOManagerFactory | None = None,
    exports: ExportsDirectory | None = None,
    alerts: AlertNotifier | None = None,
) -> dg.Definitions:
    """Definitions with resources from the environment unless given (tests, the CLI's demo)."""
    io_manager = io_manager or warehouse_io_manager()
    assets = with_code_references(dg.load_assets_from_modules(LAYERS))
    freshness_checks, freshness_sensor = build_freshness(assets)
    defs = dg.Definitions(
        assets=assets,
        asset_checks=[freshness_checks],
        # every asset carries its checks inline (check_specs), evaluated in the step that writes it
        resources={
            "io_manager": io_manager,
            "nba_source": nba_source or source_from_env(),
            "exports": exports or exports_from_env(),
            "alerts": alerts or notifier_from_env(),
        },
        sensors=[
            automation_sensor,
            raw_data_sensor,
            check_failure_alerts,
            run_failure_alerts,
            late_partition_alerts,
            dead_cli_runs,
            freshness_sensor,
        ],
        schedules=[morning_predictions],
        # a subprocess per step costs seconds; steps here are short and pandas-bound
        executor=dg.in_process_executor,
    )
    kind = getattr(io_manager, "storage_kind", None)  # the warehouse's kind: duckdb or bigquery
    return defs.map_asset_specs(func=lambda spec: with_automation(with_owners_and_kinds(spec, kind)))


defs = build_definitions()
