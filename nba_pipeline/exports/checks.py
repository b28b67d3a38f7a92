"""Per-partition checks of the `nba_exports` assets: every best-bets file exists, matches its
declared schema and holds exactly the top recommendations of the stored predictions; the
performance summary has its four periods per market (and all of them) for every date, its day
rows agree with the grades, its "all" rows are the sum of the markets' and its calibrations
bucket every row once; every report page parses, shows what its data holds, and that data is the
tables'."""

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd
from pydantic import ValidationError

from nba_pipeline.core.checks.common import day_counts, failed_because, in_range_check, rows_match, table_checks
from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck
from nba_pipeline.core.history import season_start
from nba_pipeline.exports import files, report, tables
from nba_pipeline.exports.directory import ExportsDirectory
from nba_pipeline.exports.transforms import candidates, top_picks
from nba_pipeline.predictions import tables as predictions_tables
from nba_pipeline.raw import tables as raw_tables

PPP, PA, PS = (
    predictions_tables.player_prop_predictions.name,
    predictions_tables.prediction_accuracy.name,
    tables.performance_summary.name,
)
# probabilities, EVs and profits are written rounded to 4 decimals
TOLERANCE = 1e-3


def read_best_bets(texts: Mapping[str, str | None]) -> dict[str, files.BestBetsFile | str]:
    """Each date's file parsed against the declared schema, or why it could not be."""
    out: dict[str, files.BestBetsFile | str] = {}
    for day, text in texts.items():
        if text is None:
            out[day] = "file missing"
            continue
        try:
            parsed = files.BestBetsFile.model_validate_json(text)
        except ValidationError as exc:
            out[day] = (
                f"does not match the schema: {exc.error_count()} error(s), "
                f"first: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
            )
            continue
        out[day] = parsed if parsed.game_date.isoformat() == day else f"file is dated {parsed.game_date}, not {day}"
    return out


def file_valid(parsed: Mapping[str, files.BestBetsFile | str], keys: Sequence[str]) -> Outcomes:
    return {
        k: Outcome(
            passed=not isinstance(parsed[k], str),
            metadata={
                "path": files.best_bets.relative_path(k),
                **({"problem": parsed[k]} if isinstance(parsed[k], str) else {"picks": len(parsed[k].picks)}),
            },
            description=failed_because(k, f"{files.best_bets.relative_path(k)}: {parsed[k]}")
            if isinstance(parsed[k], str)
            else None,
        )
        for k in keys
    }


# what identifies a pick: the same player, market, side, book, line and price (EV within rounding)
_PICK = ("player_id", "market", "side", "bookmaker", "line", "odds", "ev")


def _described(pick: tuple) -> str:
    player, market, side, book, line, odds, ev = pick
    return f"player {player} {market} {side} {line:g} at {book} {odds:+.0f} (EV {ev:.4f})"


def _same_pick(want: tuple, got: tuple) -> bool:
    return want[:-1] == got[:-1] and abs(want[-1] - got[-1]) <= TOLERANCE


def picks_match_predictions(
    parsed: Mapping[str, files.BestBetsFile | str], pred: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    """The file's picks are the stored predictions' top recommendations (same players, markets,
    sides, books, lines, prices and EVs, in order), and its counts are the stored ones: a stale or
    hand-edited file fails."""
    n_pred, n_cand = day_counts(pred), day_counts(candidates(pred))
    # every date ranked at once, per top_n the files ask for (normally one)
    ranked: dict[int, dict[str, list]] = {}
    for n in {f.top_n for f in parsed.values() if not isinstance(f, str)}:
        top = top_picks(pred, n)
        rows = zip(
            top["game_date"].dt.strftime("%Y-%m-%d"),
            top["player_id"].astype("int64"),
            top["market"],
            top["recommendation"],
            top["bet_bookmaker"],
            top["bet_line"].astype("float64"),
            top["bet_odds"].astype("float64"),
            top["ev"].astype("float64"),
        )
        ranked[n] = {}
        for day, player, market, side, book, line, odds, ev in rows:
            ranked[n].setdefault(day, []).append(
                (int(player), str(market), str(side), str(book), float(line), float(odds), float(ev))
            )
    out = {}
    for k in keys:
        f = parsed[k]
        if isinstance(f, str):
            out[k] = Outcome(False, {"problem": f}, failed_because(k, f"{files.best_bets.relative_path(k)}: {f}"))
            continue
        want = ranked[f.top_n].get(k, [])
        got = [(p.player_id, p.market, p.side, p.bookmaker, p.line, p.odds, p.ev) for p in f.picks]
        differ = [i for i, (w, g) in enumerate(zip(want, got)) if not _same_pick(w, g)]
        same = len(want) == len(got) and not differ
        problems = []
        if len(want) != len(got):
            problems.append(f"{len(got)} pick(s) in the file, {len(want)} top stored recommendation(s)")
        if differ:
            i = differ[0]
            problems.append(
                f"{len(differ)} pick(s) differ, first #{i + 1}: {_described(got[i])} in the file, "
                f"{_described(want[i])} stored"
            )
        for what, in_file, stored in (
            ("prediction", f.predictions, n_pred.get(k, 0)),
            ("candidate", f.candidates, n_cand.get(k, 0)),
        ):
            if in_file != stored:
                problems.append(f"the file counts {in_file} {what}(s), {stored} stored")
        out[k] = Outcome(
            passed=not problems,
            metadata={
                "picks": len(got),
                "expected_picks": len(want),
                "predictions_in_file": f.predictions,
                "stored_predictions": n_pred.get(k, 0),
                "candidates_in_file": f.candidates,
                "stored_candidates": n_cand.get(k, 0),
                **(
                    {}
                    if same
                    else {
                        "examples": dg.MetadataValue.json(
                            {
                                "fields": list(_PICK),
                                "file": [list(map(str, g)) for g in got[:5]],
                                "expected": [list(map(str, w)) for w in want[:5]],
                            }
                        )
                    }
                ),
            },
            description=failed_because(k, "; ".join(problems)) if problems else None,
        )
    return out


BEST_BETS_CHECKS = [
    PartitionCheck(
        "file_valid",
        "The date's best-bets file exists and matches docs/best_bets.schema.json.",
        lambda f, k: file_valid(f["files"], k),
    ),
    PartitionCheck(
        "picks_match_predictions",
        "The file's picks are the stored predictions' top recommendations in EV order (player, market, side, "
        "book, line, price and EV), and its prediction and candidate counts are the stored ones.",
        lambda f, k: picks_match_predictions(f["files"], f[PPP], k),
    ),
]


def read_back(exports: ExportsDirectory, keys: Sequence[str]) -> dict[str, files.BestBetsFile | str]:
    """The run's best-bets files as they are on disk, parsed (or why not)."""
    return read_best_bets({k: exports.read_text(files.best_bets.relative_path(k)) for k in keys})


best_bets_checks = table_checks(files.best_bets, BEST_BETS_CHECKS, [predictions_tables.player_prop_predictions])


# --- performance summary ------------------------------------------------------------------------


def expected_rows(keys: Sequence[str]) -> pd.DataFrame:
    """(game_date, period, market): every period of every market and of all of them, per date."""
    return pd.DataFrame(
        [(pd.Timestamp(k), p, m) for k in keys for p in tables.PERIODS for m in tables.MARKETS],
        columns=["game_date", "period", "market"],
    )


# the summary's counts and what counts them in prediction_accuracy; additive over markets
_COUNTS = ("graded", "played", "bets", "wins", "losses", "pushes")
_ADDITIVE = (*_COUNTS, "brier_rows", "profit_units")


def grade_counts(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per (day 'YYYY-MM-DD', market) and per (day, "all"): the day's counts and profit as
    prediction_accuracy has them."""
    r = accuracy["bet_result"]
    a = pd.DataFrame(
        {
            "_day": accuracy["game_date"].dt.strftime("%Y-%m-%d"),
            "market": accuracy["market"],
            "graded": 1,
            "played": accuracy["played"].astype(bool).astype(int),
            "bets": r.isin(["WIN", "LOSS", "PUSH"]).astype(int),
            "wins": (r == "WIN").astype(int),
            "losses": (r == "LOSS").astype(int),
            "pushes": (r == "PUSH").astype(int),
            "profit_units": accuracy["profit_units"].astype("float64"),
        }
    )
    cols = [*_COUNTS, "profit_units"]
    per_market = a.groupby(["_day", "market"])[cols].sum()
    overall = a.groupby("_day")[cols].sum().assign(market=tables.ALL_MARKETS).set_index("market", append=True)
    return pd.concat([per_market, overall])


def day_matches_grades(summary: pd.DataFrame, accuracy: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Each market's `day` row (and all's) has the counts and profit of the date's
    prediction_accuracy, and each longer period holds at least as much as the shorter ones."""
    truth = grade_counts(accuracy)
    s = summary.assign(_day=summary["game_date"].dt.strftime("%Y-%m-%d")).set_index(["_day", "market", "period"])
    graded = {day: int(n) for (day, market), n in truth["graded"].items() if market == tables.ALL_MARKETS}
    out = {}
    for k in keys:
        problems = []
        for market in tables.MARKETS:
            want = truth.loc[(k, market)] if (k, market) in truth.index else pd.Series(0.0, index=truth.columns)
            if (k, market, "day") not in s.index:
                problems.append(f"{market}: no day row")
                continue
            got = s.loc[(k, market, "day")]
            for c in _COUNTS:
                if int(got[c]) != int(want[c]):
                    problems.append(f"{market} {c}: {int(got[c])} vs {int(want[c])} graded")
            if abs(float(got["profit_units"]) - float(want["profit_units"])) > TOLERANCE:
                problems.append(
                    f"{market} profit_units: {float(got['profit_units']):.4f} vs {float(want['profit_units']):.4f}"
                )
            periods = [p for p in tables.PERIODS if (k, market, p) in s.index]
            for shorter, longer in zip(periods, periods[1:]):
                for c in ("graded", "bets"):
                    if int(s.loc[(k, market, shorter), c]) > int(s.loc[(k, market, longer), c]):
                        problems.append(f"{market} {c}: {shorter} > {longer}")
        out[k] = Outcome(
            passed=not problems,
            metadata={
                "graded": graded.get(k, 0),
                "problems": dg.MetadataValue.json(problems),
            },
            description=failed_because(k, "; ".join(problems)) if problems else None,
        )
    return out


def all_is_the_sum_of_markets(summary: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Every period's "all" row holds the sum of the markets' counts and profit, and no MAE (the
    markets' stats are different units)."""
    s = summary.assign(_day=summary["game_date"].dt.strftime("%Y-%m-%d"))
    is_all = s["market"] == tables.ALL_MARKETS
    cols = list(_ADDITIVE)
    markets = s[~is_all].groupby(["_day", "period"])[cols].sum()
    overall = s[is_all].set_index(["_day", "period"])
    both = overall[cols].join(markets, rsuffix="_markets", how="outer").fillna(0.0)
    problems_by_day: dict[str, list[str]] = {}
    for (day, period), row in both.iterrows():
        for c in cols:
            limit = TOLERANCE if c == "profit_units" else 0.0
            if abs(row[c] - row[f"{c}_markets"]) > limit:
                problems_by_day.setdefault(day, []).append(
                    f"{period} {c}: {row[c]:g} for all vs {row[f'{c}_markets']:g} over the markets"
                )
    with_mae = overall[overall["mae"].notna() | overall["line_mae"].notna()]
    for day, period in with_mae.index:
        problems_by_day.setdefault(day, []).append(f"{period}: all has an MAE (the markets' units differ)")
    out = {}
    for k in keys:
        problems = problems_by_day.get(k, [])
        out[k] = Outcome(
            passed=not problems,
            metadata={"problems": dg.MetadataValue.json(problems)},
            description=failed_because(k, "; ".join(problems)) if problems else None,
        )
    return out


def calibration_adds_up(summary: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """Both calibration columns (the model's and the books') bucket exactly the Brier rows, and
    each bucket's mean probability lies within the bucket: a bucketing that drops or double-counts
    rows, or files a probability in the wrong bucket, fails."""
    problems_by_day: dict[str, list[str]] = {}
    days = summary["game_date"].dt.strftime("%Y-%m-%d")
    for day, period, market, brier_rows, *columns in zip(
        days, summary["period"], summary["market"], summary["brier_rows"], *(summary[c] for c in _CALIBRATIONS)
    ):
        for name, text in zip(_CALIBRATIONS, columns):
            buckets = json.loads(text)
            rows = sum(b["rows"] for b in buckets)
            if rows != brier_rows:
                problems_by_day.setdefault(day, []).append(
                    f"{period} {market} {name}: {rows} row(s) in the buckets, brier_rows {brier_rows}"
                )
            outside = [b for b in buckets if not b["p_from"] - 1e-4 <= b["mean_p_over"] <= b["p_to"] + 1e-4]
            if outside:
                b = outside[0]
                problems_by_day.setdefault(day, []).append(
                    f"{period} {market} {name}: mean {b['mean_p_over']} outside its bucket [{b['p_from']}, {b['p_to']})"
                )
    out = {}
    for k in keys:
        problems = problems_by_day.get(k, [])
        out[k] = Outcome(
            passed=not problems,
            metadata={"problems": dg.MetadataValue.json(problems[:20])},
            description=failed_because(k, "; ".join(problems[:3])) if problems else None,
        )
    return out


_CALIBRATIONS = ("calibration", "books_calibration")


performance_summary_checks = table_checks(
    tables.performance_summary,
    [
        PartitionCheck(
            "one_row_per_period_and_market",
            f"Exactly one row per period ({', '.join(tables.PERIODS)}) and market ({', '.join(tables.MARKETS)}) "
            "for every date.",
            lambda f, k: rows_match(f[PS], expected_rows(k), ["game_date", "period", "market"], k),
        ),
        in_range_check(tables.performance_summary),
        PartitionCheck(
            "day_matches_grades",
            "Each market's day row (and all's) has the graded, played, bets, wins, losses, pushes and profit of "
            "the date's prediction_accuracy; longer periods hold at least the shorter ones.",
            lambda f, k: day_matches_grades(f[PS], f[PA], k),
        ),
        PartitionCheck(
            "all_is_the_sum_of_markets",
            "Every period's all row holds the sum of the markets' counts and profit, and no MAE.",
            lambda f, k: all_is_the_sum_of_markets(f[PS], k),
        ),
        PartitionCheck(
            "calibration_adds_up",
            "The model's and the books' calibration buckets each hold exactly the row's brier_rows, and every "
            "bucket's mean probability lies within the bucket.",
            lambda f, k: calibration_adds_up(f[PS], k),
        ),
    ],
    reads=[predictions_tables.prediction_accuracy],
)


# --- the daily report ---------------------------------------------------------------------------

SCHEDULE = raw_tables.schedule.name
# a page a bettor opens from disk, on a phone too
MAX_REPORT_BYTES = 2_000_000


def read_reports(exports: ExportsDirectory, keys: Sequence[str]) -> dict[str, tuple[report.Page | str, int]]:
    """Each date's page as it is on disk, parsed (or why not), with its size in bytes."""
    out = {}
    for k in keys:
        text = exports.read_text(files.report.relative_path(k))
        out[k] = (report.read_report(text), 0 if text is None else len(text.encode("utf-8")))
    return out


def page_valid(pages: Mapping[str, tuple[report.Page | str, int]], keys: Sequence[str]) -> Outcomes:
    """The page exists, parses, is dated right, weighs under MAX_REPORT_BYTES, and shows what its
    data holds: every headline number, one row per pick, and its plots (none without a record)."""
    out = {}
    for k in keys:
        page, size = pages[k]
        problems: list[str] = []
        if isinstance(page, str):
            problems.append(page)
        else:
            d = page.data
            if d.game_date.isoformat() != k:
                problems.append(f"the page is dated {d.game_date}")
            if size > MAX_REPORT_BYTES:
                problems.append(f"{size:,} bytes, over {MAX_REPORT_BYTES:,}")
            for metric, value in report.headline_values(d).items():
                shown = page.shown.get(metric)
                if shown != report.shown_value(metric, value):
                    problems.append(f"headline {metric} shows {shown!r}, its data {value!r}")
            if page.pick_rows != [report.pick_key(p) for p in d.picks]:
                problems.append(f"{len(page.pick_rows)} pick row(s) shown, {len(d.picks)} pick(s) in its data")
            want = list(report.expected_plots(d))
            if page.plots != want or page.svgs != len(want):
                problems.append(f"plots {page.plots} ({page.svgs} svg), expected {want}")
        out[k] = Outcome(
            passed=not problems,
            metadata={
                "path": files.report.relative_path(k),
                "bytes": size,
                **({"problems": dg.MetadataValue.json(problems)} if problems else {}),
            },
            description=failed_because(k, f"{files.report.relative_path(k)}: {'; '.join(problems)}")
            if problems
            else None,
        )
    return out


_RECORD_COLUMNS = ("bets", "wins", "losses", "pushes", "played")
_RECORD_VALUES = ("profit_units", "hit_rate", "roi", "mae", "line_mae", "brier", "books_brier")


def _differs(a: float | None, b) -> bool:
    b = None if b is None or pd.isna(b) else float(b)
    return (a is None) != (b is None) or (a is not None and abs(a - b) > TOLERANCE)


def report_matches_tables(
    pages: Mapping[str, tuple[report.Page | str, int]],
    pred: pd.DataFrame,
    summary: pd.DataFrame,
    schedule: pd.DataFrame,
    keys: Sequence[str],
) -> Outcomes:
    """What the page states equals the tables: its games are the schedule's, its prediction and
    candidate counts and its picks (player, market, side, book, line, price, in EV order) are the
    stored predictions', its record is performance_summary's rows at the latest date of the season
    before the game date (every market, both periods), and its profit curves end where those rows
    do. A stale page, or one computed from anything else, fails."""
    n_pred, n_cand = day_counts(pred), day_counts(candidates(pred))
    n_games = day_counts(schedule)
    out = {}
    for k in keys:
        page, _ = pages[k]
        if isinstance(page, str):
            out[k] = Outcome(False, {"problem": page}, failed_because(k, f"{files.report.relative_path(k)}: {page}"))
            continue
        d, problems = page.data, []
        for what, shown, stored in (
            ("games", len(d.games), n_games.get(k, 0)),
            ("predictions", d.predictions, n_pred.get(k, 0)),
            ("candidates", d.candidates, n_cand.get(k, 0)),
        ):
            if shown != stored:
                problems.append(f"{shown} {what} on the page, {stored} stored")
        top = top_picks(pred[pred["game_date"] == pd.Timestamp(k)], d.top_n)
        want = [
            f"{int(r.player_id)}|{r.market}|{r.recommendation}|{r.bet_bookmaker}|{float(r.bet_line):g}|"
            f"{float(r.bet_odds):+.0f}"
            for r in top.itertuples()
        ]
        got = [report.pick_key(p) for p in d.picks]
        if got != want:
            first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
            page_pick, stored_pick = (p[first] if first < len(p) else "none" for p in (got, want))
            problems.append(
                f"picks differ from the stored top {d.top_n} ({len(got)} vs {len(want)}), first at #{first + 1}: "
                f"{page_pick} on the page, {stored_pick} stored"
            )
        day = dt.date.fromisoformat(k)
        dates = summary["game_date"]  # compared as timestamps: as strings, this was most of the check's time
        season_days = summary[(dates < pd.Timestamp(day)) & (dates >= pd.Timestamp(season_start(day)))]
        through = season_days["game_date"].max().date() if len(season_days) else None
        if d.record_through != through:
            problems.append(f"record through {d.record_through} on the page, {through} stored")
        stored = season_days[
            (season_days["game_date"] == pd.Timestamp(through)) & season_days["period"].isin(report.RECORD_PERIODS)
        ]
        rows = {(r["period"], r["market"]): r for r in stored.to_dict("records")}
        shown_rows = {(r.period, r.market): r for r in d.record}
        if set(rows) != set(shown_rows):
            problems.append(f"{len(shown_rows)} record row(s) on the page, {len(rows)} stored")
        for key in sorted(set(rows) & set(shown_rows)):
            r, row = shown_rows[key], rows[key]
            bad = [c for c in _RECORD_COLUMNS if getattr(r, c) != int(row[c])]
            bad += [c for c in _RECORD_VALUES if _differs(getattr(r, c), row[c])]
            if bad:
                problems.append(f"{key[0]} {key[1]}: {', '.join(bad)} differ from performance_summary")
        season = d.headline("season")
        if (
            d.profit_by_date
            and season
            and abs(d.profit_by_date[-1].season_profit_units - season.profit_units) > TOLERANCE
        ):
            problems.append("the season's profit curve does not end at the season's profit")
        last30 = d.headline("last30")
        if last30 is not None:
            window = sum(p.day_profit_units for p in d.profit_by_date if p.game_date >= last30.period_start)
            if abs(window - last30.profit_units) > TOLERANCE:
                problems.append(f"the last 30 days' profit curve ends at {window:+.4f}, not {last30.profit_units:+.4f}")
        out[k] = Outcome(
            passed=not problems,
            metadata={
                "record_through": str(through),  # "None": no record yet
                "picks": len(got),
                "record_rows": len(rows),
                **({"problems": dg.MetadataValue.json(problems)} if problems else {}),
            },
            description=failed_because(k, "; ".join(problems[:3])) if problems else None,
        )
    return out


REPORT_CHECKS = [
    PartitionCheck(
        "page_valid",
        "The date's report page exists, parses, weighs under 2 MB and shows what its data holds: every headline "
        "number, one row per pick, its plots.",
        lambda f, k: page_valid(f["pages"], k),
    ),
    PartitionCheck(
        "report_matches_tables",
        "The page's games, counts, picks and record equal the schedule, player_prop_predictions and the "
        "performance_summary rows of the latest date before it; its profit curves end at those rows' profit.",
        lambda f, k: report_matches_tables(f["pages"], f[PPP], f[PS], f[SCHEDULE], k),
    ),
]

report_checks = table_checks(
    files.report,
    REPORT_CHECKS,
    [predictions_tables.player_prop_predictions, tables.performance_summary, raw_tables.schedule],
)
