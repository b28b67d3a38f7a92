"""The environment module (issue 17): the only reader of the NBA_* variables, the deployment it
names (embedded: DuckDB; production: BigQuery), its defaults, one line for a bad value, and
secrets handed to resources as variable names only."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import nba_pipeline.environment as environment
from nba_pipeline.definitions import WAREHOUSES, build_definitions, warehouse_io_manager
from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = ROOT / "nba_pipeline" / "environment.py"
PACKAGES = (ROOT / "nba_pipeline", ROOT / "nba_pipeline_dev")
# every variable the module reads (the deployment's, the sources', ...), unset for each test
READ = sorted(
    {
        n.value
        for n in ast.walk(ast.parse(ENVIRONMENT.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and re.fullmatch(r"NBA_[A-Z_]+", n.value)
    }
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No NBA_* setting (the session's NBA_FIRST_SEASON aside: the partitions are fixed already), and
    a DAGSTER_HOME of the test's own."""
    for name in [*READ, "GOOGLE_CLOUD_PROJECT"]:
        if name != environment.FIRST_SEASON:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# the only reader --------------------------------------------------------------------------------
def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _is_env_var(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "EnvVar") or (
        isinstance(node, ast.Name) and node.id == "EnvVar"
    )


def environment_accesses(source: str) -> list[tuple[int, str]]:
    """Every place `source` reads or sets an NBA_* variable, or a variable whose name is not written
    out (it could be one): os.environ[...], os.environ.get/pop/setdefault(...), os.getenv(...),
    `... in os.environ`, dg.EnvVar(...) (Dagster reads the variable). As (line, the code)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key: ast.AST | None
        if isinstance(node, ast.Call):
            f = node.func
            named = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if not (
                named in ("getenv", "EnvVar")
                or (isinstance(f, ast.Attribute) and (_is_environ(f.value) or _is_env_var(f.value)))
            ):
                continue
            key = node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = node.slice
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            key = node.left
        else:
            continue
        literal = isinstance(key, ast.Constant) and isinstance(key.value, str)
        if not literal or key.value.startswith("NBA_"):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_detector_finds_every_way_of_reading_a_variable():
    reads = """
import os
import dagster as dg
from os import environ, getenv
a = os.environ.get("NBA_A")
b = os.environ["NBA_B"]
c = os.getenv("NBA_C", "x")
d = dg.EnvVar("NBA_D")
e = "NBA_E" in os.environ
f = environ.get(name)
g = getenv(SETTING)
h = dg.EnvVar.int("NBA_H")
os.environ["NBA_I"] = "1"
os.environ.setdefault("NBA_J", "1")
"""
    assert [line for line, _ in environment_accesses(reads)] == list(range(5, 15))
    other = """
import os
a = os.environ.get("PATH")
os.environ["DAGSTER_HOME"] = "/x"
child = {**os.environ, "NBA_RAW_DIR": "/raw"}
message = "set NBA_RAW_DIR"
"""
    assert environment_accesses(other) == []


def test_only_the_environment_module_reads_nba_variables():
    readers = {}
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            if path != ENVIRONMENT and (found := environment_accesses(path.read_text())):
                readers[str(path.relative_to(ROOT))] = found
    assert readers == {}
    # ... and the detector sees the module's own reads (its helpers `_value` and `_secret`)
    assert {code for _, code in environment_accesses(ENVIRONMENT.read_text())} >= {
        "os.environ.get(name)",
        "EnvVar(name)",
    }


def test_the_default_home_is_decided_in_one_place():
    """`~/.nba_pipeline` (the instance, and beside it the warehouse and the exports) is spelt once."""
    spelt = []
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            spelt += [
                path.name
                for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith(".nba_pipeline")
            ]
    assert spelt == ["environment.py"]


def test_it_sits_below_everything():
    """It imports nothing of nba_pipeline (core/seasons.py asks it while the partitions are being
    defined), and not Dagster either: the CLI's `synth` runs without it."""
    imported = [
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(ast.parse(ENVIRONMENT.read_text()))
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    ]
    assert not [m for m in imported if m and m.startswith("nba_pipeline")], imported
    code = (
        "import sys, nba_pipeline.environment; "
        "print(sorted(m for m in sys.modules if m.startswith(('dagster', 'nba_pipeline'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['nba_pipeline', 'nba_pipeline.environment']"


def test_the_readme_lists_every_variable_it_reads():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ")]
    listed = set(re.findall(r"`(NBA_[A-Z_]+)`", "\n".join(line for line in table.splitlines() if line.startswith("|"))))
    assert listed and listed <= set(READ)
    assert set(READ) - listed <= {"NBA_FAKETIME_LIB"}  # the replay's, dev tooling


# the deployment and the defaults -----------------------------------------------------------------
def test_the_deployment_is_embedded_by_default_and_production_with_bigquery(clean_env, monkeypatch):
    from nba_pipeline.warehouse.bigquery import NbaBigQueryIOManager

    assert set(WAREHOUSES) == {environment.EMBEDDED, environment.PRODUCTION}
    assert environment.deployment() == "embedded"
    io = warehouse_io_manager()
    assert isinstance(io, NbaDuckDBIOManager) and io.database == str(clean_env / "warehouse.duckdb")
    monkeypatch.setenv("NBA_DUCKDB_PATH", "/srv/w.duckdb")
    monkeypatch.setenv("NBA_WAREHOUSE", "DuckDB")
    assert environment.deployment() == "embedded" and warehouse_io_manager().database == "/srv/w.duckdb"

    monkeypatch.setenv("NBA_WAREHOUSE", "bigquery")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "gcp-default")
    assert environment.deployment() == "production"
    io = warehouse_io_manager()
    assert isinstance(io, NbaBigQueryIOManager) and (io.project, io.location) == ("gcp-default", "US")
    monkeypatch.setenv("NBA_BIGQUERY_PROJECT", "nba-prod")
    monkeypatch.setenv("NBA_BIGQUERY_LOCATION", "EU")
    assert (warehouse_io_manager().project, warehouse_io_manager().location) == ("nba-prod", "EU")
    # the catalog shows the warehouse the deployment writes
    graph = build_definitions().resolve_asset_graph()
    assert graph.get(dg.AssetKey(["nba_raw", "schedule"])).kinds == {"pandas", "bigquery"}


def test_defaults_as_the_readme_gives_them(clean_env, monkeypatch):
    assert environment.duckdb_settings().path == str(clean_env / "warehouse.duckdb")
    assert environment.exports_settings() == environment.ExportsSettings(directory=str(clean_env / "exports"), url=None)
    assert environment.source_settings() == environment.FilesSourceSettings(raw_dir="")
    assert environment.alert_settings() == environment.AlertSettings(None, None, None, include_warnings=False)
    assert environment.git_link() is None and environment.automation_on()
    assert environment.path_settings() == {"DAGSTER_HOME": str(clean_env)}
    monkeypatch.delenv("DAGSTER_HOME")
    assert environment.dagster_home() == Path.home() / ".nba_pipeline"
    assert environment.exports_settings().directory == str(Path.home() / ".nba_pipeline" / "exports")
    # an empty variable is an unset one
    for name in ("NBA_WAREHOUSE", "NBA_SOURCE", "NBA_DUCKDB_PATH", "NBA_GIT_REF", "NBA_AUTOMATION", "DAGSTER_HOME"):
        monkeypatch.setenv(name, "")
    assert environment.deployment() == "embedded" and environment.source_kind() == "files"
    assert environment.duckdb_settings().path == str(Path.home() / ".nba_pipeline" / "warehouse.duckdb")
    assert environment.automation_on()
    monkeypatch.setenv("NBA_GIT_URL", "https://github.com/example/nba_pipeline/")
    assert environment.git_link() == environment.GitLink(url="https://github.com/example/nba_pipeline", ref="main")


def test_settings_as_given(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("NBA_EXPORTS_DIR", "/srv/exports")
    monkeypatch.setenv("NBA_EXPORTS_URL", "https://example.com/nba")
    monkeypatch.setenv("NBA_AUTOMATION", "OFF")
    monkeypatch.setenv("NBA_ALERT_WARN", "1")
    monkeypatch.setenv("NBA_SLACK_CHANNEL", "#nba")
    monkeypatch.setenv(environment.FIRST_SEASON, " 2023-24 ")
    assert environment.exports_settings() == environment.ExportsSettings("/srv/exports", "https://example.com/nba")
    assert not environment.automation_on()
    alerts = environment.alert_settings()
    assert (alerts.slack_channel, alerts.include_warnings, alerts.slack_token) == ("#nba", True, None)
    assert environment.first_season_setting() == "2023-24"
    monkeypatch.setenv("NBA_SOURCE", "Live")
    monkeypatch.setenv("NBA_ODDS_ARCHIVE_DIR", str(tmp_path))
    monkeypatch.setenv("NBA_ODDS_API_KEY", "k")
    monkeypatch.setenv("NBA_ODDS_URL", "http://127.0.0.1:9")
    live = environment.source_settings()
    assert (live.archive_dir, live.stats_url, live.odds_url) == (str(tmp_path), None, "http://127.0.0.1:9")


# bad values: one line ---------------------------------------------------------------------------
BAD = [
    ({"NBA_WAREHOUSE": "postgres"}, "NBA_WAREHOUSE must be 'duckdb' or 'bigquery', not 'postgres'"),
    ({"NBA_WAREHOUSE": "bigquery"}, "NBA_WAREHOUSE=bigquery needs NBA_BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)"),
    ({"NBA_SOURCE": "ftp"}, "NBA_SOURCE must be 'files' or 'live', not 'ftp'"),
    ({"NBA_SOURCE": "live"}, "NBA_SOURCE=live needs NBA_ODDS_ARCHIVE_DIR: a lasting directory for odds snapshots"),
    (
        {"NBA_SOURCE": "live", "NBA_ODDS_ARCHIVE_DIR": "/srv/odds", "NBA_ODDS_API_KEY": ""},
        "NBA_SOURCE=live needs NBA_ODDS_API_KEY: The Odds API key",
    ),
]


@pytest.mark.parametrize(
    ("settings", "line"), BAD, ids=[line.split(" ")[0] + f"-{i}" for i, (_, line) in enumerate(BAD)]
)
def test_a_bad_setting_is_one_line_naming_it(clean_env, monkeypatch, capfd, settings, line):
    from nba_pipeline.cli.main import main

    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as err:
        if environment.deployment() == environment.PRODUCTION:
            environment.bigquery_settings()
        environment.source_settings()
    assert str(err.value) == line
    # the CLI: that line, exit 2 (a bad setting), before anything runs
    assert main(["stale"]) == 2
    assert capfd.readouterr().err == f"nba-pipeline: error: {line}\n"


# secrets ----------------------------------------------------------------------------------------
def test_secrets_reach_the_resources_as_variable_names(clean_env, monkeypatch, tmp_path):
    """What Dagster stores of a job (its snapshot, with every resource's config) holds the secrets'
    variable names, never their values (the whole instance after real runs: test_secrets.py)."""
    secrets = {
        "NBA_ODDS_API_KEY": "oddskey-93be0c",
        "NBA_ALERT_WEBHOOK_URL": "https://hooks.example.com/T0/hooktoken-5d1",
        "NBA_SLACK_TOKEN": "xoxb-slacktoken-a7f",
    }
    for name, value in {
        **secrets,
        "NBA_SOURCE": "live",
        "NBA_ODDS_ARCHIVE_DIR": str(tmp_path),
        "NBA_SLACK_CHANNEL": "#nba",
    }.items():
        monkeypatch.setenv(name, value)
    key = environment.source_settings().odds_api_key
    alerts = environment.alert_settings()
    for var, name in (
        (key, "NBA_ODDS_API_KEY"),
        (alerts.webhook_url, "NBA_ALERT_WEBHOOK_URL"),
        (alerts.slack_token, "NBA_SLACK_TOKEN"),
    ):
        assert isinstance(var, dg.EnvVar) and var.env_var_name == name and var.get_value() == secrets[name]
    defs = build_definitions()
    for job in defs.get_repository_def().get_all_jobs():
        snapshot = dg.serialize_value(job.get_job_snapshot())
        for name, value in secrets.items():
            assert value not in snapshot, (job.name, name)
            # the resource's config default: {"env": name}, a JSON string inside the snapshot's JSON
            assert f'\\"env\\": \\"{name}\\"' in snapshot, (job.name, name)
