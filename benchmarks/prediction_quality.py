"""Walk-forward quality of the points predictions against the sportsbooks, on real data.

Runs `nba-pipeline backfill` over 2024-10-01 .. 2025-11-09 of ../shared/data/nba in a fresh
DAGSTER_HOME (every layer, one run: each date's model is trained only on dates before its week's
Monday, 2024-25 included), then scores the graded predictions of 2025-10-21 .. 2025-11-09 on the
player-games with a sportsbook line and a box score:

  MAE of predicted_points (and of the regressor before the market), of the books' consensus line,
  of the season-to-date average and the last-10 average (each also with last season's recent20
  form where a player has no game yet this season); Brier score of p_over and of the books' no-vig
  probability; hit rate and ROI at -110 of the recommendations.

With --kinds, every model kind is also re-fitted walk-forward from the same warehouse tables with
the pipeline's own functions, to compare them on the same rows (how DEFAULT_MODEL_KIND was chosen).

    python benchmarks/prediction_quality.py [--kinds ridge gbm] [--keep]
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
    with duckdb.connect(str(db), read_only=True) as con:
        q = lambda sql: con.execute(sql).df()  # noqa: E731
        return {
            "graded": q(f"""
                SELECT a.*, p.model_points, f.points_avg_season, f.points_avg_last10, f.points_avg_recent20
                FROM nba_predictions.prediction_accuracy a
                JOIN nba_predictions.player_points_predictions p USING (game_date, player_id)
                JOIN nba_precompute.ml_feature_store f USING (game_date, player_id)
                WHERE a.game_date BETWEEN '{EVAL[0]}' AND '{EVAL[1]}'"""),
            "features": q("SELECT * FROM nba_precompute.ml_feature_store"),
            "results": q("SELECT * FROM nba_analytics.player_game_summary"),
            "context": q(
                "SELECT * FROM nba_analytics.upcoming_player_game_context "
                f"WHERE game_date BETWEEN '{EVAL[0]}' AND '{EVAL[1]}'"
            ),
            "schedule": q(f"SELECT * FROM nba_raw.schedule WHERE game_date BETWEEN '{EVAL[0]}' AND '{EVAL[1]}'"),
        }


def score(g: pd.DataFrame) -> list[tuple[str, str]]:
    """Rows (metric, value) over graded sportsbook-line player-games that were played."""
    s = g[(g["line_source"] == "sportsbook") & g["played"]].copy()
    y = s["actual_points"].astype("float64")
    mae = lambda pred: f"{np.abs(y - pred.astype('float64'))[pred.notna()].mean():.3f} (n={int(pred.notna().sum())})"  # noqa: E731
    decided = s[s["outcome"] != "PUSH"]
    over = (decided["outcome"] == "OVER").astype("float64")
    bets = s[s["bet_result"].isin(["WIN", "LOSS", "PUSH"])]
    wins, losses = (bets["bet_result"] == "WIN").sum(), (bets["bet_result"] == "LOSS").sum()
    return [
        ("player-games with a sportsbook line and a box score", str(len(s))),
        ("MAE predicted_points", mae(s["predicted_points"])),
        ("MAE model before the market (model_points)", mae(s["model_points"])),
        ("MAE books' consensus line", mae(s["line"])),
        ("MAE season-to-date average (where it exists)", mae(s["points_avg_season"])),
        (
            "MAE season-to-date average, else last season's recent20",
            mae(s["points_avg_season"].fillna(s["points_avg_recent20"])),
        ),
        ("MAE last-10 average (where it exists)", mae(s["points_avg_last10"])),
        (
            "MAE last-10 average, else last season's recent20",
            mae(s["points_avg_last10"].fillna(s["points_avg_recent20"])),
        ),
        ("Brier p_over (pushes excluded)", f"{((decided['p_over'] - over) ** 2).mean():.4f} (n={len(decided)})"),
        ("Brier books' no-vig p_over", f"{((decided['books_p_over'] - over) ** 2).mean():.4f}"),
        ("recommendations (OVER/UNDER) / pushes", f"{len(bets)} / {len(bets) - wins - losses}"),
        ("hit rate (wins / decided bets; break-even 52.38%)", f"{wins / max(wins + losses, 1):.1%}"),
        ("ROI at -110 (profit / bets)", f"{bets['profit_units'].sum() / max(len(bets), 1):+.1%}"),
    ]


def refit(data: dict[str, pd.DataFrame], kind: str) -> pd.DataFrame:
    """The predictions layer re-run with another model kind, with the pipeline's own functions."""
    from nba_pipeline.predictions import model, transforms

    features = data["features"]
    days = [d.date() for d in pd.date_range(*EVAL)]
    models = model.fit_weekly(model.training_frame(features, data["results"]), days, kind)
    by_date = transforms.models_by_date(transforms.model_rows(models))
    pred = transforms.player_points_predictions(
        features[features["game_date"].isin(list(by_date))], data["context"], by_date
    )
    g = transforms.grade(pred, data["results"], data["schedule"])
    keys = ["game_date", "player_id"]
    extra = pred[[*keys, "model_points"]].merge(
        features[[*keys, "points_avg_season", "points_avg_last10", "points_avg_recent20"]], on=keys
    )
    return g.merge(extra, on=keys)


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    for i, r in enumerate([columns, *rows]):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kinds", nargs="*", default=[], help="also re-fit these model kinds (ridge, gbm) for comparison")
    p.add_argument("--keep", action="store_true", help="keep the temporary DAGSTER_HOME")
    args = p.parse_args()
    if not REAL_DATA.is_dir():
        sys.exit(f"real data folder {REAL_DATA} not found")
    from nba_pipeline.predictions.model import DEFAULT_MODEL_KIND

    home = Path(tempfile.mkdtemp(prefix="nba-quality-"))
    try:
        backfill(home)
        data = load(home / "warehouse.duckdb")
        columns = ["metric", f"pipeline ({DEFAULT_MODEL_KIND})"]
        results = [score(data["graded"])]
        for kind in args.kinds:
            t0 = time.perf_counter()
            results.append(score(refit(data, kind)))
            columns.append(f"{kind} (re-fit, {time.perf_counter() - t0:.1f} s)")
    finally:
        if args.keep:
            print(f"kept {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    print(
        f"walk-forward {EVAL[0]} .. {EVAL[1]} "
        f"(models trained on dates before each week's Monday, from {HISTORY_START})\n"
    )
    print_table(columns, [[name, *(r[i][1] for r in results)] for i, (name, _) in enumerate(results[0])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
