"""What every table asset shares, whatever its layer: one declared table per asset, game-date
partitions, single-run backfills, the warehouse pool, per-partition metadata, owners and kinds;
and the factory that builds a table's asset from one statement (`table_asset`).

An asset states its table's checks and its inputs (`In`: an upstream table, the partitions of it
a game date reads, what the step requires of them); the step body is the transform. Everything
else is derived from that statement: the Dagster `ins`, the guard that refuses a run on missing
upstream partitions (`history.require`, read off the assets definition like the automation
condition), the `history/<table>` metadata of windowed inputs, the per-partition row counts, the
write and the checks' evaluation, with the frames the checks read taken from the step's inputs.
A check reading a table that is no input of its asset fails the definition, not the run.
"""

import functools
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from nba_pipeline.core.checks.common import TableChecks
from nba_pipeline.core.history import (
    Requirement,
    needs_of,
    record_history_window,
    require,
    required_metadata,
    run_dates,
)
from nba_pipeline.core.partitions import game_date_partitions, partition_date_range
from nba_pipeline.core.schema import DeclaredOutput, Table, table_for

# Every step that opens the warehouse takes a slot of this pool (dagster.yaml limits it): DuckDB
# lets one process at a time open its file, and BigQuery limits partition modifications.
WAREHOUSE_POOL = "warehouse"


def _asset_kwargs(checks: TableChecks) -> dict:
    """@asset keyword arguments for the asset that writes `checks.table` and evaluates `checks`
    inline; its group is its layer, the table's dataset."""
    table = checks.table
    return dict(
        check_specs=checks.specs,
        name=table.name,
        key_prefix=table.dataset,
        group_name=table.dataset,
        description=table.description,
        partitions_def=game_date_partitions,
        # a backfill is ONE run over the whole range: transforms are vectorised over dates
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata=table.asset_metadata(),
        code_version=table.code_version,
        kinds={"pandas"},
        pool=WAREHOUSE_POOL,
    )


def _out_kwargs(table: Table) -> dict:
    """AssetOut (for multi-assets) arguments carrying the same attributes as `_asset_kwargs`."""
    return dict(
        key=table.asset_key,
        group_name=table.dataset,
        description=table.description,
        metadata=table.asset_metadata(),
        code_version=table.code_version,
        kinds={"pandas"},
        is_required=False,
    )


def record_partitions(
    context: dg.AssetExecutionContext,
    table: Table,
    df: pd.DataFrame,
    facts: dict | None = None,
    every_partition: dict | None = None,
    per_partition: Mapping[str, dict] | None = None,
) -> pd.DataFrame:
    """Give each partition's materialization its own numbers, so the asset's Partitions plots chart
    dates, not runs: its row count, plus `every_partition` (values true of each date, e.g. the
    feature version) and `per_partition` (each date's own values, by partition key).

    `facts` are counted over the step's whole range (feed rows read, prices withheld...): they are
    a partition's own numbers only when the step covers that one partition, and then go on it. A
    range run says them once, in the run's log; Dagster would copy output metadata onto every
    partition's event, each date then claiming the run's totals."""
    counts = (
        df.groupby(df[table.partition_column].dt.strftime("%Y-%m-%d")).size() if len(df) else pd.Series(dtype="int64")
    )
    keys = context.partition_keys
    shared = _metadata(every_partition)
    for key in keys:
        context.add_asset_metadata(
            {
                "dagster/partition_row_count": int(counts.get(key, 0)),
                **shared,
                **_metadata((per_partition or {}).get(key)),
                **(_metadata(facts) if len(keys) == 1 else {}),
            },
            partition_key=key,
            asset_key=table.asset_key,
        )
    if len(keys) > 1:
        start, end = partition_date_range(context)
        said = f"; over the whole range: {json.dumps(facts, default=str, sort_keys=True)}" if facts else ""
        context.log.info(
            f"{table.asset_key.to_user_string()}: {len(df)} rows over {len(keys)} game dates {start} .. {end}{said}"
        )
    return df


def _metadata(values: dict | None) -> dict:
    return {k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in (values or {}).items()}


@dataclass(frozen=True)
class In:
    """An input of a table asset: `table`'s partitions that game date D reads (`mapping`; None: D
    itself) and what D's step requires of them: by default derived from the mapping (D itself; for
    a history window every date of D's season up to the window's end, `history.needs_of`), False
    for nothing, or a `Requirement` of its own."""

    table: DeclaredOutput
    mapping: dg.PartitionMapping | None = None
    required: bool | Requirement = True

    def asset_in(self) -> dg.AssetIn:
        return dg.AssetIn(
            self.table.asset_key, partition_mapping=self.mapping, metadata=required_metadata(self.required)
        )

    @property
    def windowed(self) -> bool:
        return isinstance(self.mapping, dg.TimeWindowPartitionMapping)


def asset_ins(ins: Mapping[str, In]) -> dict[str, dg.AssetIn]:
    return {name: i.asset_in() for name, i in ins.items()}


@dataclass(frozen=True)
class TableRows:
    """What a table asset's step computed: the table's rows over the run's dates, what
    `record_partitions` says of them (`facts` counted over the run, values of `every_partition`),
    and frames its checks read that are no input (`check_frames`, e.g. the box score feed the
    game logs are checked against). A step may return the frame alone."""

    df: pd.DataFrame
    facts: dict | None = None
    every_partition: dict | None = None
    per_partition: Mapping[str, dict] | None = None
    check_frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)


# Dagster links an asset to its compute function, here the factory's wrapper: the factory names the
# function it wraps instead, and `definitions.with_code_references` keeps a link that is there
CODE_REFERENCES = "dagster/code_references"


def table_asset(checks: TableChecks, ins: Mapping[str, In] | None = None) -> Callable[[Callable], dg.AssetsDefinition]:
    """The asset writing `checks.table` (its layer, the table's dataset, is its group), reading
    `ins`, evaluating `checks` inline. The decorated body takes the inputs it uses by name (plus
    `context`, `config`, resources, as a Dagster asset would) and returns the table's frame or a
    `TableRows`; inputs only its checks read need no parameter."""
    return lambda body: _build(body, (checks,), ins or {}, multi=False)


def table_multi_asset(
    checks: Sequence[TableChecks], ins: Mapping[str, In] | None = None
) -> Callable[[Callable], dg.AssetsDefinition]:
    """One step writing several tables (each selectable alone): the body returns their frames (or
    `TableRows`) in the order of `checks`; a table's checks may read its siblings as stored."""
    return lambda body: _build(body, tuple(checks), ins or {}, multi=True)


def _build(body: Callable, checked: tuple[TableChecks, ...], ins: Mapping[str, In], multi: bool) -> dg.AssetsDefinition:
    name = body.__name__ if multi else checked[0].table.asset_key.to_user_string()
    outputs = {c.table.asset_key: c.table for c in checked}
    read_through = verify_reads(name, checked, ins, outputs)
    params = list(inspect.signature(body, eval_str=True).parameters.values())
    takes_context = bool(params) and params[0].name == "context"
    passed = [p.name for p in params[takes_context:]]  # inputs it uses, config, resources
    for p in params[takes_context:]:
        # anything else Dagster would take for an input of an asset named so
        if p.name not in ins and p.name != "config" and not _is_resource(p.annotation):
            raise dg.DagsterInvalidDefinitionError(
                f"{name}: parameter {p.name!r} of {body.__name__} is none of the asset's inputs "
                f"({', '.join(ins) or 'none'}), "
                f"nor config or a resource"
            )
    windows = {n: i for n, i in ins.items() if i.windowed and i.required is True}

    def step(context: dg.AssetExecutionContext, **kwargs):
        inputs = {n: kwargs[n] for n in ins}
        require(context)
        for n, i in windows.items():
            record_history_window(context, i.table.asset_key, inputs[n], i.mapping)
        args = {n: kwargs[n] for n in passed}
        result = body(context, **args) if takes_context else body(**args)
        computed = [r if isinstance(r, TableRows) else TableRows(r) for r in (result if multi else (result,))]
        if len(computed) != len(checked):
            raise TypeError(f"{name} returned {len(computed)} frame(s) for {len(checked)} table(s)")
        # a step without rows writes the declared empty frame (a transform's may lack columns)
        written = {c.table.asset_key: r.df if len(r.df) else c.table.empty_frame() for c, r in zip(checked, computed)}
        for table_checks, rows in zip(checked, computed):
            table = table_checks.table
            if multi and table.asset_key not in context.selected_asset_keys:
                continue
            df = written[table.asset_key]
            record_partitions(context, table, df, rows.facts, rows.every_partition, rows.per_partition)
            yield dg.Output(df, output_name=context.assets_def.get_output_name_for_asset_key(table.asset_key))
            frames = {table.name: table.conform(df)}
            for t in table_checks.reads:
                if t.asset_key in written:  # a sibling output, as stored
                    frames[t.name] = t.conform(written[t.asset_key])
                else:
                    through = read_through[t.asset_key]
                    frames[t.name] = _same_dates(context, t, inputs[through], ins[through])
            yield from table_checks.evaluate(context, {**frames, **rows.check_frames})

    functools.update_wrapper(step, body)
    step.__signature__ = inspect.Signature(
        [
            inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=dg.AssetExecutionContext),
            *(inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=pd.DataFrame) for n in ins),
            *(
                p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD, default=inspect.Parameter.empty)
                for p in params[takes_context:]
                if p.name not in ins
            ),
        ]
    )
    reference = {
        CODE_REFERENCES: dg.CodeReferencesMetadataValue(
            code_references=[
                dg.LocalFileCodeReference(
                    file_path=inspect.getsourcefile(body), line_number=inspect.getsourcelines(body)[1]
                )
            ]
        )
    }
    specs = [spec for c in checked for spec in c.specs]
    if multi:
        assets_def = dg.multi_asset(
            name=name,
            outs={
                c.table.name: dg.AssetOut(
                    **{**_out_kwargs(c.table), "metadata": {**c.table.asset_metadata(), **reference}}
                )
                for c in checked
            },
            ins=asset_ins(ins),
            check_specs=specs,
            partitions_def=game_date_partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=WAREHOUSE_POOL,
            can_subset=True,
        )(step)
    else:
        attributes = _asset_kwargs(checked[0])
        assets_def = dg.asset(
            ins=asset_ins(ins), **{**attributes, "metadata": {**attributes["metadata"], **reference}}
        )(step)
    try:
        needs_of(assets_def)
    except ValueError as exc:
        raise dg.DagsterInvalidDefinitionError(f"{name}: {exc}") from None
    return assets_def


def verify_reads(
    name: str,
    checked: Sequence[TableChecks],
    ins: Mapping[str, In],
    outputs: Mapping[dg.AssetKey, Table] | None = None,
    whole_windows: bool = False,
) -> dict[dg.AssetKey, str]:
    """The input each table the checks read comes through; a table that is neither an input nor
    an output of the asset, or an input whose window holds no date of the run, fails the
    definition in one line. `whole_windows`: the asset hands its checks windowed inputs whole
    (they read the earlier dates), so a window ending before the date is no mistake."""
    by_key = {i.table.asset_key: n for n, i in ins.items()}
    through = {}
    for c in checked:
        for t in c.reads:
            if t.asset_key in (outputs or {}):
                continue
            n = by_key.get(t.asset_key)
            if n is None:
                have = ", ".join(f"{k} ({i.table.qualified_name})" for k, i in ins.items()) or "none"
                raise dg.DagsterInvalidDefinitionError(
                    f"{name}: the checks of {c.table.qualified_name} read {t.qualified_name}, which is not an input of "
                    f"the asset (its inputs: {have}); add it to the asset's ins"
                )
            mapping = ins[n].mapping
            if isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.end_offset < 0 and not whole_windows:
                raise dg.DagsterInvalidDefinitionError(
                    f"{name}: the checks of {c.table.qualified_name} read {t.qualified_name} through input {n!r}, "
                    f"whose window ends before the game date: they would see none of the run's dates"
                )
            through[t.asset_key] = n
    return through


def _is_resource(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(
        annotation, (dg.ConfigurableResource, dg.ConfigurableIOManagerFactory)
    )


def _same_dates(context: dg.AssetExecutionContext, table: Table, frame: pd.DataFrame, read: In) -> pd.DataFrame:
    """An input as the checks read it: the run's own dates of a windowed input."""
    if not read.windowed:
        return frame
    dates = pd.to_datetime([d.isoformat() for d in run_dates(context)])
    return frame[frame[table.partition_column].isin(dates)]


# Who answers for each layer: shown on every asset and filterable in the catalog. Ingestion and the
# cleaned facts are data engineering's; features and the model the ML team's; what leaves the
# pipeline (the day's picks, the track record) analytics'.
LAYER_OWNERS = {
    "nba_raw": ["team:data-engineering"],
    "nba_analytics": ["team:data-engineering"],
    "nba_precompute": ["team:ml"],
    "nba_predictions": ["team:ml"],
    "nba_exports": ["team:analytics"],
}


def with_owners_and_kinds(spec: dg.AssetSpec, warehouse_kind: str | None) -> dg.AssetSpec:
    """The layer's owners, and for a table the warehouse the bound IO manager stores it in
    (`duckdb` or `bigquery`, beside the `pandas` its step computes with). Applied where the
    resources are bound (`build_definitions`): the kind is the warehouse actually used."""
    try:
        table_for(spec.key)
        kinds = {warehouse_kind} if warehouse_kind else set()
    except KeyError:  # a file export: its own kinds
        kinds = set()
    return spec.merge_attributes(owners=LAYER_OWNERS[spec.group_name], kinds=kinds)
