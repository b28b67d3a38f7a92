"""Check results of a range run (one step over many game dates) are each tied to their own
partition's materialization, so Dagster's UI counts them as that partition's current result, and
a failed one says in one line which partition failed and why (issue 16, part 1)."""

from __future__ import annotations

import dagster as dg

from nba_pipeline_tests.conftest import first_game_dates, make_defs

SCHEDULE = dg.AssetKey(["nba_raw", "schedule"])
TEAMS = dg.AssetKey(["nba_raw", "team_boxscores"])


def _run_range(defs, instance, keys, start, end):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(keys))
    return job.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": str(start), "dagster/asset_partition_range_end": str(end)},
        raise_on_error=False,
    )


def test_every_check_of_a_range_run_is_current_for_its_partition(league_copy, tmp_path, instance):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 4)
    defs = make_defs(raw, tmp_path / "w.duckdb")
    assert _run_range(
        defs, instance, [SCHEDULE, TEAMS, dg.AssetKey(["nba_raw", "player_boxscores"])], start, end
    ).success
    keys = [str(d) for d in (start, start.replace(day=start.day + 1), end)]
    checks = [
        k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key in (SCHEDULE, TEAMS) and k.name != "fresh"
    ]
    infos = instance.event_log_storage.get_asset_check_partition_info(checks, partition_keys=keys)
    assert len(infos) == len(checks) * len(keys)
    assert all(i.is_current for i in infos), [(i.check_key.name, i.partition_key) for i in infos if not i.is_current]
    # the target is the partition's own latest materialization
    for info in infos:
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=info.check_key.asset_key, asset_partitions=[info.partition_key]), limit=1
        ).records[0]
        assert info.latest_target_materialization_storage_id == latest.storage_id


def test_a_failed_check_names_its_partition_and_why_in_the_event_and_the_run_log(league_copy, tmp_path, instance):
    raw, summary = league_copy
    start, end = first_game_dates(summary, 3)
    # one team's points in the team logs off by one: the team box score disagrees with its players
    logs = next((raw / "team_game_logs").glob("*.csv"))
    lines = logs.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    col, date_col = header.index("PTS"), header.index("GAME_DATE")
    for i, line in enumerate(lines[1:], start=1):
        f = line.rstrip("\n").split(",")
        if str(start) in f[date_col] or start.strftime("%b %d, %Y").upper() in f[date_col].upper():
            f[col] = str(int(f[col]) + 1)
            lines[i] = ",".join(f) + "\n"
            break
    else:
        raise AssertionError(f"no team log row on {start} in {logs}")
    logs.write_text("".join(lines))
    defs = make_defs(raw, tmp_path / "w.duckdb")
    result = _run_range(defs, instance, [SCHEDULE, TEAMS, dg.AssetKey(["nba_raw", "player_boxscores"])], start, end)
    assert not result.success
    failed = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]
    assert failed and all(e.partition == str(start) for e in failed)
    assert all(e.description.startswith(f"{start}: ") for e in failed), [e.description for e in failed]
    assert any("points" in e.description for e in failed), [e.description for e in failed]
    # the run log shows a check event's metadata, not its description: the partition and the
    # reason lead it
    assert all(
        list(e.metadata)[:2] == ["partition", "failed_because"]
        and e.metadata["partition"].value == str(start)
        and e.description.endswith(e.metadata["failed_because"].value)
        for e in failed
    )
    logged = [
        line
        for r in instance.all_logs(result.run_id)
        for line in r.user_message.splitlines()
        if line.startswith("check nba_raw.team_boxscores")
    ]
    assert logged and all(f"(ERROR) failed for {start}: " in m for m in logged), logged
