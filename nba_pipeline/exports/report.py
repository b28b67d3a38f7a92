"""The daily report: one self-contained HTML page per game date, for the person who acts on the
picks. Pure functions: the page's data from the tables (`report_data`), the page from its data
(`render_report`), and the page read back (`read_report`, what the report's checks parse).

The page carries its data as JSON (`<script type="application/json" id="report-data">`), validated
by `files.ReportData`; the headline numbers, tables and plots are drawn from that one object, so the
checks compare what a reader sees with the tables through it. Nothing is recomputed from grades
here: the record is `performance_summary`'s rows as stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd
from markupsafe import Markup
from pydantic import BaseModel, ValidationError

from nba_pipeline.core.history import season_start
from nba_pipeline.core.seasons import GAME_TIMEZONE
from nba_pipeline.exports import plots
from nba_pipeline.exports.files import BestBetsFile, Bucket, Game, MaePoint, Pick, ProfitPoint, Record, ReportData
from nba_pipeline.exports.tables import ALL_MARKETS, MARKETS
from nba_pipeline.raw.tables import PROP_MARKETS

EASTERN = ZoneInfo(GAME_TIMEZONE)  # tip-off times are shown in ET, as the game dates are
# the periods of the record a reader compares: the season to date and the last 30 days
RECORD_PERIODS = ("season", "last30")
# MAE over time: the last 7 days' (one day's MAE is too noisy to read a trend from)
MAE_PERIOD = "last7"


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


_COUNTS = ("bets", "wins", "losses", "pushes", "played")
_RATES = ("hit_rate", "roi", "mae", "line_mae", "brier", "books_brier")
_RECORD_COLUMNS = ("market", "period", "period_start", *_COUNTS, "profit_units", *_RATES)


def _records(rows: pd.DataFrame) -> list[Record]:
    return [
        Record(
            market=r["market"],
            period=r["period"],
            period_start=pd.Timestamp(r["period_start"]).date(),
            **{c: int(r[c]) for c in _COUNTS},
            profit_units=float(r["profit_units"]),
            **{c: _opt(r[c]) for c in _RATES},
        )
        for r in rows[list(_RECORD_COLUMNS)].to_dict("records")  # the columns it reads: to_dict is per column
    ]


def report_data(
    day: dt.date,
    best_bets: BestBetsFile,
    games: pd.DataFrame,
    summary: pd.DataFrame,
    generated_at: dt.datetime,
    run_id: str,
) -> ReportData:
    """The page of `day`: its games (the schedule), its picks (the date's best-bets file, as the
    best_bets asset builds it) and the record through the latest summarized date of its season
    before it (`summary`: performance_summary rows of earlier dates; later ones are ignored)."""
    # compared as timestamps: `.dt.date` on every row, for each of a backfill's pages, was most of its cost
    on_day, season_from = pd.Timestamp(day), pd.Timestamp(season_start(day))
    g = games[games["game_date"] == on_day].sort_values(["start_time_utc", "game_id"], na_position="last")
    dates = summary["game_date"]
    before = summary[(dates < on_day) & (dates >= season_from)]
    return ReportData(
        game_date=day,
        generated_at=generated_at,
        run_id=run_id,
        games=[
            Game(
                game_id=str(r["game_id"]),
                away_team=r["away_team"],
                home_team=r["home_team"],
                start_time_utc=None if pd.isna(r["start_time_utc"]) else pd.Timestamp(r["start_time_utc"]),
            )
            for r in g[["game_id", "away_team", "home_team", "start_time_utc"]].to_dict("records")
        ],
        predictions=best_bets.predictions,
        candidates=best_bets.candidates,
        ev_threshold=best_bets.ev_threshold,
        top_n=best_bets.top_n,
        picks=best_bets.picks,
        **_record(before),
    )


def _record(before: pd.DataFrame) -> dict:
    """The record fields of ReportData from the season's summary rows before the page's date."""
    if before.empty:  # a season without a summarized date yet (most of a backfill's pages): no record
        fields = ("record", "profit_by_date", "calibration", "books_calibration", "mae_by_date")
        return {"record_through": None, **{f: [] for f in fields}}
    through = before["game_date"].max()
    at_end = before[before["game_date"] == through]
    record = at_end[at_end["period"].isin(RECORD_PERIODS)]
    record = record.assign(_m=record["market"].map({m: i for i, m in enumerate(MARKETS)})).sort_values(["period", "_m"])
    season_all = before[(before["period"] == "season") & (before["market"] == ALL_MARKETS)]
    day_all = before[(before["period"] == "day") & (before["market"] == ALL_MARKETS)].set_index("game_date")
    season_all = season_all[season_all["graded"] > 0].sort_values("game_date")
    mae = before[(before["period"] == MAE_PERIOD) & before["mae"].notna() & before["line_mae"].notna()]
    mae = mae.sort_values(["market", "game_date"])
    season_row = at_end[(at_end["period"] == "season") & (at_end["market"] == ALL_MARKETS)]

    def buckets(column: str) -> list[Bucket]:
        return [Bucket(**b) for b in json.loads(season_row[column].iloc[0])] if len(season_row) else []

    return {
        "record_through": through.date(),
        "record": _records(record),
        "profit_by_date": [
            ProfitPoint(
                game_date=r["game_date"].date(),
                day_profit_units=float(day_all.loc[r["game_date"], "profit_units"]),
                season_profit_units=float(r["profit_units"]),
            )
            for r in season_all[["game_date", "profit_units"]].to_dict("records")
        ],
        "calibration": buckets("calibration"),
        "books_calibration": buckets("books_calibration"),
        "mae_by_date": [
            MaePoint(game_date=r["game_date"].date(), market=r["market"], mae=r["mae"], line_mae=r["line_mae"])
            for r in mae[["game_date", "market", "mae", "line_mae"]].to_dict("records")
        ],
    }


# --- the page -----------------------------------------------------------------------------------

# the headline numbers a reader sees first, each tagged on the page with its metric and value so
# the checks read back exactly what is shown
HEADLINE_METRICS = ("bets", "hit_rate", "profit_units", "roi")


def headline_values(data: ReportData) -> dict[str, float | int | None]:
    """metric name on the page -> its value: the date's counts, and per record period its
    headline numbers over every market."""
    out: dict[str, float | int | None] = {
        "games": len(data.games),
        "predictions": data.predictions,
        "candidates": data.candidates,
        "picks": len(data.picks),
    }
    for period in RECORD_PERIODS:
        r = data.headline(period)
        for m in HEADLINE_METRICS:
            out[f"{period}_{m}"] = None if r is None else getattr(r, m)
    return out


def _fmt(v: float | int | None, metric: str) -> str:
    if v is None:
        return "–"
    if metric.endswith(("hit_rate", "roi")):
        return f"{v:+.1%}" if metric.endswith("roi") else f"{v:.1%}"
    if metric.endswith("profit_units"):
        return f"{v:+.2f} u"
    return f"{v:,}"


def _tip_off(t: dt.datetime | None) -> str:
    return "time tbd" if t is None else t.astimezone(EASTERN).strftime("%-I:%M %p ET")


@functools.cache  # one environment: it compiles the template once, not for every page
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nba_pipeline.exports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the render, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["tip_off"] = _tip_off
    env.filters["noun"] = lambda market: PROP_MARKETS.get(market, market)
    env.globals["pick_key"] = pick_key
    return env


def _embedded_json(data: ReportData) -> Markup:
    # inside <script>, "</" would end the element: JSON allows "<\/" for it
    return Markup(data.model_dump_json().replace("</", "<\\/"))


def render_report(data: ReportData) -> str:
    """The self-contained page: styles and plots inline, no script runs, nothing fetched."""
    figures = plots.report_figures(data) if data.has_record else {}
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            data=data,
            data_json=_embedded_json(data),
            headline=headline_values(data),
            figures={name: Markup(svg) for name, svg in figures.items()},
            periods=RECORD_PERIODS,
            markets=MARKETS,
            all_markets=ALL_MARKETS,
            mae_period=MAE_PERIOD,
        )
    )


def report_markdown(data: ReportData, picks_table: str) -> str:
    """The materialization's preview in the Dagster UI: the headline numbers, then the picks."""
    h = headline_values(data)
    lines = [f"**{data.game_date}**: {h['games']} game(s), {h['picks']} pick(s) of {h['candidates']} candidate(s)"]
    for period in RECORD_PERIODS:
        if h[f"{period}_bets"] is not None:
            shown = {m: _fmt(h[f"{period}_{m}"], m) for m in HEADLINE_METRICS}
            lines.append(
                f"- {period} through {data.record_through}: {shown['bets']} bets, hit rate {shown['hit_rate']}, "
                f"profit {shown['profit_units']}, ROI {shown['roi']}"
            )
    return "\n".join([*lines, "", picks_table])


# --- the page read back ---------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """What the checks read off a page: its embedded data, the headline values shown, the pick
    rows and the plots."""

    def __init__(self) -> None:
        super().__init__()
        self.data_json: str | None = None
        self.shown: dict[str, str] = {}
        self.pick_rows: list[str] = []
        self.plots: list[str] = []
        self.svgs = 0
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("id") == "report-data":
            self._in_data, self.data_json = True, ""
        elif tag == "svg":
            self.svgs += 1
        if "data-metric" in a:
            self.shown[a["data-metric"] or ""] = a.get("data-value") or ""
        if "data-pick" in a:
            self.pick_rows.append(a["data-pick"] or "")
        if "data-plot" in a:
            self.plots.append(a["data-plot"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data_json = (self.data_json or "") + data


class Page(BaseModel):
    """A report page as read back: its data and what it shows."""

    data: ReportData
    shown: dict[str, str]
    pick_rows: list[str]
    plots: list[str]
    svgs: int


def read_report(html: str | None) -> Page | str:
    """The page parsed, or why it could not be (missing, no data block, data not the schema)."""
    if html is None:
        return "file missing"
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    if parser.data_json is None:
        return "no report-data block"
    try:
        data = ReportData.model_validate_json(parser.data_json)
    except ValidationError as exc:
        return f"its data does not match the schema: {exc.error_count()} error(s), first: {exc.errors()[0]['loc']}"
    return Page(data=data, shown=parser.shown, pick_rows=parser.pick_rows, plots=parser.plots, svgs=parser.svgs)


def pick_key(p: Pick) -> str:
    """How a pick row is tagged on the page: what identifies the bet."""
    return f"{p.player_id}|{p.market}|{p.side}|{p.bookmaker}|{p.line:g}|{p.odds:+.0f}"


def shown_value(metric: str, value: float | int | None) -> str:
    """A headline value as the page tags it (data-value): exact, not formatted."""
    return "" if value is None else repr(value)


def expected_plots(data: ReportData) -> Sequence[str]:
    return plots.FIGURES if data.has_record else ()
