"""`nba-pipeline`: demo, backfill, status, stale (and synth, to write a synthetic league).

Whatever goes wrong is one line on stderr, `nba-pipeline: error: ...`, naming the argument, setting
or path at fault: exit 2 for a bad argument or setting, 1 for a failure while running (a failed run,
an unwritable folder). `--traceback` shows the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import datetime as dt
import json
import os
import re
import signal
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import nba_pipeline.environment as environment


class CliError(Exception):
    """One line for the user; `code` 2: a bad argument or setting, 1: a failure while running."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def usage_error(message: str) -> CliError:
    return CliError(message, 2)


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def _os_error(exc: OSError) -> str:
    """`path: reason`, and which setting the path comes from."""
    path = exc.filename or ""
    reason = exc.strerror or _one_line(exc)
    text = f"{path}: {reason}" if path else reason
    setting = _setting_of(str(path)) if path else None
    return f"{text} ({setting})" if setting else text


def _setting_of(path: str) -> str | None:
    """The environment variable whose path holds `path` (the most specific one), e.g. 'DAGSTER_HOME=/x'."""
    target = Path(path).absolute()
    holders = [
        (len(Path(value).absolute().parts), f"{name}={value}")
        for name, value in environment.path_settings().items()
        if target == Path(value).absolute() or Path(value).absolute() in target.parents
    ]
    return max(holders)[1] if holders else None


def _positive_int(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {s!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _positive_float(s: str) -> float:
    try:
        x = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {s}")
    return x


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {s!r}") from None


def _season_year(s: str) -> int:
    """A season's start year, from the first NBA season to the current one (its partitions must exist)."""
    from nba_pipeline.core.seasons import FIRST_NBA_SEASON, current_season_year, today

    latest = current_season_year(today())
    try:
        year = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a year: {s!r}") from None
    if not FIRST_NBA_SEASON <= year <= latest:
        raise argparse.ArgumentTypeError(f"{year} is not the start year of a season begun by now ({FIRST_NBA_SEASON} .. {latest})")
    return year


def _quiet_warnings() -> None:
    # Dagster flags per-partition check specs as preview/beta on every load; say it once in docs
    import dagster as dg

    for w in (dg.BetaWarning, dg.PreviewWarning):
        warnings.filterwarnings("ignore", category=w)


def _home() -> Path:
    """DAGSTER_HOME, created with the embedded instance's dagster.yaml when it lacks one."""
    from nba_pipeline.cli.runner import dagster_home

    try:
        return dagster_home()
    except OSError as exc:
        raise _home_error(exc) from None


def _home_error(exc: OSError) -> CliError:
    home = environment.dagster_home()
    what = f"cannot create {exc.filename}" if exc.filename else "cannot use it"
    return CliError(
        f"DAGSTER_HOME={home} is not usable: {what} ({exc.strerror or _one_line(exc)}); "
        "the Dagster instance keeps its runs and event log there"
    )


@contextmanager
def _instance():
    """The instance under DAGSTER_HOME; a folder it cannot create or write is one line, not a traceback."""
    import dagster as dg

    try:
        instance = dg.DagsterInstance.get()
    except OSError as exc:
        raise _home_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - e.g. SQLite refusing a read-only database: still DAGSTER_HOME's
        cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
        raise CliError(f"DAGSTER_HOME={environment.dagster_home()}: the Dagster instance cannot be opened ({_one_line(cause)})") from None
    with instance:
        yield instance


def _definitions(**resources):
    """The code location, with resources from the environment unless given; a bad setting (NBA_WAREHOUSE,
    NBA_SOURCE, ...) is a usage error."""
    from nba_pipeline.definitions import build_definitions

    try:
        return build_definitions(**resources)
    except ValueError as exc:
        raise usage_error(_one_line(exc)) from None


_SELECTION_HELP = (
    "selection syntax: group:nba_raw (a layer; groups {groups}), key:nba_raw/* (keys by wildcard), "
    "key:nba_raw/schedule+ (an asset and its downstream), 'A or B', 'A and not B'"
)


def _selected_keys(defs, select: str | None) -> list | None:
    """The asset keys `--select` names (None: all). A selection that is malformed, names an asset
    that does not exist or matches nothing is a usage error naming it, with the syntax."""
    import dagster as dg

    if select is None:
        return None
    graph = defs.resolve_asset_graph()
    groups = ", ".join(sorted({graph.get(k).group_name for k in graph.materializable_asset_keys}))
    syntax = _SELECTION_HELP.format(groups=groups)
    try:
        keys = dg.AssetSelection.from_string(select).resolve(graph)
    except dg.DagsterInvalidSubsetError as exc:
        # Dagster names the unknown keys in its message only
        unknown = re.search(r"\[(.*?)\] were selected", str(exc))
        names = unknown.group(1).replace("'", "") if unknown else "an asset key"
        raise usage_error(
            f"--select {select!r}: no asset has the key {names} (a bare name is one exact key, and a "
            f"trailing * adds everything downstream of it); {syntax}"
        ) from None
    except dg.DagsterError as exc:  # the selection grammar's errors
        raise usage_error(f"--select {select!r} is not a valid selection ({_one_line(exc)}); {syntax}") from None
    if not keys:
        raise usage_error(f"--select {select!r} matches no asset; {syntax}")
    return sorted(keys, key=lambda k: k.to_user_string())


def _check_partition_dates(**dates: dt.date | None) -> None:
    """Every given date (argument name -> date) must be a game-date partition."""
    from zoneinfo import ZoneInfo

    from nba_pipeline.core.partitions import FIRST_SEASON, GAME_TIMEZONE, game_date_partitions

    keys = game_date_partitions.get_partition_keys()
    first, last = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
    today = " (today, US Eastern)" if last == dt.datetime.now(ZoneInfo(GAME_TIMEZONE)).date() else ""
    for name, day in dates.items():
        if day is None:
            continue
        option = "--" + name.replace("_", "-")
        if day > last:
            raise usage_error(f"{option} {day} is after the last game-date partition, {last}{today}")
        if day < first:
            raise usage_error(f"{option} {day} is before the first game-date partition, {first}: {FIRST_SEASON.describe()}")


def _check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and end < start:
        raise usage_error(f"--end {end} is before --start {start}")


def _check_raw_source(defs, keys) -> None:
    """The raw-data folder must exist before a run that reads it starts (not as a failed step)."""
    from nba_pipeline.raw.sources.files import FilesSource

    graph = defs.resolve_asset_graph()
    keys = keys if keys is not None else graph.materializable_asset_keys
    reads_source = any(
        "nba_source" in (graph.get(k).assets_def.required_resource_keys if graph.get(k).assets_def else ()) for k in keys
    )
    source = defs.resources.get("nba_source")
    if reads_source and isinstance(source, FilesSource):
        try:
            source.root  # noqa: B018 - the property checks the folder
        except FileNotFoundError as exc:
            raise usage_error(str(exc)) from None


def _print_summary(summary, out=None) -> None:
    out = out or sys.stdout  # looked up now: tests and callers may have replaced it
    status = "succeeded" if summary.success else "FAILED"
    print(
        f"\nrun {summary.run_id} {status}: {summary.materializations} partition materializations"
        f" over {summary.partitions} game dates, checks {summary.checks_passed} passed /"
        f" {len(summary.checks_failed)} failed; {summary.seconds:.1f} s, peak RSS {summary.peak_rss_mib:.0f} MiB",
        file=out,
    )
    if summary.checks_failed:
        by_check: dict[str, int] = {}
        for f in summary.checks_failed:
            name = f.split("@")[0] + " (" + f.rsplit("(", 1)[1]
            by_check[name] = by_check.get(name, 0) + 1
        print("failed checks (partitions):", file=out)
        for name, n in sorted(by_check.items()):
            print(f"  {name}: {n}", file=out)
    for f in summary.step_failures:
        print(f"step failure: {_first_paragraph(f)}", file=out)


def _first_paragraph(text: str) -> str:
    """A message's lines up to its first blank line, as one line (DuckDB appends the SQL it refused)."""
    return " ".join(line.strip() for line in text.strip().split("\n\n")[0].splitlines())


def _failure_line(summary) -> str | None:
    """One `nba-pipeline: error:` line for a run that failed outside its steps (a resource that
    could not start leaves no step failure), or without any recorded cause."""
    if summary.success or summary.step_failures:
        return None
    if summary.run_failure:
        return f"run {summary.run_id} failed before any step ran: {_first_paragraph(summary.run_failure)}"
    return f"run {summary.run_id} failed without a step failure or a failed check: see its event log in the Dagster UI"


def _report(summary) -> bool:
    """Print the run's summary (and its failure cause when it has no step failure); True if it succeeded."""
    _print_summary(summary)
    line = _failure_line(summary)
    if line:
        print(f"nba-pipeline: error: {line}", file=sys.stderr)
    return summary.success


def cmd_backfill(args) -> int:
    from nba_pipeline.cli.runner import run_backfill, unmaterialized_season_history

    # arguments and settings first: nothing is printed or run before they are known to be valid
    _check_partition_dates(start=args.start, end=args.end)
    _check_range(args.start, args.end)
    home = _home()  # before the resources: their default paths are under DAGSTER_HOME
    defs = _definitions()
    _check_raw_source(defs, _selected_keys(defs, args.select))
    with _instance() as instance:
        start = args.start
        earliest = None if args.exact else unmaterialized_season_history(defs, instance, start, args.select)
        if earliest is not None:
            print(
                f"starting at {earliest}, not {start}: the season's earlier dates {earliest} .. "
                f"{start - dt.timedelta(days=1)} were never materialized, and features need every earlier "
                f"date of their season (--exact runs only the given range, and fails on the missing history)",
                file=sys.stderr,
            )
            start = earliest
        print(f"backfill {start} .. {args.end} (DAGSTER_HOME={home})", file=sys.stderr)
        summary = run_backfill(defs, instance, start, args.end, args.select, progress=sys.stderr)
    return 0 if _report(summary) else 1


def cmd_status(args) -> int:
    from nba_pipeline.cli.status import asset_status, format_status

    _check_partition_dates(date=args.date)
    _home()
    defs = _definitions()
    with _instance() as instance:
        rows = asset_status(defs, instance, args.date.isoformat())
    if args.json:
        complete = sum(r["complete"] for r in rows)
        print(json.dumps({"game_date": args.date.isoformat(), "complete": complete, "assets": rows}, indent=2))
    else:
        print(format_status(rows, args.date.isoformat()))
    return 0


def _print_plan(plan) -> None:
    from nba_pipeline.cli.drift import summarize_plan

    if not plan.partitions:
        print("no stale partitions: every materialization is from the deployed code and the latest upstream data")
        return
    assets = summarize_plan(plan)
    stale = sum(r.stale for r in plan.partitions)
    print(f"{stale} stale partition(s), and {len(plan.partitions) - stale} more that read them;"
          f" --backfill rebuilds these {len(plan.partitions)} partition(s) of {len(assets)} asset(s)"
          f" in {len(plan.runs)} run(s):")
    for a in assets:
        print(f"  {a['asset']}: {a['partitions']} ({_shown(a['ranges'])})")
        for g in a["groups"]:
            print(f"      {g['why']}: {g['partitions']} ({_shown(g['ranges'])}): {g['reason']}")


def _shown(ranges: list[str], most: int = 6) -> str:
    return ", ".join(ranges[:most]) + (f" ... (+{len(ranges) - most} ranges)" if len(ranges) > most else "")


def cmd_stale(args) -> int:
    from nba_pipeline.cli.drift import rebuild_plan, summarize, summarize_plan
    from nba_pipeline.cli.runner import run_backfill

    _home()
    defs = _definitions()
    with _instance() as instance:
        plan = rebuild_plan(defs, instance)
        if args.json:
            print(json.dumps({
                "stale_partitions": sum(r.stale for r in plan.partitions),
                "rebuilt_partitions": len(plan.partitions),
                "groups": summarize(plan.stale),
                "rebuild": summarize_plan(plan),
                "runs": [{"start": r.start.isoformat(), "end": r.end.isoformat(), "assets": list(r.assets)} for r in plan.runs],
            }, indent=2))
        else:
            _print_plan(plan)
        if not args.backfill or not plan.partitions:
            return 0
        _check_raw_source(defs, _keys_of({a for r in plan.runs for a in r.assets}))
        for i, run in enumerate(plan.runs, 1):
            print(f"\nrebuild {i}/{len(plan.runs)}: {run.start} .. {run.end}, {len(run.assets)} asset(s)", file=sys.stderr)
            select = " or ".join(f'key:"{a}"' for a in run.assets)
            summary = run_backfill(defs, instance, run.start, run.end, select, progress=sys.stderr)
            if not _report(summary):
                if i < len(plan.runs):  # the later runs read what this one should have rebuilt
                    print(f"nba-pipeline: error: rebuild run {i} of {len(plan.runs)} failed; the later runs were not started",
                          file=sys.stderr)
                return 1
        return 0


def _keys_of(names) -> list:
    import dagster as dg

    return [dg.AssetKey.from_user_string(n) for n in sorted(names)]


def cmd_adopt_warehouse(args) -> int:
    import duckdb

    from nba_pipeline.instance.adopt import adopt_warehouse
    from nba_pipeline.definitions import warehouse_io_manager
    from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager

    _check_partition_dates(start=args.start, end=args.end)
    _check_range(args.start, args.end)
    home = _home()
    defs = _definitions()
    try:
        io_manager = warehouse_io_manager()
    except ValueError as exc:
        raise usage_error(_one_line(exc)) from None
    if isinstance(io_manager, NbaDuckDBIOManager) and not Path(io_manager.database).is_file():
        raise usage_error(f"no DuckDB warehouse to adopt at {io_manager.database} (NBA_DUCKDB_PATH)")
    with _instance() as instance:
        try:
            adoption = adopt_warehouse(defs, instance, io_manager, args.start, args.end, dry_run=args.dry_run)
        except duckdb.Error as exc:
            raise CliError(f"cannot read the DuckDB warehouse {io_manager.database}: {_one_line(exc)}") from None
    verb = "would record" if args.dry_run else "recorded"
    print(f"{adoption.source} -> event log of DAGSTER_HOME={home}, game dates {adoption.start} .. {adoption.end}")
    for t in adoption.tables:
        missing = f"; {len(t.missing_game_dates)} game date(s) without rows left to a run ({', '.join(t.missing_game_dates[:3])}" + (
            " ...)" if len(t.missing_game_dates) > 3 else ")") if t.missing_game_dates else ""
        print(f"  {t.asset}: {verb} {t.recorded_with_rows} with rows, {t.recorded_off_days} days without games; "
              f"{t.already_recorded} already recorded{missing}")
    print(f"{verb} {adoption.recorded} partition materialization(s)")
    if adoption.before_partitions:
        from nba_pipeline.core.partitions import FIRST_SEASON

        before = adoption.before_partitions
        print(f"not adopted: {len(before)} game date(s) with games before the first game-date partition, "
              f"{FIRST_SEASON.start} ({before[0]} .. {before[-1]}): {FIRST_SEASON.describe()}")
    return 0


def _make_folder(option: str, path: Path) -> Path:
    """Create the folder an option names (and check it takes files): a usable folder or one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot write there ({exc.strerror or _one_line(exc)})") from None
    return path


def cmd_synth(args) -> int:
    from nba_pipeline_dev.synthetic import generate_league

    out = _make_folder("--out", Path(args.out).resolve())
    summary = generate_league(out, seasons=args.seasons, first_season=args.first_season, seed=args.seed)
    print(json.dumps(summary, indent=2))
    return 0


def _last_game_day(instance, first: dt.date, last: dt.date) -> str:
    """The latest date of first .. last with final games (team box score rows), from the event log;
    `last` when there is none (the run failed before them)."""
    import dagster as dg

    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["nba_raw", "team_boxscores"]), asset_partitions=days), limit=len(days)
    ).records
    with_games = []
    for r in records:
        rows = r.event_log_entry.asset_materialization.metadata.get("dagster/partition_row_count")
        if rows is not None and rows.value > 0:
            with_games.append(r.partition_key)
    return max(with_games, default=last.isoformat())


def cmd_demo(args) -> int:
    from nba_pipeline.core.history import season_start
    from nba_pipeline.core.partitions import game_date_partitions
    from nba_pipeline.exports.directory import ExportsDirectory
    from nba_pipeline.raw.sources.files import FilesSource
    from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
    from nba_pipeline.cli.runner import run_backfill
    from nba_pipeline.cli.status import asset_status, format_status
    from nba_pipeline_dev.synthetic import generate_league

    keys = game_date_partitions.get_partition_keys()
    if not keys[0] <= f"{args.first_season}-10-01" <= keys[-1]:  # only when called in-process (`main`): see `run`
        raise usage_error(f"--first-season {args.first_season}: its season must start within the game-date "
                          f"partitions {keys[0]} .. {keys[-1]}")
    # the demo keeps to its own folder: synthetic data must never mix with a real warehouse
    root = _make_folder("--dir", Path(args.dir or tempfile.mkdtemp(prefix="nba-demo-")).resolve())
    raw, home, db, exports = root / "raw", root / "dagster_home", root / "warehouse.duckdb", root / "exports"
    print(f"1/3 generating a synthetic season into {raw}", file=sys.stderr)
    league = generate_league(raw, seasons=1, first_season=args.first_season, seed=args.seed)
    print(
        f"    {league['games']} games, {league['player_rows']} player rows, {league['prop_files']}"
        f" prop snapshots, {league['first_date']} .. {league['last_date']}",
        file=sys.stderr,
    )
    opening, last = _date(league["first_date"]), _date(league["last_date"])
    last = min(last, dt.date.fromisoformat(keys[-1]))  # a season still being played: up to today
    if args.days:
        last = min(last, opening + dt.timedelta(days=args.days - 1))
    # features need the season's history from its first partition (Oct 1), not just its games
    first = season_start(opening)
    environment.set_dagster_home(home)
    _home()
    defs = _definitions(
        nba_source=FilesSource(raw_dir=str(raw)), io_manager=NbaDuckDBIOManager(database=str(db)),
        exports=ExportsDirectory(directory=str(exports)),
    )
    print(f"2/3 materializing every asset for {first} .. {last} in one run (DuckDB {db})", file=sys.stderr)
    with _instance() as instance:
        summary = run_backfill(defs, instance, first, last, progress=sys.stderr)
        ok = _report(summary)
        # a date with games, and as much history before it as the run built
        shown = _last_game_day(instance, opening, last)
        print(f"\n3/3 status of game date {shown} (the run's last date with games), from the event log:\n")
        print(format_status(asset_status(defs, instance, shown), shown))
    print(
        "\nexplore it in the Dagster UI:\n"
        f"  DAGSTER_HOME={home} NBA_RAW_DIR={raw} NBA_FIRST_SEASON={league['seasons'][0]}"
        f" NBA_DUCKDB_PATH={db} NBA_EXPORTS_DIR={exports} dagster dev -m nba_pipeline.definitions"
    )
    return 0 if ok else 1


def cmd_replay_day(args) -> int:
    from nba_pipeline_dev.replay import format_runs, replay_game_day

    _check_partition_dates(day=args.day)
    if args.raw_dir:
        real, named = Path(args.raw_dir), f"--raw-dir {args.raw_dir}"
    elif raw_dir := environment.raw_dir():
        real, named = Path(raw_dir), f"NBA_RAW_DIR={raw_dir}"
    else:
        raise usage_error("replay-day needs the real data folder: --raw-dir or NBA_RAW_DIR")
    if not real.is_dir():
        raise usage_error(f"{named}: no such folder (the real data, laid out like ../shared/data/nba)")
    root = _make_folder("--dir", Path(args.dir or tempfile.mkdtemp(prefix="nba-replay-")).resolve())
    result = replay_game_day(real.resolve(), root, args.day, timeout=args.timeout)
    print(f"\nruns of the replayed day {args.day} (the night-before backfill left out):\n")
    print(format_runs(result.runs))
    manual = result.manual_runs
    failed = [r for r in result.runs if r["status"] != "SUCCESS"]
    print(f"\n{len(result.runs)} runs, {len(manual)} started by hand, {len(failed)} not successful")
    print(f"explore it: DAGSTER_HOME={root / 'dagster_home'} dagster-webserver -m nba_pipeline.definitions")
    return 0 if not manual and not failed else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nba-pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--traceback", action="store_true", help="on an unexpected error, show its traceback (not one line)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="generate a synthetic season and run the whole graph on it (DuckDB)")
    d.add_argument("--dir", help="folder for the demo's data, warehouse and instance (default: a new temp dir)")
    d.add_argument("--days", type=_positive_int, help="only the first N game dates of the season")
    d.add_argument("--first-season", type=_season_year, default=2024, help="start year of the synthetic season")
    d.add_argument("--seed", type=int, default=7)
    d.set_defaults(fn=cmd_demo)

    b = sub.add_parser("backfill", help="materialize selected assets for a date range in one run")
    b.add_argument("--start", type=_date, required=True)
    b.add_argument("--end", type=_date, required=True)
    b.add_argument("--select", help="Dagster asset selection, e.g. 'group:nba_raw' or 'key:nba_raw/schedule'")
    b.add_argument(
        "--exact", action="store_true",
        help="run only --start .. --end; by default the range starts earlier when the season's "
        "history before --start (from Oct 1) was never materialized",
    )
    b.set_defaults(fn=cmd_backfill)

    s = sub.add_parser("status", help="every asset's state for one game date, from the event log")
    s.add_argument("--date", type=_date, required=True)
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_status)

    st = sub.add_parser("stale", help="partitions built by older code or from since-changed upstream data")
    st.add_argument("--json", action="store_true")
    st.add_argument("--backfill", action="store_true", help="re-materialize them (and their downstream), one run per date range")
    st.set_defaults(fn=cmd_stale)

    r = sub.add_parser(
        "replay-day",
        help="replay one real game day with the daemon (sensors, schedule, automation) running everything",
    )
    r.add_argument("--day", type=_date, required=True, help="a game date of the data, e.g. 2025-11-05")
    r.add_argument("--raw-dir", help="the real data (default: NBA_RAW_DIR)")
    r.add_argument("--dir", help="folder for the replay's raw files, instance and warehouse (default: a new temp dir)")
    r.add_argument("--timeout", type=_positive_float, default=900, help="seconds each stage may take")
    r.set_defaults(fn=cmd_replay_day)

    a = sub.add_parser(
        "adopt-warehouse",
        help="record the partitions an existing warehouse holds as materializations (no recomputation)",
    )
    a.add_argument("--start", type=_date, help="first game date to adopt (default: the schedule's first)")
    a.add_argument("--end", type=_date, help="last game date to adopt (default: the schedule's last)")
    a.add_argument("--dry-run", action="store_true", help="report what would be recorded, record nothing")
    a.set_defaults(fn=cmd_adopt_warehouse)

    g = sub.add_parser("synth", help="write a synthetic league in the layout of ../shared/data/nba")
    g.add_argument("--out", required=True)
    g.add_argument("--seasons", type=_positive_int, default=1)
    g.add_argument("--first-season", type=int, default=2024)
    g.add_argument("--seed", type=int, default=7)
    g.set_defaults(fn=cmd_synth)
    return p


def _raise_interrupted(signum, frame) -> None:
    from nba_pipeline.cli.runner import Interrupted  # imported when needed: `synth` does without Dagster

    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_warnings()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupted) if main_thread else None  # default: die silently
    try:
        return args.fn(args)
    except CliError as exc:
        return _fail(str(exc), exc.code)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (runner.Interrupted): 128 + the signal
        print(f"nba-pipeline: {exc if str(exc) else 'stopped by SIGINT'}", file=sys.stderr)
        return getattr(exc, "exit_code", 128 + signal.SIGINT)
    except Exception as exc:  # noqa: BLE001 - whatever it is, one line (or --traceback)
        if args.traceback:
            raise
        return _fail(*_unexpected(exc))
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _fail(message: str, code: int) -> int:
    print(f"nba-pipeline: error: {message}", file=sys.stderr)
    return code


def _unexpected(exc: Exception) -> tuple[str, int]:
    """(line, exit code) for an error no command turned into a CliError."""
    if isinstance(exc, FileNotFoundError):  # an input path that is not there
        return _os_error(exc), 2
    if isinstance(exc, OSError):
        return _os_error(exc), 1
    if isinstance(exc, ValueError):  # this package's settings and arguments refused deeper down
        return _one_line(exc), 2
    return f"{type(exc).__name__}: {_one_line(exc)} (nba-pipeline --traceback ... shows where)", 1


def _own_first_season(args) -> None:
    """The demo and the replay build a world of their own in their own folder: their partitions
    start with its first season (the synthetic season; the replayed day's season and the one
    before), whatever NBA_FIRST_SEASON says about the real data. The partitions are fixed when the
    code location is first imported, so this must run before that (`run` does; `main` in a process
    that imported it already keeps its partitions)."""
    from nba_pipeline.core.seasons import current_season_year, label_of, season_start_year, today

    if args.command == "demo":
        environment.pin_first_season(label_of(args.first_season))
    elif args.command == "replay-day" and (year := season_start_year(args.day) - 1) <= current_season_year(today()):
        environment.pin_first_season(label_of(year))  # replay.py backfills from there


def run() -> None:
    """The console entry point: `main`, then exit without tearing the interpreter down.

    When a command returns, its results are on disk and its connections closed (the instance and
    the warehouse are closed by the command). Python's teardown of the ~2,000 modules and ~270k
    objects a run leaves took 0.6 s of a 7 s one-date backfill (measured), so after the exit
    handlers have run and the streams are flushed, the process just ends."""
    # Importing Dagster, pandas and the code location creates ~270k long-lived objects, and the
    # default collector (a young-generation pass every 700 allocations) keeps re-scanning them:
    # collecting less often cut ~0.4 s of a 5.9 s one-date backfill (measured). Reference counting
    # still frees frames at once; only cyclic garbage waits longer.
    gc.set_threshold(100_000, 50, 100)
    # ... and none of them will ever be garbage: import the code location up front and move what
    # exists now out of the collector's sight (~0.25 s more, measured)
    _quiet_warnings()
    args = build_parser().parse_args()  # a bad argument exits here, as in `main`
    _own_first_season(args)
    try:
        import nba_pipeline.definitions  # noqa: F401
        import nba_pipeline.cli.runner  # noqa: F401
    except Exception:  # noqa: BLE001 - a bad environment: the command reports it properly
        pass
    gc.freeze()
    code = main()
    atexit._run_exitfuncs()  # logging.shutdown and the like, as a normal exit runs them
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
