"""The daily report page: what it shows on a game day with picks, a day without games and a day
with no edge; that it is self-contained; and that its checks fail on a page that differs from
its data or from the tables."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from nba_pipeline.exports import checks, report, transforms
from nba_pipeline.exports.tables import PERIODS
from nba_pipeline.raw.tables import schedule
from nba_pipeline_tests.browser import browser_page, needs_browser
from nba_pipeline_tests.exports.test_transforms import (
    NOW,
    POINTS,
    REBOUNDS,
    THREES,
    THREES_FEATURES,
    THREES_PICK,
    _features,
    _prediction,
    accuracy_frame,
    day_rows,
    graded,
)

GAME_DAY = dt.date(2025, 11, 2)
KEY = GAME_DAY.isoformat()


def _games(day: dt.date, n: int = 2) -> pd.DataFrame:
    rows = [
        {
            "game_id": f"00225001{i:02d}",
            "game_date": pd.Timestamp(day),
            "season": "2025-26",
            "season_type": "regular",
            "home_team": home,
            "away_team": away,
            "home_team_id": 1610612700 + i,
            "away_team_id": 1610612750 + i,
            "status": "scheduled",
            # 7:30 pm ET = 00:30 UTC the next day (EST, UTC-5, in November)
            "start_time_utc": pd.Timestamp(f"{day + dt.timedelta(days=1)} 0{i}:30", tz="UTC"),
            "home_points": None,
            "away_points": None,
            "overtime_periods": None,
            "player_stats_expected": True,
        }
        for i, (home, away) in enumerate([("BOS", "NYK"), ("LAL", "DEN")][:n])
    ]
    return schedule.conform(pd.DataFrame(rows, columns=schedule.column_names))


def _summary(through: dt.date = dt.date(2025, 11, 1)) -> pd.DataFrame:
    """performance_summary from Oct 1 to `through`: the hand-graded 2025-11-01 plus a day before."""
    earlier = graded(
        "2025-10-30", POINTS, line=20.5, predicted=22.0, actual=25, outcome="OVER", bet_result="WIN", profit=0.9091
    )
    acc = accuracy_frame([earlier, *day_rows()])
    days = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range((through - dt.date(2025, 10, 1)).days + 1)]
    return transforms.performance_summary(acc, days)


def _predictions(day: dt.date, edge: bool = True) -> pd.DataFrame:
    ts = pd.Timestamp(day)
    rows = [
        {**THREES_PICK, "game_date": ts, "player_name": "Jalen <Brunson> & Co"},  # escaped, not markup
        _prediction(1, 0.035, day=ts),
        _prediction(3, None, "PASS", market=REBOUNDS, day=ts),
    ]
    if not edge:
        rows = [_prediction(i, None, "PASS", market=m, day=ts) for i, m in ((1, POINTS), (3, REBOUNDS), (7, THREES))]
    return pd.DataFrame(rows)


def _page(
    day: dt.date, pred: pd.DataFrame, games: pd.DataFrame, summary: pd.DataFrame
) -> tuple[str, report.ReportData]:
    bets = transforms.best_bets_files(pred, _features(pred, **THREES_FEATURES), [day], 10, NOW, "run-1234abcd")
    data = report.report_data(day, bets[day.isoformat()], games, summary, NOW, "run-1234abcd")
    return report.render_report(data), data


def _outcomes(html: str | None, pred, summary, games, key: str = KEY):
    pages = {key: (report.read_report(html), 0 if html is None else len(html.encode()))}
    return checks.page_valid(pages, [key])[key], checks.report_matches_tables(pages, pred, summary, games, [key])[key]


def test_a_game_day_page_shows_games_picks_record_and_plots():
    pred, games, summary = _predictions(GAME_DAY), _games(GAME_DAY), _summary()
    html, data = _page(GAME_DAY, pred, games, summary)
    valid, matches = _outcomes(html, pred, summary, games)
    assert valid.passed and matches.passed, (valid.description, matches.description)
    # the games at their ET tip-off, the picks best first with their reasoning
    assert "NYK @ BOS · 7:30 PM ET" in html and "DEN @ LAL · 8:30 PM ET" in html
    assert [p.player_id for p in data.picks] == [7, 1]
    assert 'id="picks"' in html and "OVER 1.5" in html and "fanduel" in html and "+120" in html and "+8.1%" in html
    assert data.picks[0].summary in html
    assert "Jalen &lt;Brunson&gt; &amp; Co" in html  # a name is text, never markup
    # the record through the day before, from the summary as stored; three inline plots
    assert data.record_through == dt.date(2025, 11, 1)
    season = data.headline("season")
    assert (season.bets, season.wins, season.losses, season.pushes) == (4, 2, 1, 1)
    assert season.profit_units == pytest.approx(1.4091)
    assert 'data-metric="season_profit_units" data-value="1.4091"' in html and "+1.41 u" in html
    assert report.read_report(html).plots == ["profit", "markets", "mae"] and html.count("<svg") == 3
    assert [(p.game_date, p.season_profit_units) for p in data.profit_by_date] == [
        (dt.date(2025, 10, 30), 0.9091),
        (dt.date(2025, 10, 31), 0.9091),
        (dt.date(2025, 11, 1), 1.4091),
    ]
    assert {(b.p_from, b.rows) for b in data.books_calibration} == {(0.5, 4)}  # every books_p_over is 0.5
    # self-contained: nothing to fetch, no script to run but the page's data
    assert not re.search(r"(src|href)=\"?(https?:|//)", html) and "@import" not in html
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="report-data">']
    assert len(html.encode()) < checks.MAX_REPORT_BYTES
    # a re-render of the same data is the same page (the plots' ids depend on the data only)
    assert report.render_report(data) == html


def test_a_day_without_games_still_shows_the_record():
    day = dt.date(2025, 11, 3)
    empty = _predictions(day).iloc[0:0]
    html, data = _page(day, empty, _games(day, n=0), _summary(dt.date(2025, 11, 2)))
    assert 'id="no-games"' in html and "No NBA games on 2025-11-03" in html and "No games, no picks." in html
    assert data.record_through == dt.date(2025, 11, 2) and html.count("<svg") == 3
    valid, matches = _outcomes(html, empty, _summary(dt.date(2025, 11, 2)), _games(day, n=0), day.isoformat())
    assert valid.passed and matches.passed, (valid.description, matches.description)


def test_a_day_with_no_edge_says_so():
    pred, games, summary = _predictions(GAME_DAY, edge=False), _games(GAME_DAY), _summary()
    html, data = _page(GAME_DAY, pred, games, summary)
    assert data.picks == [] and 'id="no-edge"' in html and "No edge today." in html
    assert "None of the 3 predictions found a price worth betting" in html and 'id="picks"' not in html
    valid, matches = _outcomes(html, pred, summary, games)
    assert valid.passed and matches.passed


@needs_browser
def test_a_no_edge_page_in_chromium(tmp_path):
    """Opened from disk: the no-edge notice where the picks would be, the record's plots drawn."""
    pred, games, summary = _predictions(GAME_DAY, edge=False), _games(GAME_DAY), _summary()
    html, _ = _page(GAME_DAY, pred, games, summary)
    path = tmp_path / "report.html"
    path.write_text(html)
    with browser_page(width=1200, height=900) as page:
        page.goto(path.as_uri())
        assert page.locator("#no-edge").inner_text().startswith("No edge today.")
        assert page.locator("#picks").count() == 0 and page.locator("ul.games li").count() == 2
        boxes = [page.locator(f'figure[data-plot="{n}"] svg').bounding_box() for n in ("profit", "markets", "mae")]
        assert all(b is not None and b["height"] > 150 for b in boxes), boxes
        assert page.evaluate("document.documentElement.scrollWidth") <= 1200  # nothing wider than the window


def test_the_seasons_first_day_has_no_record_and_no_plots():
    day = dt.date(2025, 10, 1)
    empty = _predictions(day).iloc[0:0]
    html, data = _page(day, empty, _games(day, n=0), _summary())  # summaries of later dates are not its record
    assert data.record_through is None and data.record == [] and not data.has_record
    assert 'id="no-record"' in html and "<svg" not in html
    assert 'data-metric="season_bets" data-value=""' in html
    valid, matches = _outcomes(html, empty, _summary(), _games(day, n=0), day.isoformat())
    assert valid.passed and matches.passed, (valid.description, matches.description)


def test_the_checks_fail_on_a_page_that_differs_from_its_data_or_the_tables():
    pred, games, summary = _predictions(GAME_DAY), _games(GAME_DAY), _summary()
    html, data = _page(GAME_DAY, pred, games, summary)
    valid, matches = _outcomes(None, pred, summary, games)
    assert not valid.passed and valid.description == f"{KEY}: report/{KEY}.html: file missing"
    assert not matches.passed
    # a headline number edited on the page
    edited = html.replace('data-metric="season_bets" data-value="4"', 'data-metric="season_bets" data-value="5"')
    valid, _ = _outcomes(edited, pred, summary, games)
    assert not valid.passed and "headline season_bets shows '5', its data 4" in valid.description
    # a plot lost, a pick row lost
    valid, _ = _outcomes(re.sub(r'<figure data-plot="mae">.*?</figure>', "", html, flags=re.S), pred, summary, games)
    assert not valid.passed and "plots ['profit', 'markets']" in valid.description
    valid, _ = _outcomes(html.replace('<tr data-pick="1|', '<tr data-x="1|'), pred, summary, games)
    assert not valid.passed and "1 pick row(s) shown, 2 pick(s) in its data" in valid.description
    # no data block, or data that is not the schema
    assert (
        "no report-data block"
        in _outcomes(html.replace('id="report-data"', 'id="x"'), pred, summary, games)[0].description
    )
    assert (
        "does not match the schema"
        in _outcomes(html.replace('"top_n":10', '"top_n":"x"'), pred, summary, games)[0].description
    )
    # the tables moved on: a re-graded day, another pick, another game
    regraded = summary.copy()
    regraded.loc[(regraded["period"] == "season") & (regraded["market"] == "all"), "profit_units"] += 1.0
    _, matches = _outcomes(html, pred, regraded, games)
    assert not matches.passed and "season all: profit_units differ from performance_summary" in matches.description
    better = pd.concat([pred, pd.DataFrame([_prediction(9, 0.2, day=pd.Timestamp(GAME_DAY))])], ignore_index=True)
    _, matches = _outcomes(html, better, summary, games)
    assert not matches.passed and "2 predictions" not in matches.description
    assert "3 predictions on the page, 4 stored" in matches.description and "first at #1: 7|" in matches.description
    _, matches = _outcomes(html, pred, summary, _games(GAME_DAY, n=1))
    assert not matches.passed and "2 games on the page, 1 stored" in matches.description
    # a page over the size limit
    pages = {KEY: (report.read_report(html), checks.MAX_REPORT_BYTES + 1)}
    assert "over 2,000,000" in checks.page_valid(pages, [KEY])[KEY].description


def test_the_preview_states_the_headline_and_the_picks():
    pred, games, summary = _predictions(GAME_DAY), _games(GAME_DAY), _summary()
    _, data = _page(GAME_DAY, pred, games, summary)
    md = report.report_markdown(data, "| picks |")
    assert md.startswith("**2025-11-02**: 2 game(s), 2 pick(s) of 2 candidate(s)")
    assert "- season through 2025-11-01: 4 bets, hit rate 66.7%, profit +1.41 u, ROI +35.2%" in md
    assert md.endswith("| picks |") and set(report.RECORD_PERIODS) <= set(PERIODS)
