"""Per-partition checks of the `nba_exports` assets: every best-bets file exists, matches its
declared schema and holds exactly the top recommendations of the stored predictions; the
performance summary has its four periods per date and its day agrees with the grades."""

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd
from pydantic import ValidationError

from nba_pipeline.core.checks.common import day_counts, failed_because, in_range_check, rows_match, table_checks
from nba_pipeline.core.checks.partitioned import Outcome, Outcomes, PartitionCheck
from nba_pipeline.exports import files, tables
from nba_pipeline.exports.directory import ExportsDirectory
from nba_pipeline.exports.transforms import top_picks
from nba_pipeline.predictions import tables as predictions_tables

PPP, PA, PS = (
    predictions_tables.player_points_predictions.name,
    predictions_tables.prediction_accuracy.name,
    tables.performance_summary.name,
)
# probabilities and edges are written rounded to 4 decimals
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


def picks_match_predictions(
    parsed: Mapping[str, files.BestBetsFile | str], pred: pd.DataFrame, keys: Sequence[str]
) -> Outcomes:
    """The file's picks are the stored predictions' top recommendations (same players, sides,
    lines and edges, in order), and its counts are the stored ones: a stale or hand-edited file
    fails."""
    n_pred = day_counts(pred)
    # every date ranked at once, per top_n the files ask for (normally one)
    ranked: dict[int, dict[str, list]] = {}
    for n in {f.top_n for f in parsed.values() if not isinstance(f, str)}:
        top = top_picks(pred, n)
        rows = zip(
            top["game_date"].dt.strftime("%Y-%m-%d"),
            top["player_id"].astype("int64"),
            top["recommendation"],
            top["line"].astype("float64"),
            top["edge"].astype("float64"),
        )
        ranked[n] = {}
        for day, player, rec, line, edge in rows:
            ranked[n].setdefault(day, []).append((int(player), rec, float(line), float(edge)))
    out = {}
    for k in keys:
        f = parsed[k]
        if isinstance(f, str):
            out[k] = Outcome(False, {"problem": f}, failed_because(k, f"{files.best_bets.relative_path(k)}: {f}"))
            continue
        want = ranked[f.top_n].get(k, [])
        got = [(p.player_id, p.recommendation, p.line, p.edge) for p in f.picks]
        same = len(want) == len(got) and all(
            w[:3] == g[:3] and abs(w[3] - g[3]) <= TOLERANCE for w, g in zip(want, got)
        )
        counts_ok = f.predictions == n_pred.get(k, 0)
        out[k] = Outcome(
            passed=same and counts_ok,
            metadata={
                "picks": len(got),
                "expected_picks": len(want),
                "predictions_in_file": f.predictions,
                "stored_predictions": n_pred.get(k, 0),
                **(
                    {}
                    if same
                    else {
                        "examples": dg.MetadataValue.json(
                            {
                                "file": [list(map(str, g)) for g in got[:5]],
                                "expected": [list(map(str, w)) for w in want[:5]],
                            }
                        )
                    }
                ),
            },
            description=None
            if same and counts_ok
            else failed_because(
                k,
                "; ".join(
                    (
                        [f"{len(got)} pick(s) in the file differ from the {len(want)} top stored recommendation(s)"]
                        if not same
                        else []
                    )
                    + (
                        [f"the file counts {f.predictions} prediction(s), {n_pred.get(k, 0)} stored"]
                        if not counts_ok
                        else []
                    )
                ),
            ),
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
        "The file's picks are the stored predictions' top recommendations against a sportsbook line, in edge order.",
        lambda f, k: picks_match_predictions(f["files"], f[PPP], k),
    ),
]


def read_back(exports: ExportsDirectory, keys: Sequence[str]) -> dict[str, files.BestBetsFile | str]:
    """The run's best-bets files as they are on disk, parsed (or why not)."""
    return read_best_bets({k: exports.read_text(files.best_bets.relative_path(k)) for k in keys})


best_bets_checks = table_checks(files.best_bets, BEST_BETS_CHECKS, [predictions_tables.player_points_predictions])


def expected_periods(keys: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([(pd.Timestamp(k), p) for k in keys for p in tables.PERIODS], columns=["game_date", "period"])


_DAY_COUNTS = {"graded": None, "played": "played", "wins": "WIN", "losses": "LOSS", "pushes": "PUSH"}


def day_matches_grades(summary: pd.DataFrame, accuracy: pd.DataFrame, keys: Sequence[str]) -> Outcomes:
    """The `day` period's counts and profit equal the date's prediction_accuracy, and each
    longer period holds at least as much as the shorter ones within it."""
    acc = accuracy.assign(
        _day=accuracy["game_date"].dt.strftime("%Y-%m-%d"),
        graded=1,
        played=accuracy["played"].astype(int),
        wins=(accuracy["bet_result"] == "WIN").astype(int),
        losses=(accuracy["bet_result"] == "LOSS").astype(int),
        pushes=(accuracy["bet_result"] == "PUSH").astype(int),
    )
    truth = acc.groupby("_day")[[*_DAY_COUNTS, "profit_units"]].sum()
    s = summary.assign(_day=summary["game_date"].dt.strftime("%Y-%m-%d")).set_index(["_day", "period"])
    out = {}
    for k in keys:
        want = truth.loc[k] if k in truth.index else pd.Series(0.0, index=[*_DAY_COUNTS, "profit_units"])
        problems = []
        if (k, "day") not in s.index:
            problems.append("no day row")
        else:
            got = s.loc[(k, "day")]
            for c in _DAY_COUNTS:
                if int(got[c]) != int(want[c]):
                    problems.append(f"{c}: {int(got[c])} vs {int(want[c])} graded")
            if abs(float(got["profit_units"]) - float(want["profit_units"])) > TOLERANCE:
                problems.append(f"profit_units: {float(got['profit_units']):.4f} vs {float(want['profit_units']):.4f}")
            periods = [p for p in tables.PERIODS if (k, p) in s.index]
            for shorter, longer in zip(periods, periods[1:]):
                for c in ("graded", "bets"):
                    if int(s.loc[(k, shorter), c]) > int(s.loc[(k, longer), c]):
                        problems.append(f"{c}: {shorter} > {longer}")
        out[k] = Outcome(
            passed=not problems,
            metadata={"graded": int(want["graded"]), "problems": dg.MetadataValue.json(problems)},
            description=failed_because(k, "; ".join(problems)) if problems else None,
        )
    return out


performance_summary_checks = table_checks(
    tables.performance_summary,
    [
        PartitionCheck(
            "one_row_per_period",
            f"Exactly one row per period ({', '.join(tables.PERIODS)}) for every date.",
            lambda f, k: rows_match(f[PS], expected_periods(k), ["game_date", "period"], k),
        ),
        in_range_check(tables.performance_summary),
        PartitionCheck(
            "day_matches_grades",
            "The day's graded, played, wins, losses, pushes and profit equal the date's prediction_accuracy; "
            "longer periods hold at least the shorter ones.",
            lambda f, k: day_matches_grades(f[PS], f[PA], k),
        ),
    ],
    reads=[predictions_tables.prediction_accuracy],
)
