"""Shared fixtures: the real data folder (../shared/data/nba), temporary warehouses and instances."""

from __future__ import annotations

import datetime as dt
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

# The game-date partitions are fixed when nba_pipeline is first imported, for the whole session
# (subprocesses inherit it): they start with the 2024-25 season, the first of the real data and of
# the synthetic league, whatever the environment running the tests says. Tests of the default
# (from NBA_RAW_DIR) run a subprocess without it.
os.environ["NBA_FIRST_SEASON"] = "2024-25"

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nba"
needs_real_data = pytest.mark.skipif(
    not (REAL_DATA / "README.md").exists(),
    reason=f"real NBA data not found at {REAL_DATA} (expected ../shared/data/nba beside the repo)",
)


def dev_cli() -> list[str]:
    """The dev tools' command (demo, synth, replay-day): the `nba-pipeline-dev` console script where
    they are installed (`pip install -e ./dev`), else their module, with dev/ on PYTHONPATH."""
    script = Path(sys.executable).parent / "nba-pipeline-dev"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nba_pipeline_dev.cli"]


@pytest.fixture
def instance(tmp_path):
    """A real SQLite-backed instance in a temp DAGSTER_HOME (what the CLI and UI use)."""
    with dagster_instance_at(tmp_path / "dagster_home") as inst:
        yield inst


@contextmanager
def dagster_instance_at(home: Path):
    """A real instance whose DAGSTER_HOME is `home` (the embedded dagster.yaml written there),
    the previous DAGSTER_HOME restored afterwards."""
    from nba_pipeline.instance import prepare_home

    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(prepare_home(home))
    try:
        with dg.DagsterInstance.get() as inst:
            yield inst
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = old


def make_defs(raw_dir: Path, db_path: Path) -> dg.Definitions:
    from nba_pipeline.definitions import build_definitions
    from nba_pipeline.exports.directory import ExportsDirectory
    from nba_pipeline.raw.sources.files import FilesSource
    from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager

    return build_definitions(
        FilesSource(raw_dir=str(raw_dir)),
        NbaDuckDBIOManager(database=str(db_path)),
        ExportsDirectory(directory=str(db_path.parent / "exports")),
    )


def query(db_path: Path, sql: str):
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_exists(db_path: Path, dataset: str, table: str) -> bool:
    if not db_path.exists():
        return False
    return bool(
        query(
            db_path, f"SELECT 1 FROM information_schema.tables WHERE table_schema='{dataset}' AND table_name='{table}'"
        )
    )


@pytest.fixture(scope="session")
def synthetic_league(tmp_path_factory):
    """One synthetic season (generated once per test session); tests copy it before corrupting."""
    from nba_pipeline_dev.synthetic import generate_league

    out = tmp_path_factory.mktemp("league")
    summary = generate_league(out, seasons=1, first_season=2024, seed=7)
    return out, summary


@pytest.fixture
def league_copy(synthetic_league, tmp_path):
    import shutil

    src, summary = synthetic_league
    dst = tmp_path / "raw"
    shutil.copytree(src, dst)
    return dst, summary


def first_game_dates(summary: dict, n: int) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(summary["first_date"])
    return first, first + dt.timedelta(days=n - 1)
