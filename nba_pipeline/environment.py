"""The environment: the one module that reads the NBA_* variables (and DAGSTER_HOME, for the paths
that default to beside the instance). Every other module asks it; `definitions.py` builds the
resources from what it answers.

- Below everything: it imports nothing of nba_pipeline, so `core/seasons.py` can ask it for the
  first season while the code location is being imported (the partitions depend on it).
- A variable is read when asked, not at import: a process that sets one (the CLI's demo, a test)
  gets what it set. An empty variable counts as unset.
- A bad value raises ValueError in one line naming the variable and what it accepts (the CLI
  prints that line and exits 2; the code location fails to load with it).
- Secrets (NBA_ODDS_API_KEY, NBA_ALERT_WEBHOOK_URL, NBA_SLACK_TOKEN) are handed out as `dg.EnvVar`:
  Dagster stores a resource's config in every job snapshot of the instance, so only the
  variable's name goes there, and the value is read when a run or sensor tick initializes the
  resource. (The production instance's DAGSTER_PG_* are read by its dagster.yaml, `env:`.)

The deployment (`deployment()`, after hooli-data-eng-pipelines' `get_env()`): `embedded`, the
default (DuckDB warehouse, SQLite instance), or `production` (BigQuery warehouse, PostgreSQL
instance), chosen by NBA_WAREHOUSE. The code picks the warehouse by it; the instance is whatever
dagster.yaml DAGSTER_HOME holds (`instance/dagster.yaml`, `instance/dagster.production.yaml`). The
raw source (NBA_SOURCE: files or live) is chosen apart: production backfills old seasons from files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from dagster import EnvVar

Deployment = Literal["embedded", "production"]
EMBEDDED: Deployment = "embedded"
PRODUCTION: Deployment = "production"
# NBA_WAREHOUSE -> the deployment it makes
_DEPLOYMENT_OF_WAREHOUSE: dict[str, Deployment] = {"duckdb": EMBEDDED, "bigquery": PRODUCTION}

FIRST_SEASON = "NBA_FIRST_SEASON"
# the variables holding paths, for messages about a path that fails ("... (NBA_DUCKDB_PATH=/x)")
PATH_VARIABLES = ("DAGSTER_HOME", "NBA_DUCKDB_PATH", "NBA_EXPORTS_DIR", "NBA_RAW_DIR", "NBA_ODDS_ARCHIVE_DIR")


def _value(name: str) -> str | None:
    """The variable's value; None when it is unset or empty."""
    return os.environ.get(name) or None


def _secret(name: str) -> EnvVar | None:
    """The variable as `dg.EnvVar` (its name, read by Dagster when a resource is initialized);
    None when unset: no such destination."""
    from dagster import EnvVar  # here: the CLI's `synth` runs without importing Dagster

    return EnvVar(name) if _value(name) else None


# the deployment and the instance -----------------------------------------------------------------
def deployment() -> Deployment:
    """`embedded` (NBA_WAREHOUSE=duckdb, the default) or `production` (NBA_WAREHOUSE=bigquery)."""
    warehouse = (_value("NBA_WAREHOUSE") or "duckdb").lower()
    if warehouse not in _DEPLOYMENT_OF_WAREHOUSE:
        raise ValueError(f"NBA_WAREHOUSE must be 'duckdb' or 'bigquery', not {warehouse!r}")
    return _DEPLOYMENT_OF_WAREHOUSE[warehouse]


def dagster_home() -> Path:
    """DAGSTER_HOME, or ~/.nba_pipeline (the CLI's instance; the default place of the warehouse
    and the exports)."""
    return Path(_value("DAGSTER_HOME") or Path.home() / ".nba_pipeline")


def set_dagster_home(home: Path) -> None:
    """Make `home` the instance's folder for this process and its children (Dagster finds the
    instance by DAGSTER_HOME)."""
    os.environ["DAGSTER_HOME"] = str(home)


def path_settings() -> dict[str, str]:
    """The path variables that are set, by name."""
    return {name: value for name in PATH_VARIABLES if (value := _value(name))}


# the warehouse ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DuckDBSettings:
    path: str


def duckdb_settings() -> DuckDBSettings:
    """NBA_DUCKDB_PATH, else warehouse.duckdb in DAGSTER_HOME."""
    return DuckDBSettings(path=_value("NBA_DUCKDB_PATH") or str(dagster_home() / "warehouse.duckdb"))


@dataclass(frozen=True)
class BigQuerySettings:
    project: str
    location: str


def bigquery_settings() -> BigQuerySettings:
    """NBA_BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT), NBA_BIGQUERY_LOCATION (default US)."""
    project = _value("NBA_BIGQUERY_PROJECT") or _value("GOOGLE_CLOUD_PROJECT")
    if not project:
        raise ValueError("NBA_WAREHOUSE=bigquery needs NBA_BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)")
    return BigQuerySettings(project=project, location=_value("NBA_BIGQUERY_LOCATION") or "US")


def bigquery_emulator_host() -> str | None:
    """BIGQUERY_EMULATOR_HOST: a local BigQuery emulator, which checks no credentials."""
    return _value("BIGQUERY_EMULATOR_HOST")


# the raw source ---------------------------------------------------------------------------------
def source_kind() -> str:
    """NBA_SOURCE as given (lowercased), `files` by default; `source_settings` checks it."""
    return (_value("NBA_SOURCE") or "files").lower()


def raw_dir() -> str | None:
    """NBA_RAW_DIR: the raw data folder of the `files` source."""
    return _value("NBA_RAW_DIR")


@dataclass(frozen=True)
class FilesSourceSettings:
    raw_dir: str


@dataclass(frozen=True)
class LiveSourceSettings:
    archive_dir: str
    odds_api_key: EnvVar
    # endpoint overrides (a proxy, the tests' server); None: the public APIs
    stats_url: str | None = None
    odds_url: str | None = None


def source_settings() -> FilesSourceSettings | LiveSourceSettings:
    """NBA_SOURCE=files (default): NBA_RAW_DIR. NBA_SOURCE=live: NBA_ODDS_ARCHIVE_DIR and
    NBA_ODDS_API_KEY (both required), NBA_STATS_URL / NBA_ODDS_URL."""
    kind = source_kind()
    if kind == "files":
        return FilesSourceSettings(raw_dir=raw_dir() or "")
    if kind == "live":
        archive = _value("NBA_ODDS_ARCHIVE_DIR")
        if not archive:
            raise ValueError("NBA_SOURCE=live needs NBA_ODDS_ARCHIVE_DIR: a lasting directory for odds snapshots")
        # checked here, at load, for one clear line: an unset EnvVar fails only when a run is
        # planned, with Dagster's multi-line config error
        key = _secret("NBA_ODDS_API_KEY")
        if key is None:
            raise ValueError("NBA_SOURCE=live needs NBA_ODDS_API_KEY: The Odds API key")
        return LiveSourceSettings(
            archive_dir=archive, odds_api_key=key, stats_url=_value("NBA_STATS_URL"), odds_url=_value("NBA_ODDS_URL")
        )
    raise ValueError(f"NBA_SOURCE must be 'files' or 'live', not {kind!r}")


def first_season_setting() -> str | None:
    """NBA_FIRST_SEASON as given (`core/seasons.py` parses it, and derives the default)."""
    return (_value(FIRST_SEASON) or "").strip() or None


def pin_first_season(label: str) -> None:
    """Set NBA_FIRST_SEASON for this process (before the code location is imported) and its children."""
    os.environ[FIRST_SEASON] = label


# exports, alerts, code links, automation ---------------------------------------------------------
@dataclass(frozen=True)
class ExportsSettings:
    directory: str
    url: str | None


def exports_settings() -> ExportsSettings:
    """NBA_EXPORTS_DIR (else exports/ in DAGSTER_HOME) and NBA_EXPORTS_URL, where readers fetch it."""
    return ExportsSettings(
        directory=_value("NBA_EXPORTS_DIR") or str(dagster_home() / "exports"), url=_value("NBA_EXPORTS_URL")
    )


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: EnvVar | None
    slack_token: EnvVar | None
    slack_channel: str | None
    include_warnings: bool


def alert_settings() -> AlertSettings:
    """NBA_ALERT_WEBHOOK_URL and NBA_SLACK_TOKEN (secrets) + NBA_SLACK_CHANNEL: where alerts go (unset:
    nowhere); NBA_ALERT_WARN=1: WARN check failures alert too."""
    return AlertSettings(
        webhook_url=_secret("NBA_ALERT_WEBHOOK_URL"),
        slack_token=_secret("NBA_SLACK_TOKEN"),
        slack_channel=_value("NBA_SLACK_CHANNEL"),
        include_warnings=(_value("NBA_ALERT_WARN") or "") in ("1", "true", "yes"),
    )


@dataclass(frozen=True)
class GitLink:
    url: str
    ref: str


def git_link() -> GitLink | None:
    """NBA_GIT_URL (the repository's GitHub/GitLab URL) and NBA_GIT_REF (default main); None: unset."""
    url = _value("NBA_GIT_URL")
    return GitLink(url=url.rstrip("/"), ref=_value("NBA_GIT_REF") or "main") if url else None


def automation_on() -> bool:
    """NBA_AUTOMATION: `off` (or 0, false) starts the sensors and schedules stopped."""
    return (_value("NBA_AUTOMATION") or "on").lower() not in ("off", "0", "false")


# dev tooling ------------------------------------------------------------------------------------
def faketime_library_setting() -> str | None:
    """NBA_FAKETIME_LIB: libfaketime's preload library, for `replay-day` (nba_pipeline_dev)."""
    return _value("NBA_FAKETIME_LIB")
