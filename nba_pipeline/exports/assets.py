"""`nba_exports` assets: the best-bets file of each game date (the recommendations with the
largest expected value across the prop markets), the daily performance summary per market, and
the daily report page a bettor opens (the picks and the record, with plots).

`best_bets` and `report` write files, not a warehouse table: their output is None (no IO manager
involved); each writes through the `exports` resource, one atomic replace per date, then checks
its files as read back from disk. A failed step records no materialization, so a date's file is
"done" exactly when its partition is materialized.
"""

import datetime as dt
from collections.abc import Callable, Mapping

import dagster as dg
import pandas as pd
from pydantic import Field

from nba_pipeline.core.checks.common import TableChecks
from nba_pipeline.core.history import history_mapping, require, run_dates
from nba_pipeline.core.partitions import game_date_partitions
from nba_pipeline.core.table_assets import WAREHOUSE_POOL, In, TableRows, asset_ins, table_asset, verify_reads
from nba_pipeline.exports import checks as checks
from nba_pipeline.exports import files, transforms
from nba_pipeline.exports import report as report_page
from nba_pipeline.exports import tables as export_tables
from nba_pipeline.exports.directory import ExportsDirectory
from nba_pipeline.precompute import tables as precompute
from nba_pipeline.predictions import tables as predictions_tables
from nba_pipeline.raw import tables as raw_tables


class BestBetsConfig(dg.Config):
    top_n: int = Field(default=files.DEFAULT_TOP_N, ge=1, le=100, description="most picks a file holds")


_BEST_BETS_INS = {
    "predictions": In(predictions_tables.player_prop_predictions),
    # the reasoning of each pick: its market's stat features, form, matchup, rest
    "features": In(precompute.ml_feature_store),
}


def file_asset(
    export: files.FileExport,
    ins: Mapping[str, In],
    file_checks: TableChecks,
    kind: str,
    metadata: Mapping[str, object],
    whole_windows: bool = False,
) -> Callable[[Callable], dg.AssetsDefinition]:
    """The asset writing `export`'s files: a body of its own (files, not a table), with the
    inputs, partitions, pool and checks of a table asset; a check reading a table that is no
    input fails the definition (`verify_reads`)."""
    verify_reads(export.asset_key.to_user_string(), [file_checks], ins, whole_windows=whole_windows)
    return dg.asset(
        key=export.asset_key,
        group_name=export.dataset,
        description=export.description,
        ins=asset_ins(ins),
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        code_version=export.code_version,
        kinds={kind, "file"},
        pool=WAREHOUSE_POOL,  # its inputs are read from the warehouse
        metadata={**metadata, **export.due.metadata()},
        check_specs=file_checks.specs,
        dagster_type=dg.Nothing,  # files, not a value for an IO manager
    )


@file_asset(
    files.best_bets,
    _BEST_BETS_INS,
    checks.best_bets_checks,
    "json",
    {"schema": "docs/best_bets.schema.json", "schema_version": files.SCHEMA_VERSION},
)
def best_bets(
    context: dg.AssetExecutionContext,
    config: BestBetsConfig,
    exports: ExportsDirectory,
    predictions: pd.DataFrame,
    features: pd.DataFrame,
):
    require(context)
    generated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = transforms.best_bets_files(
        predictions, features, run_dates(context), config.top_n, generated_at, context.run.run_id
    )
    # every file is built (and validated by its model) before the first is written
    for day, payload in out.items():
        relative = files.best_bets.relative_path(day)
        path = exports.write_text(relative, payload.model_dump_json(indent=2) + "\n")
        url = exports.url_of(relative)
        context.add_asset_metadata(
            {
                "path": dg.MetadataValue.path(str(path)),
                **({"url": dg.MetadataValue.url(url)} if url else {}),
                "picks": dg.MetadataValue.md(transforms.picks_markdown(payload)),
                "dagster/partition_row_count": len(payload.picks),
                "candidates": payload.candidates,
                "predictions": payload.predictions,
            },
            partition_key=day,
        )
    yield dg.Output(None)
    # checked as read back from disk: what a reader of the files gets
    frames = {
        "files": checks.read_back(exports, context.partition_keys),
        predictions_tables.player_prop_predictions.name: predictions,
    }
    yield from checks.best_bets_checks.evaluate(context, frames)


@table_asset(
    checks.performance_summary_checks,
    ins={
        # the date and the season before it: every period lies within the date's season, and the
        # season's grades up to and including the date must exist, or its periods would be short
        "accuracy": In(predictions_tables.prediction_accuracy, history_mapping(include_same_day=True)),
    },
)
def performance_summary(context: dg.AssetExecutionContext, accuracy: pd.DataFrame):
    summary = transforms.performance_summary(accuracy, run_dates(context))
    return TableRows(summary, per_partition=transforms.summary_metadata(summary))


class ReportConfig(dg.Config):
    top_n: int = Field(default=files.DEFAULT_TOP_N, ge=1, le=100, description="most picks a page shows")


_REPORT_INS = {
    "predictions": In(predictions_tables.player_prop_predictions),
    "features": In(precompute.ml_feature_store),  # the picks' reasoning, as in best_bets
    "games": In(raw_tables.schedule),
    # the record: the season's summaries before the date (the date's own is graded after its
    # games, and the page is due before them)
    "summary": In(export_tables.performance_summary, history_mapping()),
}


@file_asset(
    files.report,
    _REPORT_INS,
    checks.report_checks,
    "html",
    {"schema_version": files.REPORT_SCHEMA_VERSION},
    whole_windows=True,  # the checks read the record before the date
)
def report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    exports: ExportsDirectory,
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    games: pd.DataFrame,
    summary: pd.DataFrame,
):
    require(context)
    generated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    days = run_dates(context)
    run_id = context.run.run_id
    picks = transforms.best_bets_files(predictions, features, days, config.top_n, generated_at, run_id)
    # every page is rendered before the first is written: a failed render writes nothing
    pages = {}
    for day in days:
        key = day.isoformat()
        data = report_page.report_data(day, picks[key], games, summary, generated_at, run_id)
        pages[key] = (data, report_page.render_report(data))
    for key, (data, html) in pages.items():
        relative = files.report.relative_path(key)
        path = exports.write_text(relative, html)
        headline = report_page.headline_values(data)
        context.add_asset_metadata(
            {
                "path": dg.MetadataValue.path(str(path)),
                # where a reader opens it: the published copy, or the file itself
                "url": dg.MetadataValue.url(exports.url_of(relative) or path.resolve().as_uri()),
                "preview": dg.MetadataValue.md(
                    report_page.report_markdown(data, transforms.picks_markdown(picks[key]))
                ),
                "dagster/partition_row_count": len(data.picks),
                "bytes": len(html.encode("utf-8")),
                **{k: v for k, v in headline.items() if v is not None},
            },
            partition_key=key,
        )
    yield dg.Output(None)
    frames = {
        "pages": checks.read_reports(exports, context.partition_keys),
        predictions_tables.player_prop_predictions.name: predictions,
        export_tables.performance_summary.name: summary,
        raw_tables.schedule.name: games,
    }
    yield from checks.report_checks.evaluate(context, frames)
