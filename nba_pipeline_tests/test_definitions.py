"""Incidents 2 and 7: the code location loads (in CI, not at deploy) and table identity comes
from asset keys alone."""

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg

from nba_pipeline.core.schema import table_for
from nba_pipeline.definitions import build_definitions, defs
from nba_pipeline.exports.files import best_bets, report

ROOT = Path(__file__).resolve().parents[1]
# assets that write files rather than a warehouse table
FILE_EXPORTS = {best_bets.asset_key, report.asset_key}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "nba_raw/schedule",
        "nba_raw/team_boxscores",
        "nba_raw/player_boxscores",
        "nba_raw/player_props",
        "nba_raw/game_lines",
    } <= keys


def test_every_asset_has_a_declared_table_partitions_and_code_version():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key == best_bets.asset_key:
            assert node.metadata["schema"] == "docs/best_bets.schema.json"
        elif key in FILE_EXPORTS:
            assert node.metadata["schema_version"] >= 1
        else:
            table = table_for(key)  # raises if undeclared
            assert (table.dataset, table.name) == tuple(key.path)
            assert node.metadata["partition_expr"] == "game_date"
        assert node.code_version, key
        assert node.partitions_def is not None and node.partitions_def.timezone == "America/New_York"
        assert graph.get_check_keys_for_assets({key}), f"{key} has no checks"


def test_every_asset_has_a_fresh_check_and_no_freshness_policy():
    """Dagster's FreshnessPolicy judges the latest materialization of any partition (issue 16,
    part 3): no asset carries one; each has the per-partition `fresh` check instead."""
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert len(keys) == 23
    for key in keys:
        assert graph.get(key).freshness_policy is None, key
        assert dg.AssetCheckKey(key, "fresh") in graph.asset_check_keys, key
    assert "freshness_sensor" in {s.name for s in defs.sensors}


def test_dagster_definitions_validate_cli():
    env = {**os.environ, "DAGSTER_HOME": str(ROOT / ".ci_validate_home")}
    Path(env["DAGSTER_HOME"]).mkdir(exist_ok=True)
    (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_incident_07_a_broken_definition_fails_validation_in_ci(tmp_path):
    broken = tmp_path / "broken_defs.py"
    broken.write_text(
        "import dagster as dg\n@dg.asset\ndef a(missing_upstream): ...\ndefs = dg.Definitions(assets=[a])\n"
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-f", str(broken)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert proc.returncode != 0


def test_every_step_that_opens_the_warehouse_takes_a_warehouse_pool_slot():
    """DuckDB lets one process at a time open its file; checks run inside the asset steps."""
    from nba_pipeline.core.table_assets import WAREHOUSE_POOL

    ops = defs.resolve_implicit_global_asset_job_def().graph.node_defs
    # one multi-asset writes both team tables; table checks are inline; the `fresh` checks read
    # the event log and the source only (no warehouse, no slot)
    assert len(ops) == 22
    assert {op.name: op.pool for op in ops} == {
        op.name: None if op.name == "freshness" else WAREHOUSE_POOL for op in ops
    }


# how the catalog presents the assets (issue 16) ---------------------------------------------------
def test_tables_show_the_warehouse_that_stores_them_and_files_show_as_files():
    from nba_pipeline.warehouse.bigquery import NbaBigQueryIOManager

    on_bigquery = build_definitions(io_manager=NbaBigQueryIOManager(project="nba-test")).resolve_asset_graph()
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key in FILE_EXPORTS:
            kind = "json" if key == best_bets.asset_key else "html"
            assert graph.get(key).kinds == on_bigquery.get(key).kinds == {kind, "file"}
        else:
            assert graph.get(key).kinds == {"pandas", "duckdb"}, key
            assert on_bigquery.get(key).kinds == {"pandas", "bigquery"}, key


def test_every_asset_has_its_layers_owners():
    from nba_pipeline.core.table_assets import LAYER_OWNERS

    graph = defs.resolve_asset_graph()
    owners = {k.to_user_string(): graph.get(k).owners for k in graph.get_all_asset_keys()}
    assert owners["nba_raw/schedule"] == owners["nba_analytics/player_game_summary"] == ["team:data-engineering"]
    assert owners["nba_predictions/prop_models"] == ["team:ml"] and owners["nba_exports/best_bets"] == [
        "team:analytics"
    ]
    assert all(owners[k.to_user_string()] == LAYER_OWNERS[graph.get(k).group_name] for k in graph.get_all_asset_keys())


def _code_reference(graph, key):
    (ref,) = graph.get(key).metadata["dagster/code_references"].code_references
    return ref


def test_every_asset_links_to_the_code_that_builds_it():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        ref = _code_reference(graph, key)
        assert isinstance(ref, dg.LocalFileCodeReference), key
        path = Path(ref.file_path)
        assert path.is_relative_to(ROOT / "nba_pipeline"), (key, path)
        # the line is the asset's decorator or its function (a table asset's: the function the
        # factory wraps, not the factory's wrapper)
        line = path.read_text().splitlines()[ref.line_number - 1].strip()
        decorators = ("@dg.asset", "@dg.multi_asset", "@table_asset", "@table_multi_asset", "@file_asset")
        assert line.startswith((*decorators, "def ")), (
            key,
            line,
        )
    assert _code_reference(graph, best_bets.asset_key).file_path == str(ROOT / "nba_pipeline" / "exports" / "assets.py")


def test_code_links_open_the_repository_when_it_is_named(monkeypatch):
    monkeypatch.setenv("NBA_GIT_URL", "https://github.com/example/nba_pipeline/")
    monkeypatch.setenv("NBA_GIT_REF", "v1.2")
    graph = build_definitions().resolve_asset_graph()
    ref = _code_reference(graph, dg.AssetKey(["nba_raw", "schedule"]))
    local = _code_reference(defs.resolve_asset_graph(), dg.AssetKey(["nba_raw", "schedule"]))
    assert isinstance(ref, dg.UrlCodeReference)
    assert (
        ref.url == f"https://github.com/example/nba_pipeline/tree/v1.2/nba_pipeline/raw/assets.py#L{local.line_number}"
    )


def _markdown_tags(text: str | None) -> list[str]:
    """What the UI's Markdown would take for HTML tags and drop: `<word ...>` outside code spans."""
    return re.findall(r"</?[A-Za-z][^>]*>", re.sub(r"`[^`]*`", "", text or ""))


def test_descriptions_render_in_the_ui():
    """Descriptions are Markdown in the UI: best_bets' `best_bets/<date>.json` showed as
    `best_bets/.json`, the placeholder taken for an HTML tag."""
    graph = defs.resolve_asset_graph()
    texts = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        texts[key.to_user_string()] = node.description
        schema = node.metadata.get("dagster/column_schema")
        for column in schema.columns if schema else []:
            texts[f"{key.to_user_string()}.{column.name}"] = column.description
    for check_key in graph.asset_check_keys:
        texts[check_key.to_user_string()] = graph.get_check_spec(check_key).description
    for d in [*defs.sensors, *defs.schedules]:
        texts[d.name] = d.description
    assert "(best_bets/YYYY-MM-DD.json under the exports directory)" in texts["nba_exports/best_bets"]
    assert {name: _markdown_tags(text) for name, text in texts.items() if _markdown_tags(text)} == {}
