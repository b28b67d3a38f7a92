"""`nba-pipeline-dev`: demo, synth and replay-day, the commands that run the pipeline on a world of
their own (a synthetic league, a replayed real game day). Dev tooling: not in the runtime image.

Errors as `nba-pipeline`'s (whose helpers these commands use): one line on stderr,
`nba-pipeline-dev: error: ...`; exit 2 for a bad argument or setting, 1 for a failure while running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import nba_pipeline.environment as environment
from nba_pipeline.cli import main as cli
from nba_pipeline.cli.main import (
    CliError,
    _check_partition_dates,
    _date,
    _definitions,
    _home,
    _instance,
    _report,
    usage_error,
)


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


def _season_year(s: str) -> int:
    """A season's start year, from the first NBA season to the current one (its partitions must exist)."""
    from nba_pipeline.core.seasons import FIRST_NBA_SEASON, current_season_year, today

    latest = current_season_year(today())
    try:
        year = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a year: {s!r}") from None
    if not FIRST_NBA_SEASON <= year <= latest:
        raise argparse.ArgumentTypeError(
            f"{year} is not the start year of a season begun by now ({FIRST_NBA_SEASON} .. {latest})"
        )
    return year


def _make_folder(option: str, path: Path) -> Path:
    """Create the folder an option names (and check it takes files): a usable folder or one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot write there ({exc.strerror or cli._one_line(exc)})") from None
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
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["nba_raw", "team_boxscores"]), asset_partitions=days),
        limit=len(days),
    ).records
    with_games = []
    for r in records:
        rows = r.event_log_entry.asset_materialization.metadata.get("dagster/partition_row_count")
        if rows is not None and rows.value > 0:
            with_games.append(r.partition_key)
    return max(with_games, default=last.isoformat())


def cmd_demo(args) -> int:
    from nba_pipeline.cli.runner import run_backfill
    from nba_pipeline.cli.status import asset_status, format_status
    from nba_pipeline.core.history import season_start
    from nba_pipeline.core.partitions import game_date_partitions
    from nba_pipeline.exports.directory import ExportsDirectory
    from nba_pipeline.raw.sources.files import FilesSource
    from nba_pipeline.warehouse.duckdb import NbaDuckDBIOManager
    from nba_pipeline_dev.synthetic import generate_league

    keys = game_date_partitions.get_partition_keys()
    if not keys[0] <= f"{args.first_season}-10-01" <= keys[-1]:  # only when called in-process (`main`): see `run`
        raise usage_error(
            f"--first-season {args.first_season}: its season must start within the game-date "
            f"partitions {keys[0]} .. {keys[-1]}"
        )
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
        nba_source=FilesSource(raw_dir=str(raw)),
        io_manager=NbaDuckDBIOManager(database=str(db)),
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
    p = argparse.ArgumentParser(
        prog="nba-pipeline-dev", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--traceback", action="store_true", help="on an unexpected error, show its traceback (not one line)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="generate a synthetic season and run the whole graph on it (DuckDB)")
    d.add_argument("--dir", help="folder for the demo's data, warehouse and instance (default: a new temp dir)")
    d.add_argument("--days", type=_positive_int, help="only the first N game dates of the season")
    d.add_argument("--first-season", type=_season_year, default=2024, help="start year of the synthetic season")
    d.add_argument("--seed", type=int, default=7)
    d.set_defaults(fn=cmd_demo)

    g = sub.add_parser("synth", help="write a synthetic league in the layout of ../shared/data/nba")
    g.add_argument("--out", required=True)
    g.add_argument("--seasons", type=_positive_int, default=1)
    g.add_argument("--first-season", type=int, default=2024)
    g.add_argument("--seed", type=int, default=7)
    g.set_defaults(fn=cmd_synth)

    r = sub.add_parser(
        "replay-day",
        help="replay one real game day with the daemon (sensors, schedule, automation) running everything",
    )
    r.add_argument("--day", type=_date, required=True, help="a game date of the data, e.g. 2025-11-05")
    r.add_argument("--raw-dir", help="the real data (default: NBA_RAW_DIR)")
    r.add_argument("--dir", help="folder for the replay's raw files, instance and warehouse (default: a new temp dir)")
    r.add_argument("--timeout", type=_positive_float, default=900, help="seconds each stage may take")
    r.set_defaults(fn=cmd_replay_day)
    return p


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


def main(argv: list[str] | None = None) -> int:
    """A command in this process (tests): `nba-pipeline`'s `main` with these commands."""
    return cli.main(argv, build_parser())


def run() -> None:
    """The console entry point (`nba-pipeline-dev`): `nba-pipeline`'s, with these commands."""
    cli.run(build_parser(), before_load=_own_first_season)


if __name__ == "__main__":
    run()
