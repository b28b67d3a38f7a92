"""NBA.com stats endpoints, flattened into the files source's feed formats (formats.py).

Every response is validated before use: the expected result set and headers (or JSON keys) must be
there, and each value is converted and checked exactly as a file's would be; a bad value is
reported with the request, its row and column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from nba_pipeline.core.history import season_start_year
from nba_pipeline.raw import formats
from nba_pipeline.raw.feeds import Field, concat_feeds, typed_rows
from nba_pipeline.raw.sources.live.http import FeedRequestError, JsonHttp

STATS_URL = "https://stats.nba.com/stats"
# stats.nba.com answers only requests that look like they come from nba.com
STATS_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) nba_pipeline",
    "Accept": "application/json, text/plain, */*",
    "Referer": "https://www.nba.com/",
    "Origin": "https://www.nba.com",
}
# the SeasonType parameter of each season type (the game id's third digit tells them apart too)
SEASON_TYPE_PARAM = {
    "preseason": "Pre Season",
    "regular": "Regular Season",
    "playoffs": "Playoffs",
    "play_in": "PlayIn",
    "cup_final": "IST",
}
# leaguegamelog (player) names -> the player game log file's names (formats.PLAYER_GAME_LOG)
_PLAYER_LOG_NAMES = {"PLAYER_ID": "Player_ID", "GAME_ID": "Game_ID"}
# ... whose dates are ISO, where the per-player endpoint the files come from writes 'OCT 21, 2025'
_LIVE_PLAYER_GAME_LOG = [Field(f.name, "date") if f.name == "GAME_DATE" else f for f in formats.PLAYER_GAME_LOG]
# box score v3 statistics keys -> the flattened file's columns
_BOX_STATS = ["minutes", *(k.removeprefix("stats.") for k in formats.BOXSCORE_STATS), "plusMinusPoints"]


def seasons_between(start: dt.date, end: dt.date) -> list[str]:
    first, last = season_start_year(start), season_start_year(end)
    return [f"{y}-{(y + 1) % 100:02d}" for y in range(first, last + 1)]


def _mdy(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


class NbaStatsApi:
    def __init__(self, http: JsonHttp, base_url: str = STATS_URL):
        self.http, self.base = http, base_url.rstrip("/")

    def _get(self, endpoint: str, params: dict[str, str]) -> tuple[str, object]:
        url = f"{self.base}/{endpoint}"
        shown = url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        return shown, self.http.get(url, params)

    def _result_set(
        self, endpoint: str, params: dict[str, str], name: str, needed: Iterable[str]
    ) -> tuple[str, pd.DataFrame]:
        shown, body = self._get(endpoint, params)
        sets = body.get("resultSets") if isinstance(body, dict) else None
        found = next((s for s in sets or [] if isinstance(s, dict) and s.get("name") == name), None)
        if found is None or not isinstance(found.get("headers"), list) or not isinstance(found.get("rowSet"), list):
            raise FeedRequestError(shown, f"no result set {name!r} with headers and rowSet")
        headers = found["headers"]
        missing = [h for h in needed if h not in headers]
        if missing:
            raise FeedRequestError(shown, f"result set {name!r} lacks column(s) {missing}")
        bad = next(
            (i for i, r in enumerate(found["rowSet"]) if not isinstance(r, list) or len(r) != len(headers)), None
        )
        if bad is not None:
            raise FeedRequestError(shown, f"row {bad + 1} of {name!r} does not have {len(headers)} values")
        return shown, pd.DataFrame(found["rowSet"], columns=headers, dtype=object)

    # ------------------------------------------------------------------------------------------
    def game_log(
        self, who: str, season: str, season_type: str, start: dt.date, end: dt.date
    ) -> tuple[str, pd.DataFrame]:
        """leaguegamelog rows (who: 'T' teams, 'P' players) of one season type, untyped."""
        needed = (
            [f.name for f in formats.TEAM_GAME_LOG]
            if who == "T"
            else ["PLAYER_ID", "GAME_ID", "GAME_DATE", "MATCHUP", "MIN", "PTS"]
        )
        return self._result_set(
            "leaguegamelog",
            {
                "Counter": "0",
                "DateFrom": _mdy(start),
                "DateTo": _mdy(end),
                "Direction": "ASC",
                "LeagueID": "00",
                "PlayerOrTeam": who,
                "Season": season,
                "SeasonType": SEASON_TYPE_PARAM[season_type],
                "Sorter": "DATE",
            },
            "LeagueGameLog",
            needed,
        )

    def _game_logs(
        self,
        who: str,
        seasons: list[str],
        season_types: Iterable[str],
        start: dt.date,
        end: dt.date,
        fields: list[Field],
        rename: dict[str, str],
    ) -> pd.DataFrame:
        frames = []
        for season in seasons:
            for st in season_types:
                if st in SEASON_TYPE_PARAM:
                    shown, df = self.game_log(who, season, st, start, end)
                    frames.append(typed_rows(shown, df.rename(columns=rename), fields))
        return concat_feeds(frames, fields)

    def team_game_logs(
        self, seasons: list[str], season_types: Iterable[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        return self._game_logs("T", seasons, season_types, start, end, formats.TEAM_GAME_LOG, {})

    def player_game_logs(
        self, seasons: list[str], season_types: Iterable[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        return self._game_logs("P", seasons, season_types, start, end, _LIVE_PLAYER_GAME_LOG, _PLAYER_LOG_NAMES)

    def players(self, season: str) -> pd.DataFrame:
        """commonallplayers: every player with an NBA.com id (formats.PLAYERS)."""
        shown, df = self._result_set(
            "commonallplayers",
            {"IsOnlyCurrentSeason": "0", "LeagueID": "00", "Season": season},
            "CommonAllPlayers",
            ["PERSON_ID", "DISPLAY_FIRST_LAST", "ROSTERSTATUS"],
        )
        flat = pd.DataFrame(
            {
                "id": df["PERSON_ID"],
                "full_name": df["DISPLAY_FIRST_LAST"],
                "is_active": df["ROSTERSTATUS"].map(lambda v: "True" if str(v) in ("1", "True", "true") else "False"),
            }
        )
        return typed_rows(shown, flat, formats.PLAYERS)

    def schedule(self, season: str) -> pd.DataFrame:
        """scheduleleaguev2, one row per game (formats.SCHEDULE)."""
        shown, body = self._get("scheduleleaguev2", {"LeagueID": "00", "Season": season})
        try:
            dates = body["leagueSchedule"]["gameDates"]
            games = [g for d in dates for g in d["games"]]
            rows = [
                {
                    "gameId": g["gameId"],
                    "gameDateEst": str(g["gameDateEst"])[:10],
                    "gameDateTimeUTC": g.get("gameDateTimeUTC") or "",
                    "gameStatus": g["gameStatus"],
                    "gameStatusText": (g.get("gameStatusText") or "").strip(),
                    "homeTeam.teamTricode": g["homeTeam"]["teamTricode"],
                    "awayTeam.teamTricode": g["awayTeam"]["teamTricode"],
                }
                for g in games
            ]
        except (KeyError, TypeError) as exc:
            raise FeedRequestError(shown, f"not a league schedule: missing {exc}") from None
        return typed_rows(
            shown, pd.DataFrame(rows, columns=[f.name for f in formats.SCHEDULE], dtype=object), formats.SCHEDULE
        )

    def boxscore(self, game_id: str) -> pd.DataFrame:
        """boxscoretraditionalv3 of one game, flattened like the box score files (formats.BOXSCORE):
        home team then away team, each team's players in the feed's order (starters first)."""
        shown, body = self._get(
            "boxscoretraditionalv3",
            {
                "GameID": game_id,
                "StartPeriod": "0",
                "EndPeriod": "0",
                "StartRange": "0",
                "EndRange": "0",
                "RangeType": "0",
            },
        )
        try:
            box = body["boxScoreTraditional"]
            rows = []
            for side in ("homeTeam", "awayTeam"):
                team = box[side]
                for p in team["players"]:
                    stats = p["statistics"]
                    rows.append(
                        {
                            "team": team["teamId"],
                            "player": p["personId"],
                            **{f"stats.{k}": stats[k] for k in _BOX_STATS},
                            "game_id": box["gameId"],
                        }
                    )
        except (KeyError, TypeError) as exc:
            raise FeedRequestError(shown, f"not a box score: missing {exc}") from None
        df = pd.DataFrame(rows, columns=[f.name for f in formats.BOXSCORE], dtype=object)
        df["stats.minutes"] = df["stats.minutes"].map(_minutes)
        return typed_rows(shown, df, formats.BOXSCORE)


def _minutes(value) -> str:
    """'34:12' as is; the ISO 8601 'PT34M12.00S' some endpoints write, as mm:ss; empty if none."""
    text = "" if value is None else str(value).strip()
    if text.startswith("PT") and text.endswith("S") and "M" in text:
        m, s = text[2:-1].split("M")
        return f"{int(m)}:{round(float(s)):02d}"
    return text
