"""The Kubernetes deployment files (deploy/): the post-renderer turns the chart's instance ConfigMap
into the production instance, which Dagster accepts and which runs on PostgreSQL with the pools and
limits of dagster.production.yaml; the values name what the code reads.

No cluster and no `helm` here: the chart's rendering of its instance ConfigMap is reproduced below
from its template (helm/dagster/templates/configmap-instance.yaml and helpers/instance/*.tpl of
dagster-io/dagster, rendered by hand with deploy/k8s/values.yaml)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef

from nba_pipeline_tests.postgres_server import running_postgres

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
VALUES = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
PRODUCTION = yaml.safe_load((ROOT / "nba_pipeline" / "instance" / "dagster.production.yaml").read_text())


def chart_instance_config(pg_host: str, pg_port: int) -> str:
    """dagster.yaml as the chart writes it for these values."""
    pg = VALUES["postgresql"]
    daemon = VALUES["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    postgres_db = f"""
        postgres_db:
          username: {pg["postgresqlUsername"]}
          password:
            env: DAGSTER_PG_PASSWORD
          hostname: {pg_host}
          db_name: {pg["postgresqlDatabase"]}
          port: {pg_port}
          params: {{}}
          scheme: {pg["postgresqlScheme"]}"""
    return f"""
    scheduler:
      module: dagster.core.scheduler
      class: DagsterDaemonScheduler
    schedule_storage:
      module: dagster_postgres.schedule_storage
      class: PostgresScheduleStorage
      config:{postgres_db}
    run_launcher:
      module: dagster_k8s
      class: K8sRunLauncher
      config:
        load_incluster_config: true
        job_namespace: nba
        image_pull_policy: IfNotPresent
        instance_config_map: "nba-dagster-instance"
        postgres_password_secret: "dagster-postgresql-secret"
        dagster_home: "/opt/dagster/dagster_home"
        env_secrets:
          - "nba-pipeline-secrets"
        resources: {{requests: {{cpu: "1", memory: 1536Mi}}, limits: {{memory: 3Gi}}}}
        run_k8s_config:
          job_spec_config: {{ttlSecondsAfterFinished: 86400}}
    run_storage:
      module: dagster_postgres.run_storage
      class: PostgresRunStorage
      config:{postgres_db}
    event_log_storage:
      module: dagster_postgres.event_log
      class: PostgresEventLogStorage
      config:{postgres_db}
    run_coordinator:
      module: dagster.core.run_coordinator
      class: QueuedRunCoordinator
      config:
        max_concurrent_runs: -1
        dequeue_use_threads: {str(coordinator["dequeueUseThreads"]).lower()}
        dequeue_num_workers: {coordinator["dequeueNumWorkers"]}
    compute_logs:
      module: dagster.core.storage.noop_compute_log_manager
      class: NoOpComputeLogManager
    run_monitoring:
      enabled: true
      start_timeout_seconds: {daemon["runMonitoring"]["startTimeoutSeconds"]}
      poll_interval_seconds: {daemon["runMonitoring"]["pollIntervalSeconds"]}
    run_retries:
      enabled: true
      max_retries: {daemon["runRetries"]["maxRetries"]}
    telemetry:
      enabled: false
    """.replace("\n    ", "\n")


def rendered_chart(pg_host: str = "10.0.0.5", pg_port: int = 5432) -> str:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "nba-dagster-instance"},
        "data": {"dagster.yaml": chart_instance_config(pg_host, pg_port)},
    }
    other = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "nba-dagster-webserver"},
        "spec": {"ports": [{"port": 80}]},
    }
    return yaml.safe_dump_all([other, configmap])


def post_render(manifests: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "k8s" / "post_render.py")],
        input=manifests,
        capture_output=True,
        text=True,
        check=True,
    )
    return list(yaml.safe_load_all(done.stdout))


def test_post_render_makes_the_chart_instance_the_production_instance(tmp_path, monkeypatch):
    docs = post_render(rendered_chart())
    assert [d["kind"] for d in docs] == ["Service", "ConfigMap"] and docs[0]["spec"] == {"ports": [{"port": 80}]}
    instance = yaml.safe_load(docs[1]["data"]["dagster.yaml"])
    assert {k: instance[k]["class"] for k in ("run_storage", "event_log_storage", "schedule_storage")} == {
        "run_storage": "PooledPostgresRunStorage",
        "event_log_storage": "PooledPostgresEventLogStorage",
        "schedule_storage": "PooledPostgresScheduleStorage",
    }
    assert instance["concurrency"] == PRODUCTION["concurrency"] and instance["run_retries"] == PRODUCTION["run_retries"]
    assert instance["run_monitoring"]["max_runtime_seconds"] == PRODUCTION["run_monitoring"]["max_runtime_seconds"]
    assert instance["run_launcher"]["class"] == "K8sRunLauncher"
    # (the chart writes -1 when its own run limit is unset; the limit is concurrency.runs)
    assert "max_concurrent_runs" not in instance["run_coordinator"]["config"]
    # Dagster accepts it (schema, and the run launcher's own config)
    (tmp_path / "dagster.yaml").write_text(docs[1]["data"]["dagster.yaml"])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "x")
    dagster_instance_config(str(tmp_path))
    if importlib.util.find_spec("dagster_k8s") is None:
        pytest.skip("dagster-k8s (the `k8s` extra) not installed: the run launcher's config is not checked")
    from dagster._config import validate_config
    from dagster_k8s import K8sRunLauncher

    checked = validate_config(K8sRunLauncher.config_type(), instance["run_launcher"]["config"])
    assert checked.success, checked.errors


def test_post_render_refuses_a_chart_it_does_not_know():
    broken = rendered_chart().replace("event_log_storage:", "event_log_storage_renamed:")
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "k8s" / "post_render.py")], input=broken, capture_output=True, text=True
    )
    assert done.returncode != 0 and "has no event_log_storage" in done.stderr


def test_the_deployed_instance_runs_on_postgres_with_the_production_limits(monkeypatch):
    with running_postgres() as server:
        instance_yaml = yaml.safe_load(post_render(rendered_chart("127.0.0.1", server.port))[1]["data"]["dagster.yaml"])
        instance_yaml.pop("run_launcher")  # (it would load the cluster's config) the rest as deployed
        for storage in ("run_storage", "event_log_storage", "schedule_storage"):
            instance_yaml[storage]["config"]["postgres_db"]["username"] = server.user
        home = server.root / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
        monkeypatch.setenv("DAGSTER_PG_PASSWORD", server.password)
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            assert type(instance.event_log_storage).__name__ == "PooledPostgresEventLogStorage"
            concurrency = instance.get_concurrency_config()
            assert concurrency.pool_config.default_pool_limit == PRODUCTION["concurrency"]["pools"]["default_limit"]
            assert (
                concurrency.run_queue_config.max_concurrent_runs
                == PRODUCTION["concurrency"]["runs"]["max_concurrent_runs"]
            )
            assert instance.run_monitoring_max_runtime_seconds == PRODUCTION["run_monitoring"]["max_runtime_seconds"]


def test_the_values_set_what_the_code_reads():
    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "nba_pipeline.definitions"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["NBA_WAREHOUSE"] == "bigquery" and env["NBA_SOURCE"] == "live"
    # every NBA_* the values set is read by the code (by its environment module, the only reader),
    # and the secrets hold the rest it needs
    code = (ROOT / "nba_pipeline" / "environment.py").read_text()
    secrets = [
        d for d in yaml.safe_load_all((DEPLOY / "k8s" / "secrets.example.yaml").read_text()) if d["kind"] == "Secret"
    ]
    secret_keys = {k for d in secrets for k in d["stringData"]}
    for name in [*env, *secret_keys - {"postgresql-password"}]:
        assert f'"{name}"' in code, name
    assert env["NBA_ODDS_ARCHIVE_DIR"].startswith(deployment["volumeMounts"][0]["mountPath"])
    # the live source has no files to date the data by: without it the partitions would start with
    # the current season and move every October
    from nba_pipeline.core.seasons import parse_season, today

    assert parse_season(env["NBA_FIRST_SEASON"], today()) == 2024
    assert {s["metadata"]["name"] for s in secrets} == {
        VALUES["global"]["postgresqlSecretName"],
        deployment["envSecrets"][0]["name"],
    }
    # one image for all: the webserver and daemon import our storage classes
    assert VALUES["dagsterWebserver"]["image"] == VALUES["dagsterDaemon"]["image"] == deployment["image"]
    assert os.path.isfile(DEPLOY / "Dockerfile") and '".[k8s]"' in (DEPLOY / "Dockerfile").read_text()
