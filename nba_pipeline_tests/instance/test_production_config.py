"""The production instance config: valid against Dagster's schema, PostgreSQL storage, a queued
run coordinator, run monitoring, retries and the warehouse pool (the server itself: issue 6)."""

import shutil
from pathlib import Path

from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef

PRODUCTION = Path(__file__).resolve().parents[2] / "nba_pipeline" / "instance" / "dagster.production.yaml"
EMBEDDED = PRODUCTION.with_name("dagster.yaml")
PG_ENV = dict(
    DAGSTER_PG_HOST="127.0.0.1",
    DAGSTER_PG_PORT="5432",
    DAGSTER_PG_DB="dagster",
    DAGSTER_PG_USER="dagster",
    DAGSTER_PG_PASSWORD="secret",
)


def _ref(tmp_path, source: Path, monkeypatch) -> tuple[dict, InstanceRef]:
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    shutil.copy(source, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))  # raises on any schema error
    return config, InstanceRef.from_dir(str(tmp_path))


def test_production_config_uses_postgres_a_queue_and_the_monitor(tmp_path, monkeypatch):
    config, ref = _ref(tmp_path, PRODUCTION, monkeypatch)
    assert (
        ref.run_storage_data.class_name,
        ref.event_storage_data.class_name,
        ref.schedule_storage_data.class_name,
    ) == ("PooledPostgresRunStorage", "PooledPostgresEventLogStorage", "PooledPostgresScheduleStorage")
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"
    assert config["run_monitoring"]["enabled"] and config["run_monitoring"]["max_runtime_seconds"] > 0
    assert config["run_retries"] == {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}
    assert config["concurrency"]["pools"]["default_limit"] == 1
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config[storage]["config"]["postgres_db"]["password"] == {
            "env": "DAGSTER_PG_PASSWORD"
        }  # never in the file


def test_both_configs_share_monitoring_retries_and_pools(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    embedded, _ = _ref(tmp_path / "a", EMBEDDED, monkeypatch)
    production, _ = _ref(tmp_path / "b", PRODUCTION, monkeypatch)
    assert embedded["run_monitoring"]["enabled"] and production["run_monitoring"]["enabled"]
    assert embedded["run_retries"] == production["run_retries"]
    assert embedded["concurrency"]["pools"] == production["concurrency"]["pools"]
