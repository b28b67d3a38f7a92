"""A local HTTP server answering like stats.nba.com and The Odds API, from a raw directory in the
files layout (the real data, or a ReplayWorld of it at some moment of a day).

Responses are built in the real APIs' JSON shapes, with their extra fields, their number types
and their date formats (leaguegamelog's ISO dates where the player file has 'OCT 21, 2025', box
score v3's nested teams and players, The Odds API's bookmakers/markets/outcomes), from the CSV
text and not from the pipeline's own readers, so a live client is checked against the formats,
not against itself. Faults (an HTTP status, a malformed body) can be queued per path.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
# the SeasonType parameter -> the first digit of SEASON_ID / the third of GAME_ID
SEASON_TYPE_DIGIT = {
    "Pre Season": "1",
    "Regular Season": "2",
    "All Star": "3",
    "Playoffs": "4",
    "PlayIn": "5",
    "IST": "6",
}
STRING_COLUMNS = {"SEASON_ID", "GAME_ID", "GAME_DATE", "MATCHUP", "WL", "TEAM_ABBREVIATION", "TEAM_NAME", "PLAYER_NAME"}
BOX_KEYS = [
    "minutes",
    "fieldGoalsMade",
    "fieldGoalsAttempted",
    "fieldGoalsPercentage",
    "threePointersMade",
    "threePointersAttempted",
    "threePointersPercentage",
    "freeThrowsMade",
    "freeThrowsAttempted",
    "freeThrowsPercentage",
    "reboundsOffensive",
    "reboundsDefensive",
    "reboundsTotal",
    "assists",
    "steals",
    "blocks",
    "turnovers",
    "foulsPersonal",
    "points",
    "plusMinusPoints",
]
BOOKS = {
    "draftkings": "DraftKings",
    "fanduel": "FanDuel",
    "betmgm": "BetMGM",
    "williamhill_us": "Caesars",
    "bovada": "Bovada",
    "betonlineag": "BetOnline.ag",
    "betrivers": "BetRivers",
    "fanatics": "Fanatics",
}
API_KEY = "test-key-123"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _number(text: str):
    """A CSV cell as the JSON number the API sends (null when empty)."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def _iso_date(text: str) -> str:
    if "-" in text:
        return text
    mon, rest = text.split(" ", 1)
    d, y = rest.split(", ")
    return f"{int(y):04d}-{MONTHS.index(mon.upper()) + 1:02d}-{int(d):02d}"


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))


def _z(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedData:
    """The API answers for a raw directory; re-read on every request (the world may change)."""

    def __init__(self, root: Path, now: dt.datetime):
        self.root, self.now = root, now
        self.postponed: set[str] = set()  # game ids the schedule shows as postponed
        self.edits: dict[str, Callable[[object], object]] = {}  # endpoint -> change to its answer (bad values)

    # reference ------------------------------------------------------------------------------
    def _teams(self) -> dict[str, dict[str, str]]:
        return {r["abbreviation"]: r for r in _rows(self.root / "reference" / "teams.csv")}

    def _players(self) -> dict[str, dict[str, str]]:
        return {r["id"]: r for r in _rows(self.root / "reference" / "players.csv")}

    @staticmethod
    def _result(name: str, headers: list[str], rows: list[list], params: dict[str, str], resource: str) -> dict:
        return {
            "resource": resource,
            "parameters": params,
            "resultSets": [{"name": name, "headers": headers, "rowSet": rows}],
        }

    # stats.nba.com ----------------------------------------------------------------------------
    def commonallplayers(self, q: dict[str, str]) -> dict:
        headers = [
            "PERSON_ID",
            "DISPLAY_LAST_COMMA_FIRST",
            "DISPLAY_FIRST_LAST",
            "ROSTERSTATUS",
            "FROM_YEAR",
            "TO_YEAR",
            "PLAYERCODE",
            "PLAYER_SLUG",
            "TEAM_ID",
            "TEAM_CITY",
            "TEAM_NAME",
            "TEAM_ABBREVIATION",
            "TEAM_CODE",
            "TEAM_SLUG",
            "GAMES_PLAYED_FLAG",
            "OTHERLEAGUE_EXPERIENCE_CH",
        ]
        rows = []
        for p in self._players().values():
            last_first = f"{p['last_name']}, {p['first_name']}" if p["last_name"] else p["first_name"]
            slug = p["full_name"].lower().replace(" ", "-")
            rows.append(
                [
                    int(p["id"]),
                    last_first,
                    p["full_name"],
                    1 if p["is_active"] == "True" else 0,
                    "2000",
                    "2025",
                    slug.replace("-", "_"),
                    slug,
                    0,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "Y",
                    "00",
                ]
            )
        return self._result("CommonAllPlayers", headers, rows, q, "commonallplayers")

    def leaguegamelog(self, q: dict[str, str]) -> dict:
        who, season = q["PlayerOrTeam"], q["Season"]
        digit = SEASON_TYPE_DIGIT[q["SeasonType"]]
        start = dt.datetime.strptime(q["DateFrom"], "%m/%d/%Y").date().isoformat()
        end = dt.datetime.strptime(q["DateTo"], "%m/%d/%Y").date().isoformat()
        folder = "team_game_logs" if who == "T" else "player_game_logs"
        path = self.root / folder / f"{season}.csv"
        rows = (
            [r for r in _rows(path) if r["SEASON_ID"][0] == digit and start <= _iso_date(r["GAME_DATE"]) <= end]
            if path.exists()
            else []
        )
        if who == "T":
            # the team log file is leaguegamelog's own format; the endpoint adds VIDEO_AVAILABLE
            # (a season without a file still answers with the headers, as the API does)
            header_file = path if path.exists() else next((self.root / "team_game_logs").glob("*.csv"))
            headers = [*_rows_header(header_file), "VIDEO_AVAILABLE"]
            out = [[r.get(h, "1") if h in STRING_COLUMNS else _number(r.get(h, "1")) for h in headers] for r in rows]
            return self._result("LeagueGameLog", headers, out, q, "leaguegamelog")
        teams, players = self._teams(), self._players()
        headers = [
            "SEASON_ID",
            "PLAYER_ID",
            "PLAYER_NAME",
            "TEAM_ID",
            "TEAM_ABBREVIATION",
            "TEAM_NAME",
            "GAME_ID",
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
            "FANTASY_PTS",
            "VIDEO_AVAILABLE",
        ]
        out = []
        for r in rows:
            team = teams[r["MATCHUP"][:3]]
            full = {
                **r,
                "PLAYER_ID": r["Player_ID"],
                "GAME_ID": r["Game_ID"],
                "GAME_DATE": _iso_date(r["GAME_DATE"]),
                "PLAYER_NAME": players.get(r["Player_ID"], {}).get("full_name", ""),
                "TEAM_ID": team["id"],
                "TEAM_ABBREVIATION": team["abbreviation"],
                "TEAM_NAME": team["full_name"],
                "FANTASY_PTS": "0.0",
            }
            out.append([full[h] if h in STRING_COLUMNS else _number(full[h]) for h in headers])
        return self._result("LeagueGameLog", headers, out, q, "leaguegamelog")

    def _schedule_games(self, season: str) -> list[dict[str, str]]:
        path = self.root / "schedule" / f"{season}.csv"
        return _rows(path) if path.exists() else []

    def scheduleleaguev2(self, q: dict[str, str]) -> dict:
        teams = self._teams()
        by_date: dict[str, list[dict]] = defaultdict(list)
        for g in self._schedule_games(q["Season"]):
            status, text = int(g["gameStatus"]), g["gameStatusText"]
            if g["gameId"] in self.postponed:
                status, text = 1, "PPD"
            tip = g["gameDateTimeUTC"]

            def team(abbr: str) -> dict:
                t = teams[abbr]
                return {
                    "teamId": int(t["id"]),
                    "teamName": t["nickname"],
                    "teamCity": t["city"],
                    "teamTricode": abbr,
                    "teamSlug": t["nickname"].lower(),
                    "wins": 0,
                    "losses": 0,
                    "score": 0,
                    "seed": None,
                }

            by_date[g["gameDateEst"]].append(
                {
                    "gameId": g["gameId"],
                    "gameCode": (
                        f"{g['gameDateEst'].replace('-', '')}/{g['awayTeam.teamTricode']}{g['homeTeam.teamTricode']}"
                    ),
                    "gameStatus": status,
                    "gameStatusText": text + " " if text else "",
                    "gameSequence": len(by_date[g["gameDateEst"]]) + 1,
                    "gameDateEst": f"{g['gameDateEst']}T00:00:00Z",
                    "gameDateTimeUTC": tip,
                    "gameDateUTC": tip[:10] + "T04:00:00Z" if tip else "",
                    "weekNumber": 3,
                    "gameLabel": "",
                    "arenaName": "",
                    "homeTeam": team(g["homeTeam.teamTricode"]),
                    "awayTeam": team(g["awayTeam.teamTricode"]),
                    "pointsLeaders": [],
                }
            )
        dates = [
            {"gameDate": dt.date.fromisoformat(d).strftime("%m/%d/%Y 00:00:00"), "games": games}
            for d, games in sorted(by_date.items())
        ]
        return {
            "meta": {"version": 1, "request": "scheduleleaguev2", "time": _z(self.now)},
            "leagueSchedule": {
                "seasonYear": q["Season"],
                "leagueId": "00",
                "gameDates": dates,
                "weeks": [],
                "broadcasterList": [],
            },
        }

    def boxscoretraditionalv3(self, q: dict[str, str]) -> dict | None:
        gid = q["GameID"]
        rows = []
        for path in sorted((self.root / "boxscores").glob("game_stats_*.csv")):
            rows += [r for r in _rows(path) if r["game_id"] == gid]
        if not rows:
            return None
        game = next(g for s in {_season_of(gid)} for g in self._schedule_games(s) if g["gameId"] == gid)
        teams, players = self._teams(), self._players()
        ids = {t["id"]: a for a, t in teams.items()}
        sides: dict[str, list[dict]] = defaultdict(list)
        seen = set()
        for r in rows:  # the flattened file lists every row twice
            if (r["team"], r["player"]) in seen:
                continue
            seen.add((r["team"], r["player"]))
            p = players.get(r["player"], {"first_name": "", "last_name": ""})
            stats = {k: (r[f"stats.{k}"] if k == "minutes" else _number(r[f"stats.{k}"])) for k in BOX_KEYS}
            sides[ids[r["team"]]].append(
                {
                    "personId": int(r["player"]),
                    "firstName": p["first_name"],
                    "familyName": p["last_name"],
                    "nameI": f"{p['first_name'][:1]}. {p['last_name']}",
                    "playerSlug": "",
                    "position": "",
                    "comment": "" if r["stats.minutes"] else "DNP - Coach's Decision",
                    "jerseyNum": "",
                    "statistics": stats,
                }
            )

        def side(abbr: str) -> dict:
            t = teams[abbr]
            return {
                "teamId": int(t["id"]),
                "teamCity": t["city"],
                "teamName": t["nickname"],
                "teamTricode": abbr,
                "teamSlug": t["nickname"].lower(),
                "players": sides[abbr],
                "statistics": {},
            }

        home, away = game["homeTeam.teamTricode"], game["awayTeam.teamTricode"]
        return {
            "meta": {"version": 1, "request": "boxscoretraditionalv3", "time": _z(self.now)},
            "boxScoreTraditional": {
                "gameId": gid,
                "awayTeamId": int(teams[away]["id"]),
                "homeTeamId": int(teams[home]["id"]),
                "homeTeam": side(home),
                "awayTeam": side(away),
            },
        }

    # The Odds API -----------------------------------------------------------------------------
    def _snapshot(self) -> list[dict[str, str]]:
        """The odds as they stand at `now`: the latest snapshot taken by then."""
        folder = self.root / "odds" / "player_props"
        taken = (
            sorted(
                p
                for p in folder.glob("raw_*.csv")
                if dt.datetime.strptime(p.name[4:19], "%Y%m%d_%H%M%S").replace(tzinfo=dt.UTC) <= self.now
            )
            if folder.is_dir()
            else []
        )
        return _rows(taken[-1]) if taken else []

    def _events(self, q: dict[str, str]) -> list[dict]:
        start, end = _utc(q["commenceTimeFrom"]), _utc(q["commenceTimeTo"])
        events: dict[str, dict] = {}
        for r in self._snapshot():
            away, _, home = r["game"].partition(" @ ")
            if start <= _utc(r["game_time"]) <= end and r["event_id"] not in events:
                events[r["event_id"]] = {
                    "id": r["event_id"],
                    "sport_key": "basketball_nba",
                    "sport_title": "NBA",
                    "commence_time": r["game_time"],
                    "home_team": home,
                    "away_team": away,
                }
        return sorted(events.values(), key=lambda e: (e["commence_time"], e["id"]))

    def events(self, q: dict[str, str]) -> list[dict]:
        return self._events(q)

    def event_odds(self, event_id: str, q: dict[str, str]) -> dict | None:
        rows = [r for r in self._snapshot() if r["event_id"] == event_id]
        if not rows:
            return None
        markets = set(q["markets"].split(","))
        away, _, home = rows[0]["game"].partition(" @ ")
        books: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            if r["market"] not in markets:
                continue
            for name, price in (("Over", r["over_odds"]), ("Under", r["under_odds"])):
                if price != "":
                    outcome = {"name": name, "description": r["player"], "price": _number(price)}
                    if r["line"] != "":
                        outcome["point"] = _number(r["line"])
                    books[r["bookmaker"]][r["market"]].append(outcome)
        update = _z(self.now)
        return {
            "id": event_id,
            "sport_key": "basketball_nba",
            "sport_title": "NBA",
            "commence_time": rows[0]["game_time"],
            "home_team": home,
            "away_team": away,
            "bookmakers": [
                {
                    "key": b,
                    "title": BOOKS.get(b, b),
                    "last_update": update,
                    "markets": [{"key": m, "last_update": update, "outcomes": o} for m, o in mk.items()],
                }
                for b, mk in books.items()
            ],
        }

    def odds(self, q: dict[str, str]) -> list[dict]:
        """Full-game h2h/spreads/totals: three books around each consensus line of the game lines
        file (their median is the file's value); events without lines come with no bookmakers."""
        start, end = _utc(q["commenceTimeFrom"]), _utc(q["commenceTimeTo"])
        lines = {}
        for path in sorted((self.root / "odds" / "game_lines").glob("theodds_lines_*.csv")):
            for r in _rows(path):
                if start <= _utc(r["commence_time"]) <= end:
                    lines[r["event_id"]] = r
        events = {e["id"]: e for e in self._events(q)}
        for eid, r in lines.items():
            events.setdefault(
                eid,
                {
                    "id": eid,
                    "sport_key": "basketball_nba",
                    "sport_title": "NBA",
                    "commence_time": _z(_utc(r["commence_time"])),
                    "home_team": r["home_team"],
                    "away_team": r["away_team"],
                },
            )
        out = []
        for eid, ev in sorted(events.items(), key=lambda kv: (kv[1]["commence_time"], kv[0])):
            r, books = lines.get(eid), []
            for i, book in enumerate(["draftkings", "fanduel", "betmgm"] if r else []):
                d = i - 1  # -1, 0, +1 around the consensus
                markets = []
                if r["fg_ml_home"] and r["fg_ml_away"]:
                    markets.append(
                        {
                            "key": "h2h",
                            "outcomes": [
                                {"name": ev["home_team"], "price": float(r["fg_ml_home"]) + 5 * d},
                                {"name": ev["away_team"], "price": float(r["fg_ml_away"]) - 5 * d},
                            ],
                        }
                    )
                if r["fg_spread_line"]:
                    s = float(r["fg_spread_line"]) + 0.5 * d
                    markets.append(
                        {
                            "key": "spreads",
                            "outcomes": [
                                {"name": ev["home_team"], "price": -110, "point": s},
                                {"name": ev["away_team"], "price": -110, "point": -s},
                            ],
                        }
                    )
                if r["fg_total_line"]:
                    t = float(r["fg_total_line"]) + d
                    markets.append(
                        {
                            "key": "totals",
                            "outcomes": [
                                {"name": "Over", "price": -110, "point": t},
                                {"name": "Under", "price": -110, "point": t},
                            ],
                        }
                    )
                books.append({"key": book, "title": BOOKS[book], "last_update": _z(self.now), "markets": markets})
            out.append({**ev, "bookmakers": books})
        return out


def _rows_header(path: Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f))


def _season_of(game_id: str) -> str:
    y = 2000 + int(game_id[3:5])
    return f"{y}-{(y + 1) % 100:02d}"


class FeedServer:
    """Serves FeedData on 127.0.0.1 under /stats/... and /v4/sports/basketball_nba/...

    `faults[path]`: responses to give before the real one, each an HTTP status (with a JSON error
    body; 429 carries Retry-After: 0) or 'malformed' (a 200 whose body is cut off). The odds
    endpoints answer 401 to any key but `api_key`."""

    def __init__(self, root: Path, now: dt.datetime, api_key: str = API_KEY):
        self.data = FeedData(root, now)
        self.api_key = api_key
        self.faults: dict[str, list] = defaultdict(list)
        self.hits: dict[str, int] = defaultdict(int)
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                server.hits[url.path] += 1
                server.requests.append(self.path)
                status, headers, body = server._answer(url.path, q)
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, path: str, q: dict[str, str]) -> tuple[int, dict, bytes]:
        if self.faults.get(path):
            fault = self.faults[path].pop(0)
            if fault == "malformed":
                return 200, {}, b'{"resultSets": [{"name": "LeagueGameLog", "headers": ['
            headers = {"Retry-After": "0"} if fault == 429 else {}
            return fault, headers, json.dumps({"message": f"injected {fault}"}).encode()
        d = self.data
        odds_prefix = "/v4/sports/basketball_nba/"
        if path.startswith(odds_prefix):
            if q.get("apiKey") != self.api_key:
                return 401, {}, json.dumps({"message": "API key is not valid", "error_code": "INVALID_KEY"}).encode()
            rest = path[len(odds_prefix) :]
            if rest == "events":
                body = d.events(q)
            elif rest == "odds":
                body = d.odds(q)
            elif rest.startswith("events/") and rest.endswith("/odds"):
                body = d.event_odds(rest.split("/")[1], q)
                if body is None:
                    return 404, {}, json.dumps({"message": "Event not found", "error_code": "EVENT_NOT_FOUND"}).encode()
            else:
                return 404, {}, b'{"message": "Unknown endpoint"}'
            body = d.edits.get(rest.split("/")[-1], lambda b: b)(body)
            return (
                200,
                {"x-requests-remaining": "19000", "x-requests-used": str(sum(self.hits.values()))},
                json.dumps(body).encode(),
            )
        if path.startswith("/stats/"):
            endpoint = path[len("/stats/") :]
            handler = getattr(d, endpoint, None)
            if handler is None:
                return 404, {}, b"<html>Not Found</html>"
            body = d.edits.get(endpoint, lambda b: b)(handler(q))
            if body is None:
                return 200, {}, json.dumps({"meta": {}, "boxScoreTraditional": None}).encode()
            return 200, {}, json.dumps(body).encode()
        return 404, {}, b"not found"
