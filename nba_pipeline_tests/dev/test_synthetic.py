"""Tests for the synthetic league generator (no Dagster needed).

One season is generated once per module and shared; determinism and multi-season runs generate
their own copies. Real-feed comparisons skip when ../shared/data/nba is absent.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nba_pipeline.raw.tables import PROP_LINE_RANGES
from nba_pipeline_dev.synthetic import SPECIAL_PLAYERS, generate_league

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nba"
SEASON = "2024-25"
STAT_COLS = ["PTS", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV", "PF"]


@pytest.fixture(scope="module")
def league(tmp_path_factory):
    out = tmp_path_factory.mktemp("league")
    summary = generate_league(out)
    return out, summary


@pytest.fixture(scope="module")
def props(league) -> pd.DataFrame:
    out, _ = league
    files = sorted((out / "odds" / "player_props").glob("raw_*_170000.csv"))
    return pd.concat([pd.read_csv(f).assign(file_date=f.name[4:12]) for f in files], ignore_index=True)


def _team_logs(out: Path, season: str = SEASON) -> pd.DataFrame:
    return pd.read_csv(out / "team_game_logs" / f"{season}.csv", dtype={"GAME_ID": str})


def _player_logs(out: Path, season: str = SEASON) -> pd.DataFrame:
    return pd.read_csv(out / "player_game_logs" / f"{season}.csv", dtype={"Game_ID": str})


def _box(out: Path) -> pd.DataFrame:
    # newest month first, so rows follow the order of boxscores/games_<season>.csv
    files = sorted((out / "boxscores").glob("game_stats_*.csv"), reverse=True)
    return pd.concat([pd.read_csv(f, dtype={"game_id": str, "stats.minutes": str}) for f in files], ignore_index=True)


def _header(path: Path) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.readline().rstrip("\n")


def _seconds(minutes: pd.Series) -> pd.Series:
    mm = minutes.str.split(":", expand=True).astype(int)
    return mm[0] * 60 + mm[1]


def test_summary(league):
    out, summary = league
    assert summary["seasons"] == [SEASON]
    assert summary["games"] == 1230
    assert summary["prop_files"] == len(list((out / "odds" / "player_props").glob("raw_*_170000.csv")))
    assert summary["player_rows"] == len(_player_logs(out))
    assert summary["first_date"].startswith("2024-10-2") and summary["last_date"].startswith("2025-04-1")
    assert summary["out_dir"] == str(out)


def test_deterministic(league, tmp_path):
    out, _ = league
    generate_league(tmp_path)
    a = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    b = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert a == b
    for rel in a:
        assert (out / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real NBA data not found at {REAL}")
def test_headers_match_real_feeds(league):
    out, _ = league
    pairs = {
        "team_game_logs/2024-25.csv": "team_game_logs/2024-25.csv",
        "player_game_logs/2024-25.csv": "player_game_logs/2024-25.csv",
        "boxscores/game_stats_2025-01.csv": "boxscores/game_stats_2025-01.csv",
        "boxscores/games_2025-26.csv": "boxscores/games_2024-25.csv",
        "odds/game_lines/theodds_lines_2024-25.csv": "odds/game_lines/theodds_lines_2024-25.csv",
        "odds/player_props/raw_20251022_170000.csv": "odds/player_props/raw_20241023_170000.csv",
        "reference/players.csv": "reference/players.csv",
        "reference/teams.csv": "reference/teams.csv",
    }
    for real, ours in pairs.items():
        assert _header(out / ours) == _header(REAL / real), ours
    # the embedded team table is the public list, byte for byte
    assert (out / "reference/teams.csv").read_bytes() == (REAL / "reference/teams.csv").read_bytes()


def test_value_formats(league):
    out, _ = league
    with open(out / "player_game_logs" / f"{SEASON}.csv", encoding="utf-8") as fh:
        row = next(iter(csv.reader(fh.readlines()[1:2])))
    assert re.fullmatch(r"[A-Z]{3} \d{2}, \d{4}", row[3])
    assert '"' in (out / "player_game_logs" / f"{SEASON}.csv").read_text(encoding="utf-8").splitlines()[1]
    t = _team_logs(out)
    assert t.GAME_ID.str.fullmatch(r"00[12]24\d{5}").all()
    assert t.GAME_DATE.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(t.SEASON_ID) == {22024, 12024}
    raw = (out / "team_game_logs" / f"{SEASON}.csv").read_text(encoding="utf-8").splitlines()[1]
    assert re.search(r",-?\d+\.0$", raw)  # PLUS_MINUS printed as a float
    p = _player_logs(out)
    assert (p.FG3_PCT.isna() == (p.FG3A == 0)).all() and (p.FT_PCT.isna() == (p.FTA == 0)).all()
    assert (p.FG3A == 0).any()
    box = _box(out)
    played = box["stats.minutes"].notna()
    assert box.loc[played, "stats.minutes"].str.fullmatch(r"\d{1,2}:\d{2}").all()
    assert box.game_id.str.fullmatch(r"00224\d{5}").all()
    assert not box["stats.fieldGoalsPercentage"].isna().any()  # 0.0, not empty, in this feed


def test_team_totals_equal_player_sums(league):
    out, _ = league
    t = _team_logs(out)
    t = t[t.SEASON_ID == 22024]
    p = _player_logs(out)
    p["TEAM"] = p.MATCHUP.str[:3]
    sums = p.groupby(["Game_ID", "TEAM"])[STAT_COLS + ["MIN", "PLUS_MINUS"]].sum()
    tt = t.set_index(["GAME_ID", "TEAM_ABBREVIATION"]).loc[sums.index]
    for c in STAT_COLS + ["MIN"]:
        assert (sums[c].to_numpy() == tt[c].to_numpy()).all(), c
    assert (sums.PLUS_MINUS.to_numpy() == 5 * tt.PLUS_MINUS.to_numpy()).all()
    # consistency inside rows
    for df in (p, t):
        assert (df.PTS == 2 * df.FGM + df.FG3M + df.FTM).all()
        assert (df.REB == df.OREB + df.DREB).all()
        assert ((df.FGM <= df.FGA) & (df.FG3M <= df.FG3A) & (df.FG3M <= df.FGM) & (df.FTM <= df.FTA)).all()
        assert ((df.FG3A <= df.FGA) & (df.PF <= (6 if df is p else 99))).all()
    # one winner per game, margin = point differential
    g = t.groupby("GAME_ID")
    assert (g.size() == 2).all()
    assert (g.PTS.nunique() == 2).all()
    assert (g.PLUS_MINUS.sum() == 0).all()
    winners = t[t.WL == "W"].set_index("GAME_ID").PTS
    losers = t[t.WL == "L"].set_index("GAME_ID").PTS
    assert (winners > losers.loc[winners.index]).all()
    assert t.PTS.between(60, 190).all() and 105 < t.PTS.mean() < 125
    assert 22 < p.groupby("Player_ID").PTS.mean().max() < 40


def test_minutes_add_up(league):
    out, _ = league
    box = _box(out).drop_duplicates()
    played = box[box["stats.minutes"].notna()].copy()
    played["sec"] = _seconds(played["stats.minutes"])
    team_sec = played.groupby(["game_id", "team"]).sec.sum()
    assert ((team_sec - 14400) % 1500 == 0).all() and (team_sec >= 14400).all()
    assert (team_sec == 14400).mean() > 0.9  # a few % go to overtime
    per_team = played.groupby(["game_id", "team"]).size()
    assert per_team.between(9, 13).all()
    ot = (team_sec.groupby("game_id").first() - 14400) // 1500
    assert (played.sec <= 2880 + 300 * ot.loc[played.game_id].to_numpy()).all()
    # starters (first five rows of a team's block) play starter minutes
    starters = box.groupby(["game_id", "team"], sort=False).head(5)
    assert starters["stats.minutes"].notna().all()
    assert 27 * 60 < _seconds(starters["stats.minutes"]).mean() < 36 * 60
    # player log minutes are the mm:ss rounded
    p = _player_logs(out)
    m = played.merge(p, left_on=["game_id", "player"], right_on=["Game_ID", "Player_ID"], how="outer", indicator=True)
    assert (m._merge == "both").all()
    assert (np.abs(m.sec / 60 - m.MIN) <= 0.5).all()
    box_cols = [
        "stats.points",
        "stats.assists",
        "stats.reboundsTotal",
        "stats.fieldGoalsAttempted",
        "stats.turnovers",
        "stats.plusMinusPoints",
    ]
    for b, c in zip(box_cols, ["PTS", "AST", "REB", "FGA", "TOV", "PLUS_MINUS"]):
        assert (m[b] == m[c]).all(), c


def test_schedule(league):
    out, _ = league
    t = _team_logs(out)
    reg = t[t.SEASON_ID == 22024]
    assert reg.GAME_ID.nunique() == 1230
    assert (reg.groupby("TEAM_ID").size() == 82).all()
    assert (reg[reg.MATCHUP.str.contains(" vs. ")].groupby("TEAM_ID").size() == 41).all()
    assert (t.groupby(["TEAM_ID", "GAME_DATE"]).size() == 1).all()
    days = pd.to_datetime(reg.GAME_DATE.drop_duplicates()).sort_values()
    assert 150 <= len(days) <= 170 and days.diff().dt.days.max() >= 3  # All-Star break
    assert days.iloc[0].month == 10 and days.iloc[-1].month == 4
    # rows newest first, like the real feed
    assert t.GAME_DATE.is_monotonic_decreasing
    pre = t[t.SEASON_ID == 12024]
    assert 40 <= pre.GAME_ID.nunique() <= 90
    assert pre.GAME_DATE.max() < reg.GAME_DATE.min()
    assert (pd.to_datetime(reg.GAME_DATE.min()) - pd.to_datetime(pre.GAME_DATE.min())).days <= 21
    # no player rows for preseason games, anywhere
    assert not _player_logs(out).Game_ID.isin(pre.GAME_ID).any()
    assert not _box(out).game_id.isin(pre.GAME_ID).any()


def test_boxscore_rows_twice_and_dnp(league):
    out, _ = league
    box = _box(out)
    counts = box.groupby(list(box.columns), dropna=False).size()
    assert (counts == 2).all()
    # each game's rows form a block that appears twice (adjacent copies merge into one run)
    runs = (box.game_id != box.game_id.shift()).cumsum()
    run_len = box.groupby(runs).size()
    run_game = box.groupby(runs).game_id.first()
    size = box.groupby("game_id").size() // 2
    assert ((run_len == size.loc[run_game].to_numpy()) | (run_len == 2 * size.loc[run_game].to_numpy())).all()
    dnp = box[box["stats.minutes"].isna()]
    assert len(dnp) > 0
    stat_cols = [c for c in box.columns if c.startswith("stats.") and c != "stats.minutes"]
    assert (dnp[stat_cols] == 0).all().all()
    games = pd.read_csv(out / "boxscores" / f"games_{SEASON}.csv", dtype={"GAME_ID": str})
    assert list(games.columns) == ["GAME_DATE", "GAME_ID", "season"]
    assert (games.groupby("GAME_ID").size() == 2).all() and games.GAME_ID.nunique() == 1230
    assert set(games.season) == {SEASON}
    # games file follows the box score block order
    assert games.GAME_ID.tolist() == [g for g, n in zip(run_game, run_len) for _ in range(n // size[g])]


def test_odds_times_and_dates(league, props):
    out, _ = league
    assert props.game_time.str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z").all()
    events = props.drop_duplicates(["event_id", "game", "game_time", "file_date"])
    assert events.event_id.is_unique  # one game, one time, one snapshot file
    tip = pd.to_datetime(events.game_time, utc=True)
    eastern = tip.dt.tz_convert("America/New_York")
    assert (eastern.dt.strftime("%Y%m%d") == events.file_date).all()
    hm = eastern.dt.hour * 60 + eastern.dt.minute
    assert hm.between(19 * 60, 22 * 60 + 30).all()
    assert (tip.dt.strftime("%Y%m%d") != events.file_date).mean() > 0.3  # many tips after midnight UTC
    snap = pd.to_datetime(events.file_date + "17:00", format="%Y%m%d%H:%M", utc=True)
    assert (snap < tip).all()
    # the Eastern date is the game's date in the team logs
    lines = pd.read_csv(out / "odds" / "game_lines" / f"theodds_lines_{SEASON}.csv")
    assert len(lines) == 1230 and set(props.event_id) <= set(lines.event_id)
    assert lines.event_id.str.fullmatch(r"[0-9a-f]{32}").all()
    commence = pd.to_datetime(lines.commence_time)
    assert (commence.dt.strftime("%Y-%m-%d") == lines.line_date).all()
    assert (pd.to_datetime(lines.snapshot_timestamp) < commence).all()
    assert set(lines.season) == {"2024-2025"}
    t = _team_logs(out)
    t = t[(t.SEASON_ID == 22024) & t.MATCHUP.str.contains(" vs. ")]
    by_home_date = set(zip(t.TEAM_NAME, t.GAME_DATE))
    et_date = commence.dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    assert all(k in by_home_date for k in zip(lines.home_team, et_date))
    # game = "Away @ Home" full names, consistent with the game lines
    ev = lines.set_index("event_id")
    g = events
    assert (
        g.game == ev.loc[g.event_id, "away_team"].to_numpy() + " @ " + ev.loc[g.event_id, "home_team"].to_numpy()
    ).all()


def _norm(name: str) -> str:
    x = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    x = x.replace(".", "").replace("'", "").replace("-", " ")
    x = re.sub(r" (jr|sr|ii|iii|iv)$", "", x)
    return " ".join(x.split())


def test_odds_lines_and_names(league, props):
    out, _ = league
    assert {"player_points", "player_rebounds", "player_assists"} <= set(props.market)
    assert set(props.bookmaker) <= {
        "draftkings",
        "fanduel",
        "betmgm",
        "williamhill_us",
        "betrivers",
        "fanatics",
        "betonlineag",
        "bovada",
    }
    priced = props[props.line.notna()]
    assert ((priced.line * 2) % 2 == 1).all()  # x.5 lines
    for c in ("over_odds", "under_odds"):
        assert (priced[c].abs() >= 100).all()
    pts = props[props.market == "player_points"]
    assert (pts.groupby(["event_id", "player"]).bookmaker.nunique() > 1).mean() > 0.9
    # names: mostly exact, all but the nickname aliases after normalisation
    ref = pd.read_csv(out / "reference" / "players.csv")
    names = pd.Series(pts.player.unique())
    exact = names.isin(ref.full_name)
    assert 0.9 < exact.mean() < 1.0
    ref_norm = set(ref.full_name.map(_norm))
    unmatched = set(names[~names.map(_norm).isin(ref_norm)])
    assert unmatched <= {"Herb Rowan", "Nic Brandt"}
    # lines follow form: near the player's season average, and most players with a line play
    full_to_id = dict(zip(ref.full_name.map(_norm), ref.id))
    p = _player_logs(out)
    p["date"] = pd.to_datetime(p.GAME_DATE, format="%b %d, %Y").dt.strftime("%Y%m%d")
    dk = pts[pts.bookmaker == "draftkings"].assign(pid=lambda d: d.player.map(_norm).map(full_to_id))
    dk = dk[dk.pid.notna()].astype({"pid": "int64"})
    m = dk.merge(p, left_on=["pid", "file_date"], right_on=["Player_ID", "date"], how="left")
    played = m.PTS.notna()
    assert 0.85 < played.mean() < 0.995
    avg = p.groupby("Player_ID").PTS.mean()
    assert (dk.line - avg.loc[dk.pid].to_numpy()).abs().median() < 3
    assert np.corrcoef(m.line[played], m.PTS[played])[0, 1] > 0.4


def test_prop_markets_are_the_priced_ones_with_lines_in_their_ranges(props):
    """The raw layer stores the five priced markets (lines outside a market's range are dropped as
    a feed error) and skips and counts the others: every synthetic line must be a storable quote."""
    assert set(PROP_LINE_RANGES) <= set(props.market)
    assert set(props.market) - set(PROP_LINE_RANGES) == {"player_double_double"}  # skipped, counted
    for market, (low, high) in PROP_LINE_RANGES.items():
        lines = props.loc[props.market == market, "line"]
        assert lines.notna().all() and lines.between(low, high).all(), (market, lines.min(), lines.max())


def test_players_reference(league):
    out, _ = league
    ref = pd.read_csv(out / "reference" / "players.csv", keep_default_na=False)
    assert list(ref.columns) == ["id", "full_name", "first_name", "last_name", "is_active"]
    assert ref.id.is_unique and (ref.id >= 9_000_000).all()
    assert set(ref.is_active.astype(str)) == {"True", "False"}
    assert (ref.is_active.astype(str) == "False").sum() >= 20
    assert ref.full_name.str.contains("[^\x00-\x7f]").any()
    assert ref.full_name.str.contains(r" (?:Jr\.|III)$").any() and ref.full_name.str.contains("-").any()
    active = set(ref.id[ref.is_active.astype(str) == "True"])
    specials = {s[0] for s in SPECIAL_PLAYERS}
    assert specials <= set(ref.full_name[ref.id.isin(active)])
    p = _player_logs(out)
    assert set(p.Player_ID) <= active
    rosters = p.groupby(p.MATCHUP.str[:3]).Player_ID.nunique()
    assert rosters.between(12, 15).all()


def test_multi_season(tmp_path):
    summary = generate_league(tmp_path, seasons=2, first_season=2030, seed=11)
    assert summary["seasons"] == ["2030-31", "2031-32"]
    assert summary["games"] == 2460
    a, b = _team_logs(tmp_path, "2030-31"), _team_logs(tmp_path, "2031-32")
    assert a.GAME_ID.str[:5].isin(["00230", "00130"]).all() and b.GAME_ID.str[:5].isin(["00231", "00131"]).all()
    assert not set(a.GAME_ID) & set(b.GAME_ID)
    assert set(a.SEASON_ID) == {22030, 12030} and set(b.SEASON_ID) == {22031, 12031}
    pa, pb = _player_logs(tmp_path, "2030-31"), _player_logs(tmp_path, "2031-32")
    ref = pd.read_csv(tmp_path / "reference" / "players.csv")
    assert set(pa.Player_ID) | set(pb.Player_ID) <= set(ref.id)
    overlap = len(set(pa.Player_ID) & set(pb.Player_ID)) / pa.Player_ID.nunique()
    assert 0.6 < overlap < 0.98  # rosters persist with some turnover
    for s in ("2030-31", "2031-32"):
        assert (tmp_path / "boxscores" / f"games_{s}.csv").exists()
        assert (tmp_path / "odds" / "game_lines" / f"theodds_lines_{s}.csv").exists()
    assert summary["prop_files"] == len(list((tmp_path / "odds" / "player_props").glob("raw_*.csv")))
    assert summary["player_rows"] == len(pa) + len(pb)
