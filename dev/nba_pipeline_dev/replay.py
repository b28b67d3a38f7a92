"""Replay one real game day with the daemon running the pipeline by itself.

`ReplayWorld` is the outside world: a raw directory in the files source's layout holding the real
data (../shared/data/nba) as the feeds stood at each moment of the day. Before the day it holds
everything up to the night before, plus the league schedule listing the day's games as not yet
played; `morning_snapshot()` drops the day's odds snapshot; `games_final()` adds the games'
results. Files of earlier seasons are symbolic links; the day's season files are rewritten
(filtered copies, replaced atomically so a sensor never reads half a file).

`replay_game_day` runs the day. The daemon (`dagster-daemon run`), its run workers and the setup
backfill run under libfaketime with the clock set to the replayed day, advancing at real speed:
Dagster's own sensors, schedule and automation conditions then see that day as today. Hours
without events are skipped by stopping the daemon and starting it again at a later clock time.
The replay itself only changes files and the clock and reads the event log; every run of the
day is launched by the raw-data sensor, the morning schedule or the automation sensor, and the
replay fails if one was not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import nba_pipeline.environment as environment
from nba_pipeline.core.files import write_text_atomic
from nba_pipeline.core.history import season_label
from nba_pipeline.core.partitions import GAME_TIMEZONE
from nba_pipeline.raw import formats

ET = ZoneInfo(GAME_TIMEZONE)
FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)
_PROPS_FILE = re.compile(r"^raw_(\d{8})_(\d{6})\.csv$")
_MONTH_FILE = re.compile(r"^game_stats_(\d{4})-(\d{2})\.csv$")
_SEASON_FILE = re.compile(r"^(\d{4})-(\d{2})\.csv$")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def faketime_library() -> str | None:
    """libfaketime's preload library (Debian package `libfaketime`), or NBA_FAKETIME_LIB."""
    for path in (environment.faketime_library_setting() or "", *FAKETIME_LIBS):
        if path and Path(path).is_file():
            return path
    return None


# Only the wall clock is moved: a monotonic clock a year in the past goes negative, and timed waits
# (threading, gRPC) then hang. With the monotonic clock left alone, libfaketime 0.9.10 makes
# time.sleep fail with EINVAL (it shifts clock_nanosleep's absolute monotonic deadline by the wall
# clock's offset), so the processes of the replay get a time.sleep that waits on an Event instead.
_SLEEP_SHIM = """\
# written by nba_pipeline_dev.replay: time.sleep under libfaketime (see clock_env)
import os, threading, time
if os.environ.get("FAKETIME"):
    def _sleep(seconds):
        if seconds > 0:
            threading.Event().wait(seconds)
    time.sleep = _sleep
"""


def clock_env(world_time: dt.datetime, library: str, shim_dir: Path) -> dict[str, str]:
    """Environment that makes a process (and its children) see `world_time` now, then advance at
    real speed. An offset, not an absolute time: processes started later agree on the clock."""
    shim_dir.mkdir(parents=True, exist_ok=True)
    (shim_dir / "sitecustomize.py").write_text(_SLEEP_SHIM)
    offset = round(world_time.timestamp() - time.time())
    path = os.pathsep.join(p for p in (str(shim_dir), os.environ.get("PYTHONPATH", "")) if p)
    return {"LD_PRELOAD": library, "FAKETIME": f"{offset:+d}", "FAKETIME_DONT_FAKE_MONOTONIC": "1", "PYTHONPATH": path}


# ------------------------------------------------------------------------------------------------
# the world: the feeds as they stood at a moment of the day


def _csv_rows(path: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    """(header line, [(line text, parsed fields)]) of a feed file; lines kept verbatim."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    parsed = list(csv.reader(io.StringIO(text)))
    if len(parsed) != len(lines):  # a quoted newline would break the line/row pairing
        raise ValueError(f"{path}: multi-line CSV rows are not supported by the replay")
    return lines[0], list(zip(lines[1:], parsed[1:]))


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    dst.symlink_to(src.resolve())


@dataclass
class ReplayWorld:
    """The raw directory `out` as the feeds of `real` stood around game date `day`."""

    real: Path
    out: Path
    day: dt.date
    stage: str = "before"  # before -> morning -> final
    # read once by prepare(): the season's games (id -> date, home, away) and known tip-off times
    _games: dict[str, tuple[dt.date, str, str]] = field(default_factory=dict)
    _tips: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def season(self) -> str:
        return season_label(self.day)

    def prepare(self) -> None:
        """The world the night before `day`: every result and snapshot of earlier dates."""
        if not (self.real / "team_game_logs" / f"{self.season}.csv").is_file():
            raise FileNotFoundError(f"no team game logs of season {self.season} under {self.real}")
        self.out.mkdir(parents=True, exist_ok=True)
        _link(self.real / "reference", self.out / "reference")
        self._read_games()
        if self.day not in {d for d, _, _ in self._games.values()}:
            raise ValueError(f"{self.day} has no games in {self.real}: pick a game date of the data")
        self.stage = "before"
        self._write()

    def morning_snapshot(self) -> list[str]:
        """The day's odds snapshots land (taken before tip-off). Returns their file names."""
        self.stage = "morning"
        return self._write()["snapshots"]

    def games_final(self) -> int:
        """The day's games are final: results in the game logs and the box score feed, the league
        schedule says final. Returns the number of games."""
        self.stage = "final"
        self._write()
        return sum(1 for d, _, _ in self._games.values() if d == self.day)

    # --------------------------------------------------------------------------------------------
    def _read_games(self) -> None:
        _, rows = _csv_rows(self.real / "team_game_logs" / f"{self.season}.csv")
        self._games = {}
        for _, r in rows:
            gid, date, matchup = r[4], r[5], r[6]  # GAME_ID, GAME_DATE, MATCHUP
            team, sep, opp = re.match(r"^([A-Z]{3}) (vs\.|@) ([A-Z]{3})$", matchup).groups()
            home, away = (team, opp) if sep == "vs." else (opp, team)
            self._games.setdefault(gid, (dt.date.fromisoformat(date), home, away))
        self._tips = self._tipoffs()

    def _results_until(self) -> dt.date:
        # the last date whose results exist at this stage
        return self.day if self.stage == "final" else self.day - dt.timedelta(days=1)

    def _write(self) -> dict:
        until = self._results_until()
        # the day's odds (props snapshot, game lines) exist from its morning on
        released = self.day if self.stage in ("morning", "final") else self.day - dt.timedelta(days=1)
        this_season = self.season
        snapshots: list[str] = []
        for src in sorted(p for p in self.real.rglob("*") if p.is_file()):
            rel = src.relative_to(self.real)
            top = rel.parts[0]
            dst = self.out / rel
            if top in ("reference", "schedule") or src.name == "README.md":
                continue
            if top in ("team_game_logs", "player_game_logs") and rel.name == f"{this_season}.csv":
                date_col = 5 if top == "team_game_logs" else 3
                self._filter(src, dst, lambda r, c=date_col: self._parse_date(r[c]) <= until)
            elif top in ("team_game_logs", "player_game_logs"):
                if (m := _SEASON_FILE.match(rel.name)) and int(m.group(1)) < int(this_season[:4]):
                    _link(src, dst)
            elif top == "boxscores" and rel.name == f"games_{this_season}.csv":
                self._filter(src, dst, lambda r: dt.date.fromisoformat(r[0]) <= until)
            elif top == "boxscores" and (m := _MONTH_FILE.match(rel.name)):
                month = dt.date(int(m.group(1)), int(m.group(2)), 1)
                if month < dt.date(int(this_season[:4]), 8, 1):
                    _link(src, dst)
                elif month <= until:
                    header, _ = _csv_rows(src)
                    gid = header.strip().split(",").index("game_id")
                    later = {g for g, (d, _, _) in self._games.items() if d > until}
                    self._filter(src, dst, lambda r, c=gid, later=later: r[c] not in later)
            elif top == "odds" and (m := _PROPS_FILE.match(rel.name)):
                taken = dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
                if taken.astimezone(ET).date() <= released:
                    if taken.astimezone(ET).date() == self.day:
                        snapshots.append(rel.name)
                    _link(src, dst)
            elif top == "odds" and rel.parts[1] == "game_lines":
                header, _ = _csv_rows(src)  # one snapshot per game, before tip-off
                col = header.strip().split(",").index("commence_time")
                self._filter(src, dst, lambda r, c=col: _eastern(r[c]) <= released)
        self._write_league_schedule()
        return {"snapshots": snapshots}

    @staticmethod
    def _parse_date(text: str) -> dt.date:
        if "-" in text:
            return dt.date.fromisoformat(text)
        mon, rest = text.split(" ", 1)
        d, y = rest.split(", ")
        return dt.date(int(y), _MONTHS.index(mon.upper()) + 1, int(d))

    @staticmethod
    def _filter(src: Path, dst: Path, keep: Callable[[list[str]], bool]) -> None:
        header, rows = _csv_rows(src)
        write_text_atomic(dst, header + "".join(line for line, r in rows if r and keep(r)))

    def _write_league_schedule(self) -> None:
        """schedule/<season>.csv in the league schedule's format (formats.SCHEDULE): every game of
        the season in the data, final up to the last date with results, scheduled after, tip-off
        times from the odds snapshots where they list the game."""
        until = self._results_until()
        lines = [",".join(f.name for f in formats.SCHEDULE) + "\n"]
        for gid, (date, home, away) in sorted(self._games.items(), key=lambda kv: (kv[1][0], kv[0])):
            tip = self._tips.get((date.isoformat(), home, away), "")
            status, text = (3, "Final") if date <= until else (1, "Scheduled")
            lines.append(f"{gid},{date.isoformat()},{tip},{status},{text},{home},{away}\n")
        write_text_atomic(self.out / "schedule" / f"{self.season}.csv", "".join(lines))

    def _tipoffs(self) -> dict[tuple[str, str, str], str]:
        teams = {r[1]: r[2] for _, r in _csv_rows(self.real / "reference" / "teams.csv")[1]}  # full_name -> abbr
        tips: dict[tuple[str, str, str], str] = {}
        folder = self.real / "odds" / "player_props"
        for p in sorted(folder.iterdir()) if folder.is_dir() else []:
            if not _PROPS_FILE.match(p.name):
                continue
            header, rows = _csv_rows(p)
            cols = header.strip().split(",")
            g, t = cols.index("game"), cols.index("game_time")
            for _, r in rows:
                away, _, home = r[g].partition(" @ ")
                key = (_eastern(r[t]).isoformat(), teams.get(home, ""), teams.get(away, ""))
                tips.setdefault(key, r[t])
        return tips


def _eastern(utc_text: str) -> dt.date:
    return dt.datetime.fromisoformat(utc_text.replace("Z", "+00:00")).astimezone(ET).date()


# ------------------------------------------------------------------------------------------------
# the day


@dataclass
class Stage:
    name: str
    clock: dt.datetime  # world time when the daemon starts for this stage
    event: Callable[[], str]  # what happens in the world (returns a description)
    done: Callable[[object], bool]  # (instance) -> the stage's outcome is in the event log


@dataclass
class ReplayResult:
    runs: list[dict]
    stages: list[dict]

    @property
    def manual_runs(self) -> list[dict]:
        return [r for r in self.runs if r["launched_by"] == "manual"]


def _launched_by(tags: dict) -> str:
    if "dagster/schedule_name" in tags:
        return f"schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor {tags['dagster/sensor_name']}"
    return tags.get("nba_pipeline/launched_by", "manual")


class Daemon:
    """`dagster-daemon run` over the replay's DAGSTER_HOME, under the world clock."""

    def __init__(self, env: dict[str, str], log: Path, cwd: Path | None = None):
        self.env, self.log_path, self.cwd = env, log, cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = Path(sys.executable).parent / "dagster-daemon"
        self.log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [str(exe), "run", "-m", "nba_pipeline.definitions"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.cwd,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        self.proc = None

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-n:])


ACTIVE_RUN_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
AUTOMATION_SENSOR = "pipeline_automation"


def _settled(instance) -> bool:
    """No run active, and an automation tick that began after the last run ended has finished
    requesting nothing: automation has seen every materialization and wants no more. (Waiting a
    fixed sensor interval after the last run instead cost ~45 s per stage.) Run and tick times are
    both world-clock times: the daemon and its run workers share the clock's offset."""
    import dagster as dg

    active = instance.get_runs(
        filters=dg.RunsFilter(statuses=[getattr(dg.DagsterRunStatus, s) for s in ACTIVE_RUN_STATUSES])
    )
    if active:
        return False
    last_end = max((r.end_time for r in instance.get_run_records() if r.end_time), default=0.0)
    for state in instance.all_instigator_state():
        if state.instigator_name == AUTOMATION_SENSOR:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
            return any(
                t.timestamp > last_end
                and t.status.value in ("SKIPPED", "SUCCESS")
                and not t.run_ids
                and not t.run_requests
                for t in ticks
            )
    return False


def latest_materialization(instance, key: list[str], partition: str):
    import dagster as dg

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def replay_game_day(
    real: Path,
    root: Path,
    day: dt.date,
    timeout: float = 900,
    say: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> ReplayResult:
    """Replay `day` under `root` (raw/, dagster_home/, warehouse.duckdb, exports/)."""
    import dagster as dg

    from nba_pipeline.core.history import season_start
    from nba_pipeline.instance import prepare_home

    library = faketime_library()
    if library is None:
        raise FileNotFoundError(
            "libfaketime not found: install the Debian package 'libfaketime' (or set NBA_FAKETIME_LIB)"
        )
    root = root.resolve()
    raw, home, shim = root / "raw", prepare_home(root / "dagster_home"), root / "faketime_site"
    world = ReplayWorld(real, raw, day)
    world.prepare()
    base_env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_RAW_DIR": str(raw),
        "NBA_SOURCE": "files",
        "NBA_WAREHOUSE": "duckdb",
        "NBA_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "NBA_EXPORTS_DIR": str(root / "exports"),
        "NBA_AUTOMATION": "on",
        "PYTHONWARNINGS": "ignore",
    }
    next_day = day + dt.timedelta(days=1)
    at = lambda d, hh, mm: dt.datetime(d.year, d.month, d.day, hh, mm, tzinfo=ET)  # noqa: E731

    # the deployment as it stood before the day: history built by a backfill, like any history,
    # overnight (last night's results count as built only after midnight: completeness.py)
    setup_clock = at(day, 3, 0)
    # this season and the last: the model trains on up to 300 days, recent form crosses seasons
    first = season_start(day).replace(year=season_start(day).year - 1)
    base_env["NBA_FIRST_SEASON"] = season_label(first)  # the replay's partitions start there, whatever the caller's say
    say(f"[setup] world clock {setup_clock:%Y-%m-%d %H:%M %Z}: backfill {first} .. {day - dt.timedelta(days=1)}")
    t0 = time.time()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "nba-pipeline"),
            "backfill",
            "--start",
            first.isoformat(),
            "--end",
            (day - dt.timedelta(days=1)).isoformat(),
        ],
        env={**base_env, **clock_env(setup_clock, library, shim)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    say(f"[setup] done in {time.time() - t0:.0f} s")

    def have(key: list[str], partition: str, after: float, check: Callable[[dict], bool] = lambda md: True):
        def done(instance) -> bool:
            rec = latest_materialization(instance, key, partition)
            if rec is None or rec.timestamp < after:
                return False
            md = {k: getattr(v, "value", v) for k, v in rec.asset_materialization.metadata.items()}
            return check(md)

        return done

    morning = at(day, 10, 59)
    snapshot_clock = at(day, 12, 1)
    night = at(next_day, 1, 30)
    d, d1 = day.isoformat(), next_day.isoformat()

    def all_of(*conds):
        return lambda inst: all(c(inst) for c in conds)

    stages = [
        Stage(
            "morning: the daemon starts; 11:00 ET the morning schedule builds the day's slate",
            morning,
            lambda: "the league schedule lists the day's games (not yet played)",
            all_of(have(["nba_predictions", "player_prop_predictions"], d, morning.timestamp()), _schedule_ran(d)),
        ),
        Stage(
            "noon: the pre-tip-off odds snapshot lands",
            snapshot_clock,
            lambda: "odds snapshot " + ", ".join(world.morning_snapshot()),
            # the day's predictions priced from the snapshot (a day may have no pick worth a bet)
            all_of(
                have(
                    ["nba_predictions", "player_prop_predictions"],
                    d,
                    snapshot_clock.timestamp(),
                    lambda md: md.get("dagster/partition_row_count", 0) > 0,
                ),
                have(["nba_exports", "best_bets"], d, snapshot_clock.timestamp()),
            ),
        ),
        Stage(
            "night: the games are final",
            night,
            lambda: f"{world.games_final()} games final (game logs, box score feed, schedule)",
            all_of(
                have(
                    ["nba_predictions", "prediction_accuracy"],
                    d,
                    night.timestamp(),
                    lambda md: md.get("dagster/partition_row_count", 0) > 0,
                ),
                have(["nba_exports", "performance_summary"], d, night.timestamp()),
                have(["nba_predictions", "player_prop_predictions"], d1, night.timestamp()),
            ),
        ),
    ]
    log = root / "daemon.log"
    stage_reports = []
    previous_home = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)  # the embedded storage finds its files by it
    try:
        instance = dg.DagsterInstance.get()
    finally:
        if previous_home is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous_home
    with instance:
        setup_runs = {r.run_id for r in instance.get_runs()}
        for stage in stages:
            what = stage.event()
            env = {**base_env, **clock_env(stage.clock, library, shim)}
            say(f"[{stage.clock:%m-%d %H:%M} ET] {stage.name}: {what}")
            daemon = Daemon(env, log)
            daemon.start()
            t_stage = time.time()
            try:
                deadline = time.time() + timeout
                while not (stage.done(instance) and _settled(instance)):
                    if not daemon.alive():
                        raise RuntimeError(f"dagster-daemon exited:\n{daemon.tail()}")
                    if time.time() > deadline:
                        raise TimeoutError(f"stage {stage.name!r} not done in {timeout:.0f} s:\n{daemon.tail()}")
                    time.sleep(2)
            finally:
                daemon.stop()
            stage_reports.append({"stage": stage.name, "event": what, "seconds": round(time.time() - t_stage)})
            say(f"    settled after {time.time() - t_stage:.0f} s")
        runs = _run_table(instance, exclude=setup_runs)
    return ReplayResult(runs=runs, stages=stage_reports)


def _schedule_ran(partition: str):
    def done(instance) -> bool:
        import dagster as dg

        runs = instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/schedule_name": "morning_predictions", "dagster/partition": partition})
        )
        return any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    return done


def _run_table(instance, exclude: set[str]) -> list[dict]:
    from dagster import DagsterEventType

    rows = []
    for rec in reversed(instance.get_run_records()):
        run = rec.dagster_run
        tags = run.tags
        if run.run_id in exclude:
            continue
        part = tags.get("dagster/partition") or (
            f"{tags.get('dagster/asset_partition_range_start')}..{tags.get('dagster/asset_partition_range_end')}"
            if tags.get("dagster/asset_partition_range_start")
            else "-"
        )
        materialized = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
        rows.append(
            {
                "run_id": run.run_id[:8],
                "launched_by": _launched_by(tags),
                "partition": part,
                "assets": len({r.event_log_entry.dagster_event.asset_key for r in materialized}),
                "status": run.status.value,
                "start": rec.start_time,
                "end": rec.end_time,
            }
        )
    return rows


def format_runs(runs: list[dict]) -> str:
    out = [f"{'world clock (ET)':<17} {'run':<9} {'launched by':<34} {'partition':<23} {'assets built':>12} status"]
    for r in runs:
        when = dt.datetime.fromtimestamp(r["start"], ET).strftime("%m-%d %H:%M:%S") if r["start"] else "-"
        out.append(
            f"{when:<17} {r['run_id']:<9} {r['launched_by']:<34} {r['partition']:<23} {r['assets']:>12} {r['status']}"
        )
    return "\n".join(out)
