"""Walk-forward quality of the prop predictions against the sportsbooks, per market, on real data.

Runs `nba-pipeline backfill` over 2024-10-01 .. 2025-11-09 of ../shared/data/nba in a fresh
DAGSTER_HOME (every layer, one run: each date's models are trained only on dates before its
week's Monday, 2024-25 included), then scores 2025-10-21 .. 2025-11-09 per market:

  coverage: graded played predictions / player-games with a pre-tip-off quote and a box score;
  MAE of `predicted` (and of the regression before the market), of the books' consensus line and
  of the season-to-date average (last season's recent20 where a player has no game yet);
  Brier of p_over and of the books' no-vig over the decided outcomes (pushes excluded: both as
  P(over | no push), which is what a no-vig price states), and their difference; beside them the
  books' own probability at the line read through the distribution (market_p_over), to show how
  much of the difference is that reading rather than the model;
  the recommendations' count, hit rate and ROI at the books' real prices, at the pipeline's EV
  threshold and, re-chosen from the stored prices (`prop_prices`) with the pipeline's own
  functions, at other thresholds.

The samples are small (20 dates): every ROI and Brier difference comes with a 95% interval from
a bootstrap over game dates (a date's bets share its games, so dates are resampled, not bets).

    python benchmarks/prediction_quality.py [--keep] [--home DIR] [--thresholds 0 0.03 0.05 0.1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nba"
HISTORY_START, EVAL = dt.date(2024, 10, 1), (dt.date(2025, 10, 21), dt.date(2025, 11, 9))
BOOTSTRAP = 2000


def backfill(home: Path) -> None:
    # NBA_FIRST_SEASON left out: the partitions start with the raw data's first season
    env = {k: v for k, v in os.environ.items() if k not in ("NBA_DUCKDB_PATH", "NBA_SOURCE", "NBA_FIRST_SEASON")}
    env.update(DAGSTER_HOME=str(home), NBA_RAW_DIR=str(REAL_DATA), PYTHONWARNINGS="ignore")
    cmd = [
        sys.executable,
        "-m",
        "nba_pipeline.cli.main",
        "backfill",
        "--start",
        str(HISTORY_START),
        "--end",
        str(EVAL[1]),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    print(
        f"backfill {HISTORY_START} .. {EVAL[1]}: {time.perf_counter() - t0:.1f} s, exit {proc.returncode}",
        file=sys.stderr,
    )
    if proc.returncode != 0:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])


def load(db: Path) -> dict[str, pd.DataFrame]:
    from nba_pipeline.predictions.tables import MARKET_STATS

    between = f"BETWEEN '{EVAL[0]}' AND '{EVAL[1]}'"
    averages = ", ".join(f"f.{s}_avg_season, f.{s}_avg_recent20" for s in dict.fromkeys(MARKET_STATS.values()))
    with duckdb.connect(str(db), read_only=True) as con:
        q = lambda sql: con.execute(sql).df()  # noqa: E731
        return {
            "graded": q(f"""
                SELECT a.*, p.model_mean, p.ev_threshold, p.p_push, p.market_p_over, {averages}
                FROM nba_predictions.prediction_accuracy a
                JOIN nba_predictions.player_prop_predictions p USING (game_date, player_id, market)
                JOIN nba_precompute.ml_feature_store f USING (game_date, player_id)
                WHERE a.game_date {between}"""),
            "predictions": q(f"SELECT * FROM nba_predictions.player_prop_predictions WHERE game_date {between}"),
            "prices": q(f"SELECT * FROM nba_predictions.prop_prices WHERE game_date {between}"),
            "quoted": q(f"""
                SELECT DISTINCT q.game_date, q.player_id, q.market
                FROM nba_analytics.player_prop_quotes q
                JOIN nba_analytics.player_game_summary s USING (game_date, game_id, player_id)
                WHERE q.game_date {between}"""),
            "results": q(f"SELECT * FROM nba_analytics.player_game_summary WHERE game_date {between}"),
            "schedule": q(f"SELECT * FROM nba_raw.schedule WHERE game_date {between}"),
        }


def by_date_interval(df: pd.DataFrame, stat, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of `stat(frame)` over BOOTSTRAP resamples of the game dates."""
    rng = np.random.default_rng(seed)
    groups = [g for _, g in df.groupby("game_date")]
    if not groups:
        return (np.nan, np.nan)
    draws = [stat(pd.concat([groups[i] for i in rng.integers(0, len(groups), len(groups))])) for _ in range(BOOTSTRAP)]
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def roi(bets: pd.DataFrame) -> float:
    return bets["profit_units"].sum() / len(bets) if len(bets) else np.nan


def brier_gap(d: pd.DataFrame, p: str = "p_decided") -> float:
    y = (d["outcome"] == "OVER").astype("float64")
    return float(((d[p] - y) ** 2).mean() - ((d["books_p_over"] - y) ** 2).mean())


def bets_summary(bets: pd.DataFrame) -> str:
    wins, losses = (bets["bet_result"] == "WIN").sum(), (bets["bet_result"] == "LOSS").sum()
    if not len(bets):
        return "0 bets"
    lo, hi = by_date_interval(bets, roi)
    return (
        f"{len(bets)} bets, hit {wins / max(wins + losses, 1):.1%}, ROI {roi(bets):+.1%} "
        f"[{lo:+.1%}, {hi:+.1%}], {bets['profit_units'].sum():+.1f} u"
    )


def score_market(g: pd.DataFrame, quoted: pd.DataFrame, market: str) -> dict[str, str]:
    from nba_pipeline.predictions.tables import MARKET_STATS

    stat = MARKET_STATS[market]
    m = g[g["market"] == market]
    s = m[m["played"]]
    y = s["actual"].astype("float64")
    season = s[f"{stat}_avg_season"].fillna(s[f"{stat}_avg_recent20"])
    mae = lambda pred: np.abs(y - pred.astype("float64"))[pred.notna()].mean()  # noqa: E731
    lined = len(quoted[quoted["market"] == market])
    decided = s[(s["outcome"] != "PUSH") & s["books_p_over"].notna()]
    # a push is no outcome: the model's P(over) given none, as the books' no-vig is
    decided = decided.assign(p_decided=decided["p_over"] / (1 - decided["p_push"]).clip(lower=1e-12))
    y_over = (decided["outcome"] == "OVER").astype("float64")
    gap_lo, gap_hi = by_date_interval(decided, brier_gap)
    read_lo, read_hi = by_date_interval(decided, lambda d: brier_gap(d, "market_p_over"))
    bets = m[m["bet_result"].isin(["WIN", "LOSS", "PUSH"])]
    return {
        "player-games with a quote and a box score": str(lined),
        "coverage (graded played / those)": f"{len(s) / lined:.1%}" if lined else "-",
        "MAE predicted": f"{mae(s['predicted']):.3f}",
        "MAE regression alone": f"{mae(s['model_mean']):.3f}",
        "MAE books' consensus line": f"{mae(s['line']):.3f}",
        "MAE season average (else recent20)": f"{mae(season):.3f}",
        "Brier p_over (given no push)": f"{((decided['p_decided'] - y_over) ** 2).mean():.4f}",
        "Brier books' no-vig": f"{((decided['books_p_over'] - y_over) ** 2).mean():.4f}",
        "Brier model - books [95%]": f"{brier_gap(decided):+.4f} [{gap_lo:+.4f}, {gap_hi:+.4f}]",
        "Brier books read at the line - books [95%]": (
            f"{brier_gap(decided, 'market_p_over'):+.4f} [{read_lo:+.4f}, {read_hi:+.4f}]"
        ),
        "recommendations (pipeline threshold)": bets_summary(bets),
    }


def regraded(data: dict[str, pd.DataFrame], threshold: float) -> pd.DataFrame:
    """The recommendations re-chosen from the stored prices at another EV threshold and graded,
    with the pipeline's own functions."""
    from nba_pipeline.predictions import transforms

    pred = data["predictions"].copy()
    best = transforms.best_quotes(data["prices"]).reindex(
        pd.MultiIndex.from_frame(pred[["game_date", "player_id", "market"]])
    )
    bet = (best["ev"] >= threshold).to_numpy()
    pred["recommendation"] = np.where(bet, best["side"].to_numpy(), "PASS")
    pred["bet_bookmaker"] = np.where(bet, best["bookmaker"].to_numpy(), None)
    pred["bet_line"] = np.where(bet, best["line"].to_numpy(dtype="float64"), np.nan)
    pred["bet_odds"] = np.where(bet, best["odds"].to_numpy(dtype="float64"), np.nan)
    return transforms.grade(pred, data["results"], data["schedule"])


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    for i, r in enumerate([columns, *rows]):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keep", action="store_true", help="keep the temporary DAGSTER_HOME")
    p.add_argument("--home", type=Path, help="score an existing DAGSTER_HOME's warehouse instead of backfilling")
    p.add_argument("--thresholds", type=float, nargs="*", default=[0.0, 0.03, 0.05, 0.1], help="EV thresholds")
    args = p.parse_args()
    if not REAL_DATA.is_dir():
        sys.exit(f"real data folder {REAL_DATA} not found")
    from nba_pipeline.predictions.tables import MARKET_STATS
    from nba_pipeline.raw.tables import PROP_MARKETS

    home = args.home or Path(tempfile.mkdtemp(prefix="nba-quality-"))
    try:
        if not args.home:
            backfill(home)
        data = load(home / "warehouse.duckdb")
    finally:
        if args.keep or args.home:
            print(f"kept {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    g = data["graded"]
    threshold = float(g["ev_threshold"].iloc[0]) if len(g) else float("nan")
    print(
        f"walk-forward {EVAL[0]} .. {EVAL[1]} (models trained on dates before each week's Monday, "
        f"from {HISTORY_START}); pipeline EV threshold {threshold:g}; [95%]: bootstrap over the "
        f"{g['game_date'].nunique()} game dates\n"
    )
    scored = {m: score_market(g, data["quoted"], m) for m in MARKET_STATS}
    names = list(next(iter(scored.values())))
    print_table(
        ["metric", *(PROP_MARKETS[m] for m in MARKET_STATS)],
        [[n, *(scored[m][n] for m in MARKET_STATS)] for n in names],
    )
    print("\nrecommendations at the books' real prices, by EV threshold (all markets; per market below)\n")
    rows = []
    for t in args.thresholds:
        a = regraded(data, t)
        bets = a[a["bet_result"].isin(["WIN", "LOSS", "PUSH"])]
        rows.append([f"{t:g}", bets_summary(bets), *(bets_summary(bets[bets["market"] == m]) for m in MARKET_STATS)])
    print_table(["EV >=", "all markets", *(PROP_MARKETS[m] for m in MARKET_STATS)], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
