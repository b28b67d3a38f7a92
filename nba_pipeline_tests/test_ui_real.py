"""What the Dagster UI shows on the real data (issue 16): a real-data instance built by the
README's backfill, served by `dagster dev`, read through the GraphQL API the UI itself uses.

- every check of every asset has a current result (passed or failed) for each partition of
  2025-11-01 .. 09, as the Checks -> Partitions tab and the graph cards count them;
- an asset whose newest game date with data is not built does not read fresh: the league
  schedule announces a game on 2025-11-10, and the pre-game assets' `fresh` check fails naming
  that date, while the results assets (finals through 11-09, all built) stay fresh;
- screenshots of the check Partitions tab and the asset Partitions plots for the README."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nba_pipeline.definitions import build_definitions
from nba_pipeline.orchestration.completeness import due_times
from nba_pipeline_dev.replay import clock_env, faketime_library
from nba_pipeline_tests.browser import DOCS, browser_page, chromium, sync_playwright
from nba_pipeline_tests.conftest import REAL_DATA, dagster_instance_at, needs_real_data
from nba_pipeline_tests.test_ui_e2e import DagsterDev

pytestmark = needs_real_data
SHOWN = [f"2025-11-0{d}" for d in range(1, 10)]
NEXT_DAY = "2025-11-10"
_GRAPH = build_definitions().resolve_asset_graph()
DUES = due_times(_GRAPH.get(k) for k in _GRAPH.get_all_asset_keys())
PREGAME = [a for a, due in DUES.items() if due.kind == "pregame"]
BUILT_RESULTS = [a for a, due in DUES.items() if due.kind == "results" and a.startswith(("nba_raw/", "nba_analytics/"))]

CHECKS = (
    """{ assetNodes { assetKey { path } assetChecksOrError { __typename ... on AssetChecks { checks {
  name blocking
  executionForLatestMaterialization { status evaluation { description } }
  partitionStatuses { __typename ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } }"""
    """ } } } } }"""
)


def _keys_between(start: str, end: str) -> list[str]:
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [(a + dt.timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def _freshness_tick(home: Path, raw: Path, cursor: str | None) -> str:
    from nba_pipeline.definitions import build_definitions
    from nba_pipeline.orchestration.completeness import blocking_checks
    from nba_pipeline.orchestration.freshness import freshness_tick
    from nba_pipeline.raw.sources.files import FilesSource

    source = FilesSource(raw_dir=str(raw))
    graph = build_definitions(nba_source=source).resolve_asset_graph()
    with dagster_instance_at(home) as instance:
        summary, cursor = freshness_tick(
            instance,
            source,
            DUES,
            blocking_checks(graph),
            sorted(graph.get_all_asset_keys()),
            cursor,
            dt.datetime.now(dt.UTC),
        )
    return cursor


@pytest.fixture(scope="module")
def real_dev(tmp_path_factory):
    home = tmp_path_factory.mktemp("real_home")
    # the shared data, linked (never copied), in a folder where the test can add a league schedule
    raw = tmp_path_factory.mktemp("real_raw")
    for entry in REAL_DATA.iterdir():
        (raw / entry.name).symlink_to(entry)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_RAW_DIR": str(raw),
        "NBA_WAREHOUSE": "duckdb",
        "NBA_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "NBA_EXPORTS_DIR": str(home / "exports"),
    }
    from nba_pipeline.instance import prepare_home

    prepare_home(home)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nba_pipeline.cli.main import run; run()",
            "backfill",
            "--start",
            "2025-10-01",
            "--end",
            "2025-11-09",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    server = DagsterDev(home, raw)
    try:
        server.wait_ready()
        yield server, home, raw
    finally:
        server.stop()


def _checks(server) -> dict[str, dict[str, dict]]:
    out = {}
    for node in server.graphql(CHECKS)["assetNodes"]:
        checks = node["assetChecksOrError"]
        assert checks["__typename"] == "AssetChecks", checks
        out["/".join(node["assetKey"]["path"])] = {c["name"]: c for c in checks["checks"]}
    return out


def test_every_check_reports_a_current_result_for_each_partition(real_dev):
    server, _, _ = real_dev
    checks = _checks(server)
    assert len(checks) == 23
    missing = []
    n = 0
    for asset, by_name in checks.items():
        for name, check in by_name.items():
            if name == "fresh":  # not partitioned: the next test's subject
                continue
            statuses = check["partitionStatuses"]
            assert statuses and statuses["__typename"] == "AssetCheckTimePartitionStatuses", (asset, name, statuses)
            status = {k: r["status"] for r in statuses["ranges"] for k in _keys_between(r["startKey"], r["endKey"])}
            for day in SHOWN:
                n += 1
                if status.get(day) not in ("SUCCEEDED", "FAILED"):
                    missing.append((asset, name, day, status.get(day)))
    assert n > 400 and not missing, missing[:20]


def test_an_asset_whose_newest_game_date_is_not_built_does_not_read_fresh(real_dev):
    server, home, raw = real_dev
    cursor = _freshness_tick(home, raw, None)
    fresh = {a: c["fresh"]["executionForLatestMaterialization"] for a, c in _checks(server).items()}
    for asset in BUILT_RESULTS:
        assert fresh[asset]["status"] == "SUCCEEDED", (asset, fresh[asset])
    # no model without last season's history (not backfilled here): the day's grades are empty
    # writes, and an empty write does not make a date fresh
    graded = fresh["nba_predictions/prediction_accuracy"]
    assert graded["status"] == "FAILED", graded
    assert graded["evaluation"]["description"].endswith(
        ": 2025-11-09, 2025-11-08, 2025-11-07, 2025-11-06, 2025-11-05, "
        "2025-11-04, 2025-11-03 materialized with 0 rows on a game date"
    ), graded
    # the next game day is announced by the league schedule; nothing has been built for it yet
    (raw / "schedule").mkdir()
    (raw / "schedule" / "2025-26.csv").write_text(
        "gameId,gameDateEst,gameDateTimeUTC,gameStatus,gameStatusText,homeTeam.teamTricode,awayTeam.teamTricode\n"
        f"0022500999,{NEXT_DAY},2025-11-11T00:30:00Z,1,7:30 pm ET,BOS,NYK\n"
    )
    _freshness_tick(home, raw, cursor)
    fresh = {a: c["fresh"]["executionForLatestMaterialization"] for a, c in _checks(server).items()}
    for asset in PREGAME:
        assert fresh[asset]["status"] == "FAILED", (asset, fresh[asset])
        assert f"{NEXT_DAY} never materialized" in fresh[asset]["evaluation"]["description"], fresh[asset]
    for asset in BUILT_RESULTS:  # no final game after 11-09: the results are as fresh as the data
        assert fresh[asset]["status"] == "SUCCEEDED", (asset, fresh[asset])


def _screenshot(server, name: str, path: str, clicks: list[str]) -> None:
    with browser_page() as page:
        page.goto(server.url + path, wait_until="networkidle")
        for click in clicks:
            page.locator(click).first.click()
            page.wait_for_load_state("networkidle")
        page.wait_for_timeout(2000)  # charts draw after the data arrives
        page.screenshot(path=str(DOCS / name))
    assert (DOCS / name).stat().st_size > 20_000, name


TAB, BUTTON = "button[role=tab] >> text={}", "button:not([role=tab]) >> text={}"


@pytest.mark.skipif(
    chromium() is None or sync_playwright() is None,
    reason="Debian chromium and the playwright package are needed (.ci/run installs both)",
)
def test_screenshot_of_a_checks_results_per_partition(real_dev):
    """For the README: line_players_in_context passes on most dates of 2025-26, fails (WARN) on four."""
    server, _, _ = real_dev
    server.graphql("mutation { setNuxSeen }")  # the UI's first-visit community dialog, as if dismissed
    DOCS.mkdir(exist_ok=True)
    _screenshot(
        server,
        "ui_check_partitions.png",
        "/assets/nba_analytics/upcoming_player_game_context?view=checks&checkDetail=line_players_in_context",
        [TAB.format("Partitions")],
    )


@pytest.mark.skipif(
    chromium() is None or sync_playwright() is None or faketime_library() is None,
    reason="Debian chromium and libfaketime, and the playwright package are needed (.ci/run installs them)",
)
def test_screenshot_of_row_counts_plotted_by_game_date(real_dev, tmp_path):
    """For the README: the asset overview's metadata plotted over partitions. The UI plots the
    definition's latest 120 partitions, which end today: with the data ending 2025-11-09 they are
    all empty, so this webserver (on the same instance) has its clock on 2025-11-10."""
    _, home, raw = real_dev
    clock = clock_env(dt.datetime(2025, 11, 10, 12, tzinfo=dt.UTC), faketime_library(), tmp_path / "shim")
    server = DagsterDev(home, raw, extra_env=clock)
    try:
        server.wait_ready()
        server.graphql("mutation { setNuxSeen }")
        DOCS.mkdir(exist_ok=True)
        _screenshot(
            server,
            "ui_partition_plots.png",
            "/assets/nba_raw/player_boxscores",
            [BUTTON.format("Plots"), BUTTON.format("Partitions")],
        )
    finally:
        server.stop()
