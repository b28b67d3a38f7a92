"""The Odds API (v4): the day's NBA events, their player props and full-game lines,
flattened into the files source's feed formats (formats.PLAYER_PROPS, formats.GAME_LINES)."""

from __future__ import annotations

import datetime as dt
import statistics

import pandas as pd

from nba_pipeline.raw import formats
from nba_pipeline.raw import tables as raw_tables
from nba_pipeline.raw.feeds import typed_rows
from nba_pipeline.raw.sources.live.http import FeedRequestError, JsonHttp

ODDS_URL = "https://api.the-odds-api.com"
SPORT = "basketball_nba"
PROP_MARKETS = ",".join(raw_tables.PROP_MARKETS)  # every market the platform prices


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OddsApi:
    def __init__(self, http: JsonHttp, api_key: str, base_url: str = ODDS_URL, regions: str = "us"):
        if not api_key:
            raise ValueError("The Odds API needs a key: set NBA_ODDS_API_KEY")
        self.http, self.key, self.base, self.regions = http, api_key, base_url.rstrip("/"), regions

    def _get(self, path: str, **params: str) -> tuple[str, object]:
        url = f"{self.base}/v4/sports/{SPORT}/{path}"
        shown = url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        return shown, self.http.get(url, {"apiKey": self.key, **params}, redact=("apiKey",))

    def events(self, start: dt.datetime, end: dt.datetime) -> list[dict]:
        """Events (games) starting in [start, end)."""
        shown, body = self._get("events", commenceTimeFrom=_iso(start), commenceTimeTo=_iso(end))
        if not isinstance(body, list) or any(
            not isinstance(e, dict) or not {"id", "commence_time", "home_team", "away_team"} <= e.keys() for e in body
        ):
            raise FeedRequestError(shown, "not a list of events with id, commence_time, home_team, away_team")
        return body

    def player_props(self, event: dict) -> pd.DataFrame:
        """One event's player props in every priced market, one row per (book, market, player,
        line) with both prices (PLAYER_PROPS)."""
        shown, body = self._get(
            f"events/{event['id']}/odds", regions=self.regions, markets=PROP_MARKETS, oddsFormat="american"
        )
        rows: dict[tuple, dict] = {}
        try:
            game = f"{body['away_team']} @ {body['home_team']}"
            for book in body.get("bookmakers", []):
                for market in book["markets"]:
                    for o in market["outcomes"]:
                        key = (book["key"], market["key"], o["description"], o.get("point"))
                        row = rows.setdefault(
                            key,
                            {
                                "event_id": body["id"],
                                "player": o["description"],
                                "market": market["key"],
                                "line": o.get("point"),
                                "bookmaker": book["key"],
                                "game": game,
                                "game_time": body["commence_time"],
                                "over_odds": None,
                                "under_odds": None,
                            },
                        )
                        side = {"Over": "over_odds", "Under": "under_odds"}.get(o["name"])
                        if side is None:
                            raise FeedRequestError(shown, f"outcome {o['name']!r} is neither Over nor Under")
                        row[side] = o["price"]
        except (KeyError, TypeError) as exc:
            raise FeedRequestError(shown, f"not event odds: missing {exc}") from None
        df = pd.DataFrame(list(rows.values()), columns=[f.name for f in formats.PLAYER_PROPS], dtype=object)
        return typed_rows(shown, df, formats.PLAYER_PROPS)

    def game_lines(self, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> pd.DataFrame:
        """Consensus (median over books) moneylines, spread and total of games starting in
        [start, end), one row per game (GAME_LINES; the first-half markets are not requested)."""
        shown, body = self._get(
            "odds",
            regions=self.regions,
            markets="h2h,spreads,totals",
            oddsFormat="american",
            commenceTimeFrom=_iso(start),
            commenceTimeTo=_iso(end),
        )
        if not isinstance(body, list):
            raise FeedRequestError(shown, "not a list of events")
        rows = []
        try:
            for ev in body:
                home, away = ev["home_team"], ev["away_team"]
                ml_home, ml_away, spread, total = [], [], [], []
                for book in ev.get("bookmakers", []):
                    for m in book["markets"]:
                        by_name = {o["name"]: o for o in m["outcomes"]}
                        if m["key"] == "h2h" and home in by_name and away in by_name:
                            ml_home.append(by_name[home]["price"])
                            ml_away.append(by_name[away]["price"])
                        elif m["key"] == "spreads" and home in by_name:
                            spread.append(by_name[home]["point"])
                        elif m["key"] == "totals" and "Over" in by_name:
                            total.append(by_name["Over"]["point"])
                rows.append(
                    {
                        "event_id": ev["id"],
                        "commence_time": ev["commence_time"],
                        "home_team": home,
                        "away_team": away,
                        "snapshot_timestamp": _iso(now),
                        "fg_ml_home": _median(ml_home),
                        "fg_ml_away": _median(ml_away),
                        "fg_spread_line": _median(spread),
                        "fg_total_line": _median(total),
                        "fh_ml_home": None,
                        "fh_ml_away": None,
                        "fh_spread_line": None,
                        "fh_total_line": None,
                    }
                )
        except (KeyError, TypeError) as exc:
            raise FeedRequestError(shown, f"not a list of event odds: missing {exc}") from None
        df = pd.DataFrame(rows, columns=[f.name for f in formats.GAME_LINES], dtype=object)
        return typed_rows(shown, df, formats.GAME_LINES)


def _median(values: list) -> float | None:
    return float(statistics.median(values)) if values else None
