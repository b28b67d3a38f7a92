"""Deterministic synthetic NBA league written in the exact layout of the real feeds.

``generate_league(out_dir, seasons, first_season, seed)`` writes, for each season ``YYYY-YY``::

    reference/teams.csv                      the 30 real teams (public facts, embedded below)
    reference/players.csv                    synthetic players (ids >= 9_000_000), incl. inactive ones
    team_game_logs/<season>.csv              NBA.com leaguegamelog (team): preseason (1xxxx) + regular (2xxxx)
    player_game_logs/<season>.csv            NBA.com leaguegamelog (player): regular season, players who played
    boxscores/game_stats_<YYYY-MM>.csv       box score v3 flattened: mm:ss minutes, DNP rows, every block twice
    boxscores/games_<season>.csv             GAME_DATE,GAME_ID,season: each game twice, in box score block order
    odds/player_props/raw_YYYYMMDD_170000.csv  one 17:00 UTC props snapshot per game day (Eastern date)
    odds/game_lines/theodds_lines_<season>.csv consensus full-game / first-half lines

Quirks copied from the real data on purpose (a pipeline must cope with them):

* team rows are sorted by date descending, shuffled within a date; player rows by date then id;
* team ``MIN`` is the sum of the players' whole minutes (so 239/241/242 happen in regulation, as in
  the real feed); box score seconds add up to exactly (240 + 25 * OT) * 60 per team;
* a player's ``MIN`` is mm:ss rounded, and exactly ``:30`` goes either way (hidden tenths);
* percentages are rounded half-up to 3 decimals; empty in the player logs when there are no
  attempts, ``0.0`` in the box score feed;
* tip-offs are 7 pm - 10:30 pm US Eastern, so ``game_time``/``commence_time`` are often the next
  UTC day; file names and ``GAME_DATE`` use the Eastern date, ``line_date`` the UTC date;
* odds player names are mostly the reference ``full_name`` but some are written like real books
  write them (accents stripped, ``Jr``/``III`` dropped, nicknames) -- see ``SPECIAL_PLAYERS``;
* one preseason game per season is against a non-NBA club (team id not in teams.csv);
* some prop lines belong to late scratches (no box score row), some days cover part of the slate,
  double-double markets have no line/odds, bovada lists an alternate-line ladder for points.

Nothing here reads the real data at run time; the same arguments give byte-identical files.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from nba_pipeline.raw.reference import TEAMS

TEAM_IDS = np.array([t[0] for t in TEAMS], dtype=np.int64)
TEAM_ABBR = np.array([t[2] for t in TEAMS], dtype=object)
TEAM_NAME = np.array([t[1] for t in TEAMS], dtype=object)
_EAST = {"ATL", "BOS", "CLE", "CHI", "MIA", "MIL", "BKN", "NYK", "ORL", "IND", "PHI", "TOR", "WAS", "DET", "CHA"}
# home time zone decides the Eastern tip-off time (0 ET, 1 CT, 2 MT, 3 PT)
_ZONE = {
    "NOP": 1,
    "CHI": 1,
    "DAL": 1,
    "HOU": 1,
    "MEM": 1,
    "MIL": 1,
    "MIN": 1,
    "OKC": 1,
    "SAS": 1,
    "DEN": 2,
    "UTA": 2,
    "PHX": 2,
    "GSW": 3,
    "LAC": 3,
    "LAL": 3,
    "POR": 3,
    "SAC": 3,
}
_TIPS_ET = (  # minutes after midnight, US Eastern; all within 19:00 .. 22:30
    (1140, 1140, 1150, 1170, 1170, 1180),
    (1200, 1200, 1210, 1230),
    (1260, 1260, 1270, 1290),
    (1320, 1320, 1330, 1350),
)
# preseason visitors that are not NBA teams (ids as NBA.com uses them)
_CLUBS = ((15020, "NZB", "New Zealand Breakers"), (15025, "ULM", "Ratiopharm Ulm"))

TEAM_LOG_COLUMNS = [
    "SEASON_ID",
    "TEAM_ID",
    "TEAM_ABBREVIATION",
    "TEAM_NAME",
    "GAME_ID",
    "GAME_DATE",
    "MATCHUP",
    "WL",
    "MIN",
    "PTS",
    "FGM",
    "FGA",
    "FG_PCT",
    "FG3M",
    "FG3A",
    "FG3_PCT",
    "FTM",
    "FTA",
    "FT_PCT",
    "OREB",
    "DREB",
    "REB",
    "AST",
    "STL",
    "BLK",
    "TOV",
    "PF",
    "PLUS_MINUS",
]
PLAYER_LOG_COLUMNS = [
    "SEASON_ID",
    "Player_ID",
    "Game_ID",
    "GAME_DATE",
    "MATCHUP",
    "WL",
    "MIN",
    "FGM",
    "FGA",
    "FG_PCT",
    "FG3M",
    "FG3A",
    "FG3_PCT",
    "FTM",
    "FTA",
    "FT_PCT",
    "OREB",
    "DREB",
    "REB",
    "AST",
    "STL",
    "BLK",
    "TOV",
    "PF",
    "PTS",
    "PLUS_MINUS",
    "VIDEO_AVAILABLE",
]
BOX_COLUMNS = [
    "team",
    "player",
    "stats.minutes",
    "stats.fieldGoalsMade",
    "stats.fieldGoalsAttempted",
    "stats.fieldGoalsPercentage",
    "stats.threePointersMade",
    "stats.threePointersAttempted",
    "stats.threePointersPercentage",
    "stats.freeThrowsMade",
    "stats.freeThrowsAttempted",
    "stats.freeThrowsPercentage",
    "stats.reboundsOffensive",
    "stats.reboundsDefensive",
    "stats.reboundsTotal",
    "stats.assists",
    "stats.steals",
    "stats.blocks",
    "stats.turnovers",
    "stats.foulsPersonal",
    "stats.points",
    "stats.plusMinusPoints",
    "game_id",
]
PROPS_COLUMNS = ["event_id", "player", "market", "line", "bookmaker", "game", "game_time", "over_odds", "under_odds"]
GAME_LINES_COLUMNS = [
    "event_id",
    "commence_time",
    "home_team",
    "away_team",
    "snapshot_timestamp",
    "fg_ml_home",
    "fg_ml_away",
    "fg_spread_line",
    "fg_total_line",
    "fh_ml_home",
    "fh_ml_away",
    "fh_spread_line",
    "fh_total_line",
    "line_date",
    "season",
]
BOOKMAKERS = ("draftkings", "fanduel", "betmgm", "williamhill_us", "betrivers", "fanatics", "betonlineag", "bovada")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

# (full_name, first_name, last_name, name used by the odds feed). Kept on rosters in prop-worthy
# roles so a name matcher meets every kind of mismatch the real feeds show.
SPECIAL_PLAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("José Álvarez", "José", "Álvarez", "Jose Alvarez"),
    ("Luka Petrović", "Luka", "Petrović", "Luka Petrovic"),
    ("Théo Lemaître", "Théo", "Lemaître", "Theo Lemaitre"),
    ("Dāvis Bērziņš", "Dāvis", "Bērziņš", "Davis Berzins"),
    ("Nikola Jovanović", "Nikola", "Jovanović", "Nikola Jovanovic"),
    ("Marcus Holloway Jr.", "Marcus", "Holloway Jr.", "Marcus Holloway Jr"),
    ("Derrick Whitfield Jr.", "Derrick", "Whitfield Jr.", "Derrick Whitfield"),
    ("Gary Tillman Jr.", "Gary", "Tillman Jr.", "Gary Tillman Jr."),
    ("Trey Cartwright III", "Trey", "Cartwright III", "Trey Cartwright"),
    ("Robert Ellison III", "Robert", "Ellison III", "Robert Ellison III"),
    ("Jaren Bell II", "Jaren", "Bell II", "Jaren Bell II"),
    ("Andre Okafor-Williams", "Andre", "Okafor-Williams", "Andre Okafor Williams"),
    ("Malik Stone-Harris", "Malik", "Stone-Harris", "Malik Stone-Harris"),
    ("P.J. Danvers", "P.J.", "Danvers", "PJ Danvers"),
    ("De'Andre Lane", "De'Andre", "Lane", "DeAndre Lane"),
    ("Herbert Rowan", "Herbert", "Rowan", "Herb Rowan"),
    ("Nicolas Brandt", "Nicolas", "Brandt", "Nic Brandt"),
)
# retired players that only exist in the reference list; one has no first name, like "Nene"
_HISTORICAL_SPECIAL = (("Marquinhos", "", "Marquinhos"), ("Zoltán Kovács", "Zoltán", "Kovács"))

_FIRST = (
    "Aaron",
    "Adrian",
    "Alex",
    "Amir",
    "Andre",
    "Anthony",
    "Armon",
    "Austin",
    "Bennett",
    "Blake",
    "Brandon",
    "Brennan",
    "Bryce",
    "Caleb",
    "Cameron",
    "Carter",
    "Chris",
    "Cole",
    "Colby",
    "Corey",
    "Damon",
    "Dante",
    "Darius",
    "Davion",
    "Dean",
    "Deon",
    "Devin",
    "Dillon",
    "Dominic",
    "Donovan",
    "Drew",
    "Dylan",
    "Elijah",
    "Emmett",
    "Evan",
    "Gabe",
    "Grant",
    "Hunter",
    "Isaiah",
    "Ivan",
    "Jackson",
    "Jalen",
    "Jamal",
    "Jared",
    "Jaylen",
    "Jordan",
    "Josh",
    "Julian",
    "Justin",
    "Kai",
    "Keegan",
    "Kendall",
    "Kevin",
    "Khalil",
    "Kobe",
    "Lamar",
    "Landon",
    "Leon",
    "Logan",
    "Malcolm",
    "Marcus",
    "Mason",
    "Miles",
    "Myles",
    "Nate",
    "Noah",
    "Omar",
    "Owen",
    "Quentin",
    "Reggie",
    "Ricky",
    "Rodney",
    "Russell",
    "Ryan",
    "Sam",
    "Seth",
    "Shawn",
    "Simon",
    "Terrence",
    "Theo",
    "Tobias",
    "Trent",
    "Tyler",
    "Tyrese",
    "Victor",
    "Wade",
    "Walker",
    "Xavier",
    "Zach",
    "Zion",
)
_LAST = (
    "Abbott",
    "Adeyemi",
    "Alston",
    "Barkley",
    "Barnes",
    "Beasley",
    "Bishop",
    "Blackwell",
    "Bowen",
    "Bradford",
    "Brewer",
    "Burke",
    "Calloway",
    "Carver",
    "Chandler",
    "Clarke",
    "Coleman",
    "Conley",
    "Crawford",
    "Dalton",
    "Daniels",
    "Dawkins",
    "Dixon",
    "Draper",
    "Duncan",
    "Easley",
    "Ellis",
    "Farrow",
    "Fleming",
    "Fletcher",
    "Ford",
    "Foster",
    "Garland",
    "Gibson",
    "Goodwin",
    "Granger",
    "Graves",
    "Hampton",
    "Harding",
    "Hartley",
    "Hawkins",
    "Hayes",
    "Hendrix",
    "Hill",
    "Holt",
    "Hopkins",
    "Irving",
    "Jacobs",
    "Jefferson",
    "Keller",
    "Kendrick",
    "Lawson",
    "Lowry",
    "Mack",
    "Maddox",
    "Marsh",
    "Mathis",
    "McCall",
    "McKenzie",
    "Mercer",
    "Mitchell",
    "Monroe",
    "Morrow",
    "Nash",
    "Nolan",
    "Norris",
    "Okoro",
    "Oliver",
    "Owens",
    "Palmer",
    "Parker",
    "Payne",
    "Pierce",
    "Porter",
    "Preston",
    "Quinn",
    "Ramsey",
    "Randle",
    "Reed",
    "Rhodes",
    "Riley",
    "Robinson",
    "Rollins",
    "Sampson",
    "Sanders",
    "Shelton",
    "Simmons",
    "Slater",
    "Sparks",
    "Stanton",
    "Sutton",
    "Tate",
    "Thornton",
    "Tillery",
    "Townsend",
    "Tucker",
    "Vance",
    "Vaughn",
    "Wallace",
    "Walton",
    "Warren",
    "Watkins",
    "Weaver",
    "Whitaker",
    "Wilder",
    "Winslow",
    "Woodson",
    "Wright",
    "Yates",
    "Young",
)

_ROSTER = 15
_BASE_MIN = np.array([35.5, 34.0, 32.5, 31.0, 29.5, 22.0, 19.0, 16.0, 13.0, 10.0, 8.0, 6.0, 4.0, 3.0, 2.0])
# per-position weights (G, F, C): three-point share, 2P%, FT%, OREB, DREB, AST, STL, BLK, TOV, PF
_POS_THREE = np.array([0.50, 0.42, 0.15])
_POS_P2 = np.array([0.515, 0.545, 0.60])
_POS_PFT = np.array([0.81, 0.77, 0.70])
_POS_OREB = np.array([0.45, 1.0, 2.3])
_POS_DREB = np.array([0.75, 1.0, 1.8])
_POS_AST = np.array([2.2, 0.9, 0.7])
_POS_STL = np.array([1.2, 1.0, 0.8])
_POS_BLK = np.array([0.35, 1.0, 2.6])
_POS_TOV = np.array([1.25, 1.0, 0.95])
_POS_PF = np.array([0.85, 1.0, 1.35])
_POS_BOX_ORDER = np.array([2, 0, 1])  # starters listed F, F, C, G, G like box score v3


# --------------------------------------------------------------------------------------------
# small helpers


def _pct(made: np.ndarray, att: np.ndarray) -> np.ndarray:
    """made/att rounded half-up to 3 decimals (the feeds print 9/16 as 0.563); NaN if att == 0."""
    made = np.asarray(made, dtype=np.int64)
    att = np.asarray(att, dtype=np.int64)
    safe = np.where(att > 0, att, 1)
    out = ((2000 * made + safe) // (2 * safe)) / 1000.0
    return np.where(att > 0, out, np.nan)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


def _et_offset_hours(d: date) -> int:
    """UTC - Eastern for an evening on date d (US rule since 2007); avoids a tzdata dependency."""
    start = _nth_weekday(d.year, 3, 6, 2)
    end = _nth_weekday(d.year, 11, 6, 1)
    return 4 if start <= d < end else 5


def _american(p: np.ndarray) -> np.ndarray:
    """Implied probability (vig included) -> whole American odds; never inside (-100, 100)."""
    p = np.clip(p, 0.03, 0.97)
    fav = -np.round(100.0 * p / (1.0 - p))
    dog = np.round(100.0 * (1.0 - p) / p)
    return np.where(p >= 0.5, np.minimum(fav, -100.0), np.maximum(dog, 100.0))


def _alloc_int(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer row totals proportionally to weights, exactly (largest remainder)."""
    wsum = weights.sum(axis=1, keepdims=True)
    raw = total[:, None] * weights / np.where(wsum > 0, wsum, 1.0)
    fl = np.floor(raw).astype(np.int64)
    rem = total - fl.sum(axis=1)
    frac = np.where(weights > 0, raw - fl, -1.0)
    order = np.argsort(-frac, axis=1, kind="stable")
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.broadcast_to(np.arange(weights.shape[1]), weights.shape), axis=1)
    return fl + (pos < rem[:, None])


def _multinomial(rng: np.random.Generator, n: np.ndarray, weights: np.ndarray) -> np.ndarray:
    p = weights / weights.sum(axis=1, keepdims=True)
    return rng.multinomial(np.asarray(n, dtype=np.int64), p)


def _column_text(values: np.ndarray) -> list[str]:
    """One column as CSV text the way pandas writes it (repr floats, NaN empty, minimal quoting).

    Columns repeat few distinct values, so each distinct value is formatted once.
    """
    if values.dtype.kind in "iub":
        return values.astype(str).tolist()
    if values.dtype.kind == "f":
        values = values + 0.0  # -0.0 -> 0.0: the feeds never print a negative zero
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    txt = []
    for v in uniques.tolist():
        t = repr(float(v)) if values.dtype.kind == "f" else str(v)
        if "," in t or '"' in t or "\n" in t or "\r" in t:
            t = '"' + t.replace('"', '""') + '"'
        txt.append(t)
    txt.append("")  # NaN / None -> empty field (code -1)
    return np.array(txt, dtype=object)[codes].tolist()


def _csv_lines(df: pd.DataFrame) -> list[str]:
    return list(map(",".join, zip(*(_column_text(df[c].to_numpy()) for c in df.columns))))


def _write_lines(path: Path, header: list[str], lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        if lines:
            fh.write("\n".join(lines) + "\n")


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """Same bytes as df.to_csv(index=False, lineterminator="\n"), several times faster here."""
    _write_lines(path, list(df.columns), _csv_lines(df))


def _event_id(seed: int, game_id: str) -> str:
    return hashlib.md5(f"synthetic-nba:{seed}:{game_id}".encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# players and rosters


class _Pool:
    """All synthetic players ever created; attributes indexed by pool position."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.ids: list[int] = []
        self.full: list[str] = []
        self.first: list[str] = []
        self.last: list[str] = []
        self.odds_name: list[str] = []
        self.pos: list[int] = []
        self.talent: list[float] = []
        self.three: list[float] = []
        self.p2: list[float] = []
        self.p3: list[float] = []
        self.pft: list[float] = []
        self.special: list[bool] = []
        self.active: list[bool] = []
        self._names: set[str] = set()
        self._next_id = 9_000_001

    def _fresh_name(self) -> tuple[str, str]:
        while True:
            first = _FIRST[int(self.rng.integers(len(_FIRST)))]
            last = _LAST[int(self.rng.integers(len(_LAST)))]
            if f"{first} {last}" not in self._names:
                return first, last

    def add(
        self, talent: float, pos: int | None = None, name: tuple[str, str, str] | None = None, active: bool = True
    ) -> int:
        rng = self.rng
        if pos is None:
            pos = int(rng.choice(3, p=[0.42, 0.40, 0.18]))
        if name is None:
            first, last = self._fresh_name()
            name = (f"{first} {last}", first, last)
        self._names.add(name[0])
        self.ids.append(self._next_id)
        self._next_id += int(rng.integers(1, 40))  # gaps like NBA.com ids
        self.full.append(name[0])
        self.first.append(name[1])
        self.last.append(name[2])
        self.odds_name.append(name[0])
        self.pos.append(pos)
        self.talent.append(float(talent))
        self.three.append(float(np.clip(_POS_THREE[pos] + rng.normal(0, 0.09), 0.0, 0.75)))
        if pos == 2 and rng.random() < 0.3:
            self.three[-1] = 0.0  # non-shooting bigs: 0 three-point attempts -> empty FG3_PCT
        self.p2.append(float(np.clip(_POS_P2[pos] + rng.normal(0, 0.035) + 0.01 * talent, 0.40, 0.70)))
        self.p3.append(float(np.clip(0.355 + rng.normal(0, 0.03) + 0.005 * talent, 0.25, 0.45)))
        self.pft.append(float(np.clip(_POS_PFT[pos] + rng.normal(0, 0.07), 0.45, 0.93)))
        self.special.append(False)
        self.active.append(active)
        return len(self.ids) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "pos": np.array(self.pos, dtype=np.int64),
            "talent": np.array(self.talent),
            "three": np.array(self.three),
            "p2": np.array(self.p2),
            "p3": np.array(self.p3),
            "pft": np.array(self.pft),
        }


def _initial_rosters(pool: _Pool) -> list[list[int]]:
    rng = pool.rng
    for _ in range(60):  # retired players: only in reference/players.csv
        pool.add(rng.normal(-0.5, 1.0), active=False)
    for full, first, last in _HISTORICAL_SPECIAL:
        pool.add(0.0, name=(full, first, last), active=False)
    rosters = []
    for _ in range(30):
        talents = np.sort(rng.normal(0.0, 1.0, _ROSTER))[::-1]
        positions = (
            list(rng.permutation([0, 0, 1, 1, 2]))
            + list(rng.permutation([0, 1, 2, 0, 1]))
            + list(rng.permutation([0, 1, 2, 0, 1]))
        )
        rosters.append([pool.add(t, int(p)) for t, p in zip(talents, positions)])
    # special names go to prop-worthy roles (slots 1..6) on distinct teams
    teams = rng.permutation(30)
    for k, (full, first, last, odds) in enumerate(SPECIAL_PLAYERS):
        idx = rosters[int(teams[k % 30])][1 + k % 6]
        pool._names.discard(pool.full[idx])
        pool._names.add(full)
        pool.full[idx], pool.first[idx], pool.last[idx], pool.odds_name[idx] = full, first, last, odds
        pool.special[idx] = True
    return rosters


def _next_rosters(pool: _Pool, rosters: list[list[int]]) -> list[list[int]]:
    """Off-season: most of each roster stays, some retire, some change teams, rookies arrive."""
    rng = pool.rng
    for p in sorted(p for r in rosters for p in r):
        pool.talent[p] += float(rng.normal(0.0, 0.25))
    free_agents: list[int] = []
    kept: list[list[int]] = []
    for roster in rosters:
        stay = []
        for slot, p in enumerate(roster):
            if rng.random() < (0.12 + (0.18 if slot >= 10 else 0.0)):
                if pool.special[p] or rng.random() < 0.55:
                    free_agents.append(p)
                else:
                    pool.active[p] = False  # retired
            else:
                stay.append(p)
        kept.append(stay)
    free_agents = [free_agents[i] for i in rng.permutation(len(free_agents))]
    specials_left = [p for p in free_agents if pool.special[p]]
    others = [p for p in free_agents if not pool.special[p]]
    free_agents = specials_left + others  # specials always find a team (they carry the name quirks)
    for stay in kept:
        while len(stay) < _ROSTER:
            if free_agents and (pool.special[free_agents[0]] or rng.random() < 0.5):
                stay.append(free_agents.pop(0))
            else:
                stay.append(pool.add(rng.normal(-0.6, 0.7)))
    for p in free_agents:  # unsigned: out of the league
        pool.active[p] = False
    return [sorted(stay, key=lambda p: (-pool.talent[p], pool.ids[p])) for stay in kept]


# --------------------------------------------------------------------------------------------
# schedule


def _season_days(year: int) -> tuple[list[date], date, date]:
    start = date(year, 10, 20) + timedelta(days=(1 - date(year, 10, 20).weekday()) % 7)  # Tuesday
    end = date(year + 1, 4, 9) + timedelta(days=(6 - date(year + 1, 4, 9).weekday()) % 7)  # Sunday
    off = {date(year, 12, 24), end - timedelta(days=1), _nth_weekday(year, 11, 3, 4)}  # + Thanksgiving
    if year % 4 == 0:  # presidential election day
        off.add(_nth_weekday(year, 11, 0, 1) + timedelta(days=1))
    cup = _nth_weekday(year, 12, 1, 3)  # NBA Cup final week: no regular-season games
    off |= {cup, cup + timedelta(days=1)}
    asg = _nth_weekday(year + 1, 2, 6, 3)  # All-Star Sunday
    off |= {asg + timedelta(days=k) for k in range(-2, 3)}
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    return [d for d in days if d not in off], start, end


def _matchups(rng: np.random.Generator) -> list[tuple[int, int]]:
    """1230 (home, away) pairs, 82 games and 41 home games per team, NBA-like opponent counts."""
    east = [i for i in range(30) if TEAM_ABBR[i] in _EAST]
    west = [i for i in range(30) if TEAM_ABBR[i] not in _EAST]
    games: list[tuple[int, int]] = []
    for a in east:  # other conference: home and away once
        for b in west:
            games += [(a, b), (b, a)]
    for conf in (east, west):
        conf = [conf[i] for i in rng.permutation(15)]
        for i in range(15):
            for j in range(i + 1, 15):
                a, b = conf[i], conf[j]
                d = (j - i) % 15
                if d in (1, 2):  # circulant 3-game pairs: i hosts twice
                    games += [(a, b), (a, b), (b, a)]
                elif d in (13, 14):
                    games += [(b, a), (b, a), (a, b)]
                else:
                    games += [(a, b), (a, b), (b, a), (b, a)]
    return games


def _schedule(rng: np.random.Generator, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assign the 1230 matchups to game days; returns (home, away, day ordinal) arrays."""
    days, start, _ = _season_days(year)
    pool = _matchups(rng)
    pool = [pool[i] for i in rng.permutation(len(pool))]
    weekday_w = np.array([8.0, 6.0, 10.0, 6.0, 9.0, 7.0, 7.5])
    w = np.array([weekday_w[d.weekday()] for d in days])
    fixed = {0: 2, len(days) - 1: 15}
    for k, d in enumerate(days):
        if d.month == 12 and d.day == 25:
            fixed[k] = 5
    free = [k for k in range(len(days)) if k not in fixed]
    target = np.zeros(len(days))
    target[free] = w[free] / w[free].sum() * (1230 - sum(fixed.values()))
    for k, v in fixed.items():
        target[k] = v
    cum = np.round(np.cumsum(target)).astype(int)
    counts = np.diff(np.concatenate([[0], cum]))

    ph = np.array([h for h, _ in pool])
    pa = np.array([a for _, a in pool])
    alive = np.ones(len(pool), dtype=bool)
    remaining = np.full(30, 82)
    last_played = np.full(30, -10)
    prev_played = np.full(30, -10)
    out_home, out_away, out_day = [], [], []
    day_ord = [d.toordinal() for d in days]
    carry = 0
    for k in range(len(days)):
        want = min(15, counts[k] + carry)
        ordk = day_ord[k]
        # three games on three straight days never happens in the NBA
        tired = (last_played == ordk - 1) & (prev_played == ordk - 2)
        b2b = (last_played == ordk - 1).astype(float)
        pri = remaining[ph] + remaining[pa] - 1.5 * (b2b[ph] + b2b[pa]) + 6.0 * rng.random(len(ph))
        pri[~alive | tired[ph] | tired[pa]] = -np.inf
        used = np.zeros(30, dtype=bool)
        taken = 0
        for i in np.argsort(-pri, kind="stable"):
            if taken >= want or pri[i] == -np.inf:
                break
            h, a = ph[i], pa[i]
            if used[h] or used[a]:
                continue
            used[h] = used[a] = True
            alive[i] = False
            taken += 1
            out_home.append(int(h))
            out_away.append(int(a))
            out_day.append(ordk)
            remaining[h] -= 1
            remaining[a] -= 1
        carry = want - taken
        prev_played[used] = last_played[used]
        last_played[used] = ordk
    # leftovers (rare): the latest day both teams are free, avoiding a third game in three days
    if alive.any():
        busy: dict[int, set[int]] = {d: set() for d in day_ord}
        for h, a, d in zip(out_home, out_away, out_day):
            busy[d].update((h, a))

        def third_in_row(t: int, d: int) -> bool:
            on = [t in busy.get(d + k, ()) for k in (-2, -1, 1, 2)]
            return (on[0] and on[1]) or (on[1] and on[2]) or (on[2] and on[3])

        for i in np.nonzero(alive)[0]:
            h, a = int(ph[i]), int(pa[i])
            cands = [d for d in reversed(day_ord) if h not in busy[d] and a not in busy[d]]
            if not cands:  # pragma: no cover - would need a full calendar
                raise RuntimeError("could not schedule all games")
            cands.sort(key=lambda d: third_in_row(h, d) or third_in_row(a, d))  # stable: latest first
            busy[cands[0]].update((h, a))
            out_home.append(h)
            out_away.append(a)
            out_day.append(cands[0])
    return np.array(out_home), np.array(out_away), np.array(out_day)


def _preseason(rng: np.random.Generator, start: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    quota = np.array([5] * 16 + [4] * 14)[rng.permutation(30)]
    home, away, day = [], [], []
    for k in range(18, 3, -1):
        d = (start - timedelta(days=k)).toordinal()
        cands = [t for t in rng.permutation(30) if quota[t] > 0 and rng.random() < 0.5]
        cands.sort(key=lambda t: -quota[t])
        for i in range(0, len(cands) - 1, 2):
            h, a = (cands[i], cands[i + 1]) if rng.random() < 0.5 else (cands[i + 1], cands[i])
            home.append(h)
            away.append(a)
            day.append(d)
            quota[h] -= 1
            quota[a] -= 1
    return np.array(home), np.array(away), np.array(day)


def _tipoffs(rng: np.random.Generator, home: np.ndarray) -> np.ndarray:
    """Eastern tip-off in minutes after midnight, by the home team's time zone."""
    out = np.empty(len(home), dtype=np.int64)
    for i, h in enumerate(home):
        opts = _TIPS_ET[_ZONE.get(TEAM_ABBR[h], 0)]
        out[i] = opts[int(rng.integers(len(opts)))]
    return out


# --------------------------------------------------------------------------------------------
# game simulation (vectorised over team-games x roster slots)


def _strength(rosters: list[list[int]], talent: np.ndarray) -> np.ndarray:
    raw = np.array([np.sort(talent[r])[::-1][:8].mean() for r in rosters])
    return (raw - raw.mean()) / (raw.std() + 1e-9)


def _simulate(
    rng: np.random.Generator,
    home: np.ndarray,
    away: np.ndarray,
    roster_mat: np.ndarray,
    P: dict[str, np.ndarray],
    strength: np.ndarray,
    injured: np.ndarray,
) -> dict[str, np.ndarray]:
    """Row 2i is game i's home team, 2i+1 its visitor; columns are roster slots."""
    n = len(home)
    N = 2 * n
    team = np.empty(N, dtype=np.int64)
    team[0::2], team[1::2] = home, away
    opp = np.arange(N) ^ 1
    R = roster_mat[team]
    slot = np.broadcast_to(np.arange(_ROSTER), (N, _ROSTER))

    # who plays: rotation by roster order, deep bench at random, injured last
    key = np.where(slot < 10, slot, 10 + 5 * rng.random((N, _ROSTER))) + 100.0 * injured
    order = np.argsort(key, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(_ROSTER), (N, _ROSTER)), axis=1)
    n_play = 9 + rng.binomial(4, 0.42, N)
    played = rank < n_play[:, None]
    starter = rank < 5

    u = rng.random(n)
    ot_g = (u < 0.055).astype(np.int64) + (u < 0.055 * 0.15) + (u < 0.055 * 0.15 * 0.15)
    ot = np.repeat(ot_g, 2)
    total_sec = 14400 + 1500 * ot
    base = _BASE_MIN[rank] * np.clip(rng.lognormal(0.0, 0.12, (N, _ROSTER)), 0.8, 1.2)
    base = np.where(rank >= 10, rng.uniform(0.5, 9.0, (N, _ROSTER)), base)
    sec = _alloc_int(total_sec, np.where(played, base, 0.0))

    pos = P["pos"][R]
    usage = np.exp(0.38 * np.minimum(P["talent"][R], 2.1))
    # both teams share the game's pace, which keeps the margin tighter than the scores
    pace = np.repeat(np.clip(rng.normal(1.0, 0.05, n), 0.85, 1.15), 2) * total_sec / 14400.0
    shoot = np.exp(
        0.011 * (strength[team] - strength[team[opp]]) + 0.014 * (np.arange(N) % 2 == 0) + rng.normal(0.0, 0.02, N)
    )
    wmin = sec / 60.0

    # team volumes are less dispersed than Poisson for FGA, more for FTA (as in the real logs)
    fga = _multinomial(rng, np.rint(rng.normal(88.5, 2.5, N) * pace), usage * wmin)
    fg3a = rng.binomial(fga, P["three"][R])
    fg3m = rng.binomial(fg3a, np.clip(P["p3"][R] * shoot[:, None], 0.05, 0.7))
    fg2m = rng.binomial(fga - fg3a, np.clip(P["p2"][R] * shoot[:, None], 0.05, 0.8))
    fgm = fg2m + fg3m
    fta = _multinomial(
        rng, np.maximum(np.rint(rng.normal(21.5, 4.5, N) * pace), 2), usage * (1.0 + 0.2 * (pos == 2)) * wmin
    )
    ftm = rng.binomial(fta, P["pft"][R])

    miss = (fga - fgm).sum(axis=1)
    oreb_t = rng.binomial(miss, 0.235)
    dreb_t = rng.binomial(miss[opp] - oreb_t[opp], 0.915)
    oreb = _multinomial(rng, oreb_t, _POS_OREB[pos] * wmin)
    dreb = _multinomial(rng, dreb_t, _POS_DREB[pos] * wmin)
    ast = _multinomial(rng, rng.binomial(fgm.sum(axis=1), 0.63), _POS_AST[pos] * np.sqrt(usage) * wmin)
    tov_t = rng.poisson(13.5 * pace)
    tov = _multinomial(rng, tov_t, _POS_TOV[pos] * usage**0.7 * wmin)
    stl = _multinomial(rng, rng.binomial(tov_t[opp], 0.6), _POS_STL[pos] * wmin)
    miss2 = (fga - fg3a - fg2m).sum(axis=1)
    blk = _multinomial(rng, rng.binomial(miss2[opp], 0.2), _POS_BLK[pos] * wmin)
    pf = np.minimum(_multinomial(rng, rng.poisson(18.8 * pace), _POS_PF[pos] * wmin), 6)

    pts = 2 * fgm + fg3m + ftm
    team_pts = pts.sum(axis=1)
    # no ties: the game went to a free throw somebody made
    tied = np.nonzero(team_pts[0::2] == team_pts[1::2])[0]
    rows = 2 * tied + (rng.random(len(tied)) < 0.5)
    cols = np.argmax(sec[rows], axis=1)
    fta[rows, cols] += 1
    ftm[rows, cols] += 1
    pts[rows, cols] += 1
    team_pts = pts.sum(axis=1)
    margin = team_pts - team_pts[opp]

    # player +/-: five players on court at every moment => sum over players = 5 * margin
    share = sec / total_sec[:, None]
    noise = rng.normal(0.0, 6.0, (N, _ROSTER)) * np.sqrt(sec / 2880.0)
    noise -= share * noise.sum(axis=1, keepdims=True)
    x = 5.0 * margin[:, None] * share + noise
    fl = np.floor(x).astype(np.int64)
    fl = np.where(played, fl, 0)
    rem = 5 * margin - fl.sum(axis=1)
    frac = np.where(played, x - np.floor(x), -1.0)
    o = np.argsort(-frac, axis=1, kind="stable")
    p_ = np.empty_like(o)
    np.put_along_axis(p_, o, np.broadcast_to(np.arange(_ROSTER), (N, _ROSTER)), axis=1)
    pm = fl + (p_ < rem[:, None])

    # whole minutes: mm:ss rounded, exactly :30 either way (the feed rounds hidden tenths)
    minutes = sec // 60 + ((sec % 60 > 30) | ((sec % 60 == 30) & (rng.random((N, _ROSTER)) < 0.5)))

    return {
        "team": team,
        "opp": opp,
        "R": R,
        "played": played,
        "starter": starter,
        "rank": rank,
        "ot": ot,
        "sec": sec,
        "min": minutes,
        "fgm": fgm,
        "fga": fga,
        "fg3m": fg3m,
        "fg3a": fg3a,
        "ftm": ftm,
        "fta": fta,
        "oreb": oreb,
        "dreb": dreb,
        "ast": ast,
        "stl": stl,
        "blk": blk,
        "tov": tov,
        "pf": pf,
        "pts": pts,
        "pm": pm,
        "margin": margin,
        "pos": pos,
    }


def _injuries(rng: np.random.Generator, n_games: int = 82) -> np.ndarray:
    """(30, games, slots) injury spells; deep bench rarely matters, so spells are uniform."""
    inj = np.zeros((30, n_games, _ROSTER), dtype=bool)
    n_spells = rng.poisson(1.1, (30, _ROSTER))
    for t in range(30):
        for s in range(_ROSTER):
            for _ in range(int(n_spells[t, s])):
                a = int(rng.integers(n_games))
                inj[t, a : a + 1 + int(rng.geometric(0.2)), s] = True
    inj |= rng.random((30, n_games, _ROSTER)) < 0.015  # one-game rests
    return inj


# --------------------------------------------------------------------------------------------
# one season


def _season(out: Path, pool: _Pool, rosters: list[list[int]], year: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, year])
    label = f"{year}-{(year + 1) % 100:02d}"
    yy = f"{year % 100:02d}"
    P = pool.arrays()
    roster_mat = np.array(rosters, dtype=np.int64)
    strength = _strength(rosters, P["talent"])
    pid = np.array(pool.ids, dtype=np.int64)

    # ---- regular season schedule, ids numbered chronologically by tip-off
    home, away, day = _schedule(rng, year)
    tip = _tipoffs(rng, home)
    o = np.lexsort((TEAM_ABBR[home].astype(str), tip, day))
    home, away, day, tip = home[o], away[o], day[o], tip[o]
    n = len(home)
    game_ids = np.array([f"002{yy}{i + 1:05d}" for i in range(n)], dtype=object)

    # team-game index per team in date order, to lay injury spells on
    N = 2 * n
    team_rows = np.empty(N, dtype=np.int64)
    team_rows[0::2], team_rows[1::2] = home, away
    row_day = np.repeat(day, 2)
    tg = np.lexsort((row_day, team_rows)).reshape(30, 82)
    j_of_row = np.empty(N, dtype=np.int64)
    j_of_row[tg] = np.broadcast_to(np.arange(82), (30, 82))
    inj_tj = _injuries(rng)
    injured = inj_tj[team_rows, j_of_row]
    prev_j = np.maximum(j_of_row - 1, 0)
    known_out = injured & inj_tj[team_rows, prev_j] & (j_of_row > 0)[:, None]

    sim = _simulate(rng, home, away, roster_mat, P, strength, injured)

    # ---- preseason: same engine, team rows only; one visitor is a non-NBA club
    start = date.fromordinal(int(day.min()))
    ph, pa, pday = _preseason(rng, start)
    pt = _tipoffs(rng, ph)
    po = np.lexsort((TEAM_ABBR[ph].astype(str), pt, pday))
    ph, pa, pday = ph[po], pa[po], pday[po]
    pre_ids = np.array([f"001{yy}{i + 1:05d}" for i in range(len(ph))], dtype=object)
    psim = _simulate(rng, ph, pa, roster_mat, P, strength, np.zeros((2 * len(ph), _ROSTER), dtype=bool))
    club_game = int(rng.integers(len(ph)))
    club = _CLUBS[year % len(_CLUBS)]

    # ---- team game logs
    def team_frame(s, h, a, d, gids, season_id):
        team, oppr = s["team"], s["opp"]
        sums = {
            k: s[k].sum(axis=1)
            for k in (
                "fgm",
                "fga",
                "fg3m",
                "fg3a",
                "ftm",
                "fta",
                "oreb",
                "dreb",
                "ast",
                "stl",
                "blk",
                "tov",
                "pf",
                "pts",
                "min",
            )
        }
        abbr = TEAM_ABBR[team].copy()
        tid = TEAM_IDS[team].copy()
        tname = TEAM_NAME[team].copy()
        if season_id.startswith("1"):
            r = 2 * club_game + 1
            tid[r], abbr[r], tname[r] = club
        gid = np.repeat(gids, 2)
        is_home = np.arange(len(team)) % 2 == 0
        matchup = np.where(is_home, abbr + " vs. " + abbr[oppr], abbr + " @ " + abbr[oppr])
        dates = np.array([date.fromordinal(int(x)).isoformat() for x in d], dtype=object)
        return pd.DataFrame(
            {
                "SEASON_ID": season_id,
                "TEAM_ID": tid,
                "TEAM_ABBREVIATION": abbr,
                "TEAM_NAME": tname,
                "GAME_ID": gid,
                "GAME_DATE": np.repeat(dates, 2),
                "MATCHUP": matchup,
                "WL": np.where(s["margin"] > 0, "W", "L"),
                "MIN": sums["min"],
                "PTS": sums["pts"],
                "FGM": sums["fgm"],
                "FGA": sums["fga"],
                "FG_PCT": _pct(sums["fgm"], sums["fga"]),
                "FG3M": sums["fg3m"],
                "FG3A": sums["fg3a"],
                "FG3_PCT": _pct(sums["fg3m"], sums["fg3a"]),
                "FTM": sums["ftm"],
                "FTA": sums["fta"],
                "FT_PCT": _pct(sums["ftm"], sums["fta"]),
                "OREB": sums["oreb"],
                "DREB": sums["dreb"],
                "REB": sums["oreb"] + sums["dreb"],
                "AST": sums["ast"],
                "STL": sums["stl"],
                "BLK": sums["blk"],
                "TOV": sums["tov"],
                "PF": sums["pf"],
                "PLUS_MINUS": s["margin"].astype(float),
                "_day": np.repeat(d, 2),
            }
        )

    tl = pd.concat(
        [team_frame(sim, home, away, day, game_ids, f"2{year}"), team_frame(psim, ph, pa, pday, pre_ids, f"1{year}")],
        ignore_index=True,
    )
    tl["_r"] = rng.random(len(tl))
    tl = tl.sort_values(["_day", "_r"], ascending=[False, True], kind="stable")
    _write_csv(tl[TEAM_LOG_COLUMNS], out / "team_game_logs" / f"{label}.csv")

    # ---- player game logs (regular season, players who played)
    r_idx, c_idx = np.nonzero(sim["played"])
    team = sim["team"]
    abbr = TEAM_ABBR[team]
    matchup_row = np.where(np.arange(N) % 2 == 0, abbr + " vs. " + abbr[sim["opp"]], abbr + " @ " + abbr[sim["opp"]])
    wl_row = np.where(sim["margin"] > 0, "W", "L")
    gdate = [date.fromordinal(int(x)) for x in day]
    gdate_txt = np.array([f"{_MONTHS[d.month - 1]} {d.day:02d}, {d.year}" for d in gdate], dtype=object)
    g_of = r_idx // 2

    def pick(k):
        return sim[k][r_idx, c_idx]

    players_played = sim["R"][r_idx, c_idx]
    pl = pd.DataFrame(
        {
            "SEASON_ID": f"2{year}",
            "Player_ID": pid[players_played],
            "Game_ID": game_ids[g_of],
            "GAME_DATE": gdate_txt[g_of],
            "MATCHUP": matchup_row[r_idx],
            "WL": wl_row[r_idx],
            "MIN": pick("min"),
            "FGM": pick("fgm"),
            "FGA": pick("fga"),
            "FG_PCT": _pct(pick("fgm"), pick("fga")),
            "FG3M": pick("fg3m"),
            "FG3A": pick("fg3a"),
            "FG3_PCT": _pct(pick("fg3m"), pick("fg3a")),
            "FTM": pick("ftm"),
            "FTA": pick("fta"),
            "FT_PCT": _pct(pick("ftm"), pick("fta")),
            "OREB": pick("oreb"),
            "DREB": pick("dreb"),
            "REB": pick("oreb") + pick("dreb"),
            "AST": pick("ast"),
            "STL": pick("stl"),
            "BLK": pick("blk"),
            "TOV": pick("tov"),
            "PF": pick("pf"),
            "PTS": pick("pts"),
            "PLUS_MINUS": pick("pm"),
            "VIDEO_AVAILABLE": 1,
            "_day": day[g_of],
        }
    )
    pl = pl.sort_values(["_day", "Player_ID"], kind="stable")
    _write_csv(pl[PLAYER_LOG_COLUMNS], out / "player_game_logs" / f"{label}.csv")

    # ---- box score feed: played rows + some DNP rows, starters first, every game block twice
    listed = sim["played"] | (rng.random((N, _ROSTER)) < 0.55)
    br, bc = np.nonzero(listed)
    played_b = sim["played"][br, bc]
    sec_b = sim["sec"][br, bc]
    # starters by position (F, F, C, G, G), then bench by minutes, then DNPs
    within = np.where(
        sim["starter"][br, bc],
        _POS_BOX_ORDER[sim["pos"][br, bc]] + bc / 100.0,
        np.where(played_b, 10.0 + (4000 - sec_b) / 4000.0, 20.0 + bc / 100.0),
    )
    zero = np.zeros(len(br), dtype=np.int64)

    def bpick(k):
        return np.where(played_b, sim[k][br, bc], zero)

    mins_txt = np.where(played_b, [f"{s // 60}:{s % 60:02d}" for s in sec_b], "")
    b_fgm, b_fga, b_3m, b_3a, b_ftm, b_fta = (bpick(k) for k in ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta"))
    box = pd.DataFrame(
        {
            "team": TEAM_IDS[team[br]],
            "player": pid[sim["R"][br, bc]],
            "stats.minutes": mins_txt,
            "stats.fieldGoalsMade": b_fgm,
            "stats.fieldGoalsAttempted": b_fga,
            "stats.fieldGoalsPercentage": np.nan_to_num(_pct(b_fgm, b_fga)),
            "stats.threePointersMade": b_3m,
            "stats.threePointersAttempted": b_3a,
            "stats.threePointersPercentage": np.nan_to_num(_pct(b_3m, b_3a)),
            "stats.freeThrowsMade": b_ftm,
            "stats.freeThrowsAttempted": b_fta,
            "stats.freeThrowsPercentage": np.nan_to_num(_pct(b_ftm, b_fta)),
            "stats.reboundsOffensive": bpick("oreb"),
            "stats.reboundsDefensive": bpick("dreb"),
            "stats.reboundsTotal": bpick("oreb") + bpick("dreb"),
            "stats.assists": bpick("ast"),
            "stats.steals": bpick("stl"),
            "stats.blocks": bpick("blk"),
            "stats.turnovers": bpick("tov"),
            "stats.foulsPersonal": bpick("pf"),
            "stats.points": bpick("pts"),
            "stats.plusMinusPoints": bpick("pm").astype(float),
            "game_id": game_ids[br // 2],
            "_g": br // 2,
            "_side": br % 2,
            "_w": within,
        }
    ).sort_values(["_g", "_side", "_w"], kind="stable")
    g_sorted = box["_g"].to_numpy()
    block_start = np.searchsorted(g_sorted, np.arange(n))
    block_len = np.bincount(g_sorted, minlength=n)
    # fetch order: per date (newest first) each game twice, shuffled
    seq = []
    for d in sorted(set(day.tolist()), reverse=True):
        gs = np.repeat(np.nonzero(day == d)[0], 2)
        seq.extend(gs[rng.permutation(len(gs))].tolist())
    seq = np.array(seq)
    idx = np.concatenate([np.arange(block_start[g], block_start[g] + block_len[g]) for g in seq])
    box = box.iloc[idx]
    month = np.array([f"{d.year}-{d.month:02d}" for d in gdate], dtype=object)
    box_month = month[box["_g"].to_numpy()]
    for m in sorted(set(month.tolist())):
        _write_csv(box.loc[box_month == m, BOX_COLUMNS], out / "boxscores" / f"game_stats_{m}.csv")
    games_df = pd.DataFrame(
        {"GAME_DATE": [gdate[g].isoformat() for g in seq], "GAME_ID": game_ids[seq], "season": label}
    )
    _write_csv(games_df, out / "boxscores" / f"games_{label}.csv")

    # ---- commence times (UTC) shared by props and game lines
    utc_min = tip + 60 * np.array([_et_offset_hours(d) for d in gdate])
    utc_day = day + utc_min // 1440
    utc_min = utc_min % 1440
    utc_date = [date.fromordinal(int(x)).isoformat() for x in utc_day]
    hhmm = [f"{m // 60:02d}:{m % 60:02d}:00" for m in utc_min]
    event_ids = np.array([_event_id(seed, g) for g in game_ids], dtype=object)

    prop_files = _props(out, rng, sim, P, pool, home, away, day, event_ids, utc_date, hhmm, tg, known_out)
    _game_lines(out, rng, strength, home, away, day, utc_date, hhmm, event_ids, utc_min, utc_day, label, year)

    return {
        "label": label,
        "games": n,
        "player_rows": len(pl),
        "prop_files": prop_files,
        "first_date": gdate[0].isoformat(),
        "last_date": gdate[-1].isoformat(),
    }


def _props(out, rng, sim, P, pool, home, away, day, event_ids, utc_date, hhmm, tg, known_out) -> int:
    """Player prop snapshots; lines follow each player's recent form, not the game's outcome."""
    N = len(sim["team"])
    n = N // 2
    played = sim["played"]
    stat = {
        "player_points": sim["pts"],
        "player_rebounds": sim["oreb"] + sim["dreb"],
        "player_assists": sim["ast"],
        "player_threes": sim["fg3m"],
    }
    stat["player_points_rebounds_assists"] = stat["player_points"] + stat["player_rebounds"] + stat["player_assists"]
    # pre-game form: exponentially weighted over his games, seeded with his season average (the
    # books' projection), so a line never depends on the game it is for
    recent = {}
    for mk, x in stat.items():
        xt = x[tg]  # (30, 82, 15)
        pt = played[tg]
        n_played = pt.sum(axis=1)
        avg = np.where(n_played > 0, (xt * pt).sum(axis=1) / np.maximum(n_played, 1), 0.0)
        pre = np.empty(xt.shape)
        for j in range(xt.shape[1]):
            pre[:, j] = avg
            avg = np.where(pt[:, j], 0.15 * xt[:, j] + 0.85 * avg, avg)
        flat = np.empty((N, _ROSTER))
        flat[tg.reshape(-1)] = pre.reshape(-1, _ROSTER)
        recent[mk] = flat

    # who gets lines: the rotation minus players already known to be out (late scratches stay)
    slot = np.broadcast_to(np.arange(_ROSTER), (N, _ROSTER))
    key = slot + 100 * known_out
    order = np.argsort(key, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(_ROSTER), (N, _ROSTER)), axis=1)
    ok = ~known_out
    three = P["three"][sim["R"]]
    dd_score = recent["player_rebounds"] + recent["player_assists"]
    dd_rank = np.argsort(np.argsort(-np.where(ok & (rank < 6), dd_score, -1.0), axis=1, kind="stable"), axis=1)
    eligible = {
        "player_points": ok & (rank < 7),
        "player_rebounds": ok & (rank < 5),
        "player_assists": ok & (rank < 5),
        "player_threes": ok & (rank < 5) & (three > 0.25),
        "player_points_rebounds_assists": ok & (rank < 5),
        "player_double_double": ok & (dd_rank < 2) & (rank < 6),
    }
    sigma = {
        "player_points": 0.8,
        "player_rebounds": 0.5,
        "player_assists": 0.45,
        "player_threes": 0.3,
        "player_points_rebounds_assists": 1.0,
    }

    # not every game is covered: some snapshots hold only part of the slate
    has_props = np.ones(n, dtype=bool)
    for d in np.unique(day):
        gs = np.nonzero(day == d)[0]
        if len(gs) > 2 and rng.random() < 0.08:
            drop = rng.permutation(gs)[: int(len(gs) * rng.uniform(0.3, 0.7))]
            has_props[drop] = False

    names = np.array(pool.odds_name, dtype=object)
    parts = []
    for m_i, (mk, mask) in enumerate(eligible.items()):
        mask = mask & np.repeat(has_props, 2)[:, None]
        r, c = np.nonzero(mask)
        if mk == "player_double_double":
            line = np.full(len(r), np.nan)
            center = line
        else:
            center = recent[mk][r, c]
            line = np.floor(center * 0.97 + rng.normal(0.0, sigma[mk], len(r))) + 0.5
            line = np.maximum(line, 1.5 if mk == "player_points" else 0.5)
        parts.append(
            pd.DataFrame(
                {"_g": r // 2, "_p": sim["R"][r, c], "_m": m_i, "market": mk, "_line": line, "_center": center}
            )
        )
    base = pd.concat(parts, ignore_index=True)

    # books per event: draftkings always, then a random subset in a random order
    books_g = []
    for g in range(n):
        k = int(rng.integers(4, 8))
        chosen = [0] + (1 + rng.permutation(len(BOOKMAKERS) - 1))[: k - 1].tolist()
        books_g.extend((g, b, i) for i, b in enumerate(chosen))
    bk = pd.DataFrame(books_g, columns=["_g", "_b", "_bo"])
    rows = base.merge(bk, on="_g", how="inner", sort=False)
    keep = (rows["_b"].to_numpy() == 0) | (rng.random(len(rows)) < 0.9)
    rows = rows[keep].reset_index(drop=True)
    is_line = rows["_line"].notna().to_numpy()
    shift = rng.choice(np.array([-1.0, 0.0, 0.0, 0.0, 0.0, 1.0]), len(rows))
    line = rows["_line"].to_numpy() + np.where(rows["_b"].to_numpy() == 0, 0.0, shift)
    line = np.where(is_line, np.maximum(line, 0.5), np.nan)
    rows["line"] = line
    # bovada lists a ladder of alternate points lines
    bov = rows[(rows["_b"] == BOOKMAKERS.index("bovada")) & (rows["market"] == "player_points")]
    ladders = [rows]
    for step in (-2.0, -1.0, 1.0, 2.0):
        alt = bov.copy()
        alt["line"] = alt["line"] + step
        ladders.append(alt[alt["line"] >= 0.5])
    rows = pd.concat(ladders, ignore_index=True)

    center = rows["_center"].to_numpy()
    line = rows["line"].to_numpy()
    scale = 1.3 * np.sqrt(np.maximum(center, 0.5))  # ~ the stat's game-to-game spread
    p_over = 1.0 / (1.0 + np.exp(-(center - line) / scale)) + rng.normal(0.0, 0.025, len(rows))
    p_over = np.clip(p_over, 0.2, 0.8)
    over = _american(p_over + 0.024)
    under = _american(1.0 - p_over + 0.024)
    g = rows["_g"].to_numpy()
    pl = rows["_p"].to_numpy()
    bk_i = rows["_b"].to_numpy()
    mk_i = rows["_m"].to_numpy()
    is_bov = bk_i == BOOKMAKERS.index("bovada")
    # within a book: market, then lines high to low; bovada: player by name, ladder ascending
    name_rank = np.empty(len(names), dtype=np.int64)
    name_rank[np.argsort(names.astype(str), kind="stable")] = np.arange(len(names))
    order = np.lexsort(
        (
            pl,
            np.where(is_bov, line, 0.0),
            np.where(is_bov, name_rank[pl], 0),
            np.where(is_bov, 0.0, -np.nan_to_num(line, nan=0.0)),
            mk_i,
            rows["_bo"].to_numpy(),
            g,
            day[g],
        )
    )
    del rows, base, parts, ladders, bov
    g, pl, bk_i, mk_i, line = g[order], pl[order], bk_i[order], mk_i[order], line[order]
    over = np.where(np.isnan(line), np.nan, over[order])
    under = np.where(np.isnan(line), np.nan, under[order])
    # per-game strings are shared by reference, which keeps memory flat
    game_txt = TEAM_NAME[away] + " @ " + TEAM_NAME[home]
    gt = np.array([f"{a}T{b}Z" for a, b in zip(utc_date, hhmm)], dtype=object)
    markets = np.array(list(eligible), dtype=object)
    cols = [
        _column_text(event_ids[g]),
        _column_text(names[pl]),
        _column_text(markets[mk_i]),
        _column_text(line),
        _column_text(np.array(BOOKMAKERS, dtype=object)[bk_i]),
        _column_text(game_txt[g]),
        _column_text(gt[g]),
        _column_text(over),
        _column_text(under),
    ]
    days = day[g]
    uniq = np.unique(days)
    bounds = np.searchsorted(days, uniq, side="left").tolist() + [len(days)]
    for k, d in enumerate(uniq):
        lo, hi = bounds[k], bounds[k + 1]
        dd = date.fromordinal(int(d))
        _write_lines(
            out / "odds" / "player_props" / f"raw_{dd:%Y%m%d}_170000.csv",
            PROPS_COLUMNS,
            list(map(",".join, zip(*(c[lo:hi] for c in cols)))),
        )
    return len(uniq)


def _game_lines(out, rng, strength, home, away, day, utc_date, hhmm, event_ids, utc_min, utc_day, label, year):
    n = len(home)
    exp_margin = 5.0 * (strength[home] - strength[away]) + 2.5
    spread = -(exp_margin + rng.normal(0.0, 1.5, n))
    quarter = rng.random(n) < 0.06  # consensus medians between two books land on .25/.75
    spread = np.where(quarter, np.round(spread * 4) / 4, np.round(spread * 2) / 2)
    total = np.round((226.0 + rng.normal(0.0, 7.0, n)) * 2) / 2
    p_home = 1.0 / (1.0 + np.exp(spread / 6.3))

    def ml(p):
        odds = _american(p + 0.022)
        half = rng.random(len(p)) < 0.2  # medians of an even number of books
        return np.where(half & (np.abs(odds) > 101), odds + np.sign(odds) * 0.5, odds)

    fg_home, fg_away = ml(p_home), ml(1.0 - p_home)
    fh_spread = np.round(spread / 2 * 2 + rng.normal(0.0, 0.5, n)) / 2
    fh_total = np.round((total / 2 + rng.normal(0.0, 1.0, n)) * 2) / 2
    fh_p = 1.0 / (1.0 + np.exp(fh_spread / 4.5))
    fh_home, fh_away = ml(fh_p), ml(1.0 - fh_p)
    missing = rng.random(n) < 0.006  # a few games without first-half markets
    fh = [np.where(missing, np.nan, v) for v in (fh_home, fh_away, fh_spread, fh_total)]

    # one snapshot a day at ~11:55 UTC on the game's Eastern date, sometimes days earlier
    back = np.where(rng.random(n) < 0.12, rng.integers(1, 4, n), 0)
    snap = [
        f"{date.fromordinal(int(d - b)).isoformat()} 11:55:{s}+00:00"
        for d, b, s in zip(day, back, rng.choice(["38", "39"], n))
    ]
    df = pd.DataFrame(
        {
            "event_id": event_ids,
            "commence_time": [f"{a} {b}+00:00" for a, b in zip(utc_date, hhmm)],
            "home_team": TEAM_NAME[home],
            "away_team": TEAM_NAME[away],
            "snapshot_timestamp": snap,
            "fg_ml_home": fg_home,
            "fg_ml_away": fg_away,
            "fg_spread_line": spread,
            "fg_total_line": total,
            "fh_ml_home": fh[0],
            "fh_ml_away": fh[1],
            "fh_spread_line": fh[2],
            "fh_total_line": fh[3],
            "line_date": utc_date,
            "season": f"{year}-{year + 1}",
            "_t": utc_day * 1440 + utc_min,
        }
    ).sort_values(["_t", "home_team"], kind="stable")
    _write_csv(df[GAME_LINES_COLUMNS], out / "odds" / "game_lines" / f"theodds_lines_{label}.csv")


# --------------------------------------------------------------------------------------------
# entry point


def generate_league(out_dir: str | os.PathLike, seasons: int = 1, first_season: int = 2024, seed: int = 7) -> dict:
    """Write `seasons` consecutive seasons (first_season = start year, 2024 -> '2024-25') into out_dir;
    return a summary dict:
    {"seasons": ["2024-25", ...], "games": int (regular season games), "player_rows": int, "prop_files": int,
    "first_date": "YYYY-MM-DD", "last_date": "YYYY-MM-DD", "out_dir": str}"""
    if seasons < 1:
        raise ValueError("seasons must be >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pool = _Pool(np.random.default_rng([seed, 0]))
    rosters = _initial_rosters(pool)
    results = []
    for k in range(seasons):
        if k:
            rosters = _next_rosters(pool, rosters)
        results.append(_season(out, pool, rosters, first_season + k, seed))
    on_roster = {p for r in rosters for p in r}
    players = pd.DataFrame(
        {
            "id": pool.ids,
            "full_name": pool.full,
            "first_name": pool.first,
            "last_name": pool.last,
            "is_active": [i in on_roster for i in range(len(pool.ids))],
        }
    ).sort_values(["last_name", "first_name", "id"], kind="stable")
    _write_csv(players, out / "reference" / "players.csv")
    teams = pd.DataFrame(
        list(TEAMS), columns=["id", "full_name", "abbreviation", "nickname", "city", "state", "year_founded"]
    )
    _write_csv(teams, out / "reference" / "teams.csv")
    return {
        "seasons": [r["label"] for r in results],
        "games": sum(r["games"] for r in results),
        "player_rows": sum(r["player_rows"] for r in results),
        "prop_files": sum(r["prop_files"] for r in results),
        "first_date": results[0]["first_date"],
        "last_date": results[-1]["last_date"],
        "out_dir": str(out),
    }
