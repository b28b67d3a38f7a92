"""The points model, pure: what it reads, how it is fitted, and the distribution it predicts.

Two stages, both fitted only on dates before the model's training cutoff:

1. A regressor (regularised linear or gradient boosting, `MODEL_KINDS`) of a player's points from
   the feature store's pre-game features, the market excluded. It is fitted on every played
   player-game of the training window; the window's last `VALIDATION_DATES` game dates are held
   out first to measure it and to fit its error distribution: a scale growing linearly with the
   prediction, and the empirical quantiles of the scaled errors (points are skewed: a normal
   would misprice overs). Then it is refitted on the whole window for serving.
2. The market: where a sportsbook line exists, the prediction is pulled towards it,
   `line + beta * (model - line)`, and the over probability is pooled with the books' no-vig
   probability in log-odds, `w * logit(p_model) + (1 - w) * logit(p_books)`. `beta` and `w` are
   fitted on the held-out dates' player-games with a line (MAE and log loss), shrunk towards 1/2
   by `MARKET_PRIOR_ROWS` pseudo-rows: with no lined history (the 2024-25 data has no player
   props) model and market count equally.

A fitted model is plain JSON (`to_json` / `from_json`): it is stored in the warehouse next to its
training window and metrics, and loads without pickle on any machine.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from nba_pipeline.precompute.tables import CACHE_STATS, FEATURE_VERSION, FEATURES

MODEL_CODE_VERSION = "1"
MODEL_KINDS = ("ridge", "gbm")
# chosen by `python benchmarks/prediction_quality.py` (walk-forward MAE and Brier; see README)
DEFAULT_MODEL_KIND = "ridge"

TRAINING_DAYS = 400  # the current season and the whole previous one
VALIDATION_DATES = 14
MIN_TRAINING_ROWS = 2000
RETRAIN_WEEKDAY = 0  # Monday: the model serving date D was trained on dates before D's Monday
MARKET_PRIOR_ROWS = 300
ZSCORE_QUANTILES = 201

# the market enters in stage 2 only: a regressor trained on seasons with no lines (2024-25 has
# no props, 2025-26 no game lines) must not learn from a column that is always null
MARKET_FEATURES = (
    "points_line",
    "points_line_books",
    "points_line_over_prob",
    "team_spread",
    "game_total",
    "implied_team_total",
)
INPUTS = tuple(f for f in FEATURES if f not in MARKET_FEATURES)


def training_cutoff(day: dt.date) -> dt.date:
    """First date NOT in the training window of the model serving `day` (its week's Monday)."""
    return day - dt.timedelta(days=(day.weekday() - RETRAIN_WEEKDAY) % 7)


def model_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """The regressor's inputs: season-to-date and last-k windows a player has no games for yet
    fall back to his recent20 (any season) window, so opening week reads last season's form
    instead of an imputed league median."""
    x = features[list(INPUTS)].astype("float64").copy()
    for stat in CACHE_STATS:
        recent = f"{stat}_avg_recent20"
        for w in ("last5", "last10", "season"):
            col = f"{stat}_avg_{w}"
            if col in x and recent in x:
                x[col] = x[col].fillna(x[recent])
    for col in ("points_std_last10", "points_std_season"):
        x[col] = x[col].fillna(x["points_std_recent20"])
    return x


def points_threshold(line: np.ndarray) -> np.ndarray:
    """Points are whole: over `line` means at least floor(line) + 1, i.e. above floor(line) + 0.5."""
    return np.floor(line) + 0.5


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# regressors --------------------------------------------------------------------------------------
def _fit_ridge(x: pd.DataFrame, y: np.ndarray, seed: int) -> dict:
    """Median imputation plus missing-value indicators, standardisation, ridge; kept as arrays."""
    from sklearn.linear_model import Ridge

    med = x.median().fillna(0.0)
    filled = x.fillna(med)
    mean, std = filled.mean(), filled.std().replace(0.0, 1.0).fillna(1.0)
    indicators = [c for c in x.columns if x[c].isna().any()]
    design = _ridge_design(x, med, mean, std, indicators)
    reg = Ridge(alpha=10.0).fit(design, y)
    return {
        "median": med.tolist(),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "indicators": indicators,
        "coef": reg.coef_.tolist(),
        "intercept": float(reg.intercept_),
    }


def _ridge_design(x: pd.DataFrame, med, mean, std, indicators: Sequence[str]) -> np.ndarray:
    z = ((x.fillna(pd.Series(np.asarray(med), index=x.columns)) - np.asarray(mean)) / np.asarray(std)).to_numpy()
    na = x[list(indicators)].isna().to_numpy(dtype="float64")
    return np.hstack([z, na])


def _predict_ridge(p: dict, x: pd.DataFrame) -> np.ndarray:
    design = _ridge_design(x, p["median"], p["mean"], p["std"], p["indicators"])
    return design @ np.asarray(p["coef"]) + p["intercept"]


def _fit_gbm(x: pd.DataFrame, y: np.ndarray, seed: int) -> dict:
    import lightgbm as lgb

    reg = lgb.LGBMRegressor(
        n_estimators=300,
        learning_rate=0.04,
        num_leaves=15,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        n_jobs=2,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    ).fit(x, y)
    return {"booster": reg.booster_.model_to_string()}


def _predict_gbm(p: dict, x: pd.DataFrame) -> np.ndarray:
    import lightgbm as lgb

    return lgb.Booster(model_str=p["booster"]).predict(x.to_numpy())


_FIT = {"ridge": _fit_ridge, "gbm": _fit_gbm}
_PREDICT = {"ridge": _predict_ridge, "gbm": _predict_gbm}


# the model ---------------------------------------------------------------------------------------
@dataclass
class PointsModel:
    kind: str
    cutoff: str  # training dates are strictly before this date
    feature_version: str
    inputs: list[str]
    params: dict
    scale: tuple[float, float]  # expected |error| = a + b * prediction
    z_quantiles: list[float]  # of error / scale on the held-out dates
    market_weight_points: float
    market_weight_prob: float
    metrics: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"{self.kind}-{MODEL_CODE_VERSION}-{self.cutoff}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PointsModel:
        d = json.loads(text)
        d["scale"] = tuple(d["scale"])
        return cls(**d)

    # stage 1
    def mean(self, features: pd.DataFrame) -> np.ndarray:
        return np.clip(_PREDICT[self.kind](self.params, model_inputs(features)[self.inputs]), 0.0, None)

    def spread(self, mean: np.ndarray) -> np.ndarray:
        a, b = self.scale
        return np.maximum(a + b * mean, 0.5)

    def prob_over(self, mean: np.ndarray, line: np.ndarray) -> np.ndarray:
        """P(points > line) from the held-out error distribution."""
        z = (points_threshold(line) - mean) / self.spread(mean)
        q = np.asarray(self.z_quantiles)
        cdf = np.interp(z, q, np.linspace(0.0, 1.0, len(q)), left=0.0, right=1.0)
        return np.clip(1.0 - cdf, 0.005, 0.995)

    # stage 2
    def blend_points(self, mean: np.ndarray, line: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(line), mean, line + self.market_weight_points * (mean - line))

    def blend_prob(self, p_model: np.ndarray, p_books: np.ndarray) -> np.ndarray:
        w = self.market_weight_prob
        pooled = _sigmoid(w * _logit(p_model) + (1 - w) * _logit(np.nan_to_num(p_books, nan=0.5)))
        return np.where(np.isnan(p_books), p_model, pooled)


class NotEnoughHistory(ValueError):
    pass


def training_frame(features: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of players who played, with their actual points (DNP rows have no outcome)."""
    r = results[["game_date", "player_id", "points"]].astype({"player_id": "int64"})
    f = features.astype({"player_id": "int64"})
    return f.merge(r, on=["game_date", "player_id"], how="inner").rename(columns={"points": "actual_points"})


def fit(train: pd.DataFrame, cutoff: dt.date, kind: str = DEFAULT_MODEL_KIND, seed: int = 0) -> PointsModel:
    """Fit on the rows of `train` (from `training_frame`) dated before `cutoff`."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"model kind {kind!r}: expected one of {MODEL_KINDS}")
    cut = pd.Timestamp(cutoff)
    window = train[(train["game_date"] < cut) & (train["game_date"] >= cut - pd.Timedelta(days=TRAINING_DAYS))]
    dates = np.sort(window["game_date"].unique())
    held_from = dates[-VALIDATION_DATES] if len(dates) > VALIDATION_DATES else cut
    fit_rows, held = window[window["game_date"] < held_from], window[window["game_date"] >= held_from]
    # the held-out fit too: a ridge on a few hundred rows can extrapolate wildly
    if len(fit_rows) < MIN_TRAINING_ROWS:
        raise NotEnoughHistory(
            f"{len(fit_rows)} played player-games before {cutoff} outside the {VALIDATION_DATES} held-out dates "
            f"(need {MIN_TRAINING_ROWS}): too little history to train on"
        )
    inputs = list(INPUTS)
    y = window["actual_points"].astype("float64").to_numpy()

    # measure on held-out dates with a fit that never saw them
    early = _FIT[kind](model_inputs(fit_rows)[inputs], fit_rows["actual_points"].astype("float64").to_numpy(), seed)
    held_pred = np.clip(_PREDICT[kind](early, model_inputs(held)[inputs]), 0.0, None)
    held_y = held["actual_points"].astype("float64").to_numpy()
    err = np.abs(held_y - held_pred)
    b, a = np.polyfit(held_pred, err, 1)
    a, b = float(max(a, 0.5)), float(max(b, 0.0))
    z = (held_y - held_pred) / np.maximum(a + b * held_pred, 0.5)
    model = PointsModel(
        kind=kind,
        cutoff=cutoff.isoformat(),
        feature_version=FEATURE_VERSION,
        inputs=inputs,
        params=_FIT[kind](model_inputs(window)[inputs], y, seed),
        scale=(a, b),
        z_quantiles=np.quantile(z, np.linspace(0.0, 1.0, ZSCORE_QUANTILES)).tolist(),
        market_weight_points=0.5,
        market_weight_prob=0.5,
    )
    lined = held["points_line"].notna().to_numpy()
    model.market_weight_points, model.market_weight_prob = _market_weights(
        model,
        held_pred[lined],
        held_y[lined],
        held["points_line"].to_numpy()[lined],
        held["points_line_over_prob"].to_numpy()[lined],
    )
    baseline = model_inputs(held)["points_avg_season"].to_numpy()
    has_base = ~np.isnan(baseline)
    model.metrics = {
        "training_start": pd.Timestamp(dates[0]).date().isoformat(),
        "training_end": pd.Timestamp(dates[-1]).date().isoformat(),
        "training_rows": int(len(window)),
        "training_dates": int(len(dates)),
        "validation_start": pd.Timestamp(held_from).date().isoformat(),
        "validation_rows": int(len(held)),
        "validation_mae": round(float(err.mean()), 4),
        "validation_bias": round(float((held_y - held_pred).mean()), 4),
        "validation_baseline_mae": round(float(np.abs(held_y - baseline)[has_base].mean()), 4)
        if has_base.any()
        else None,
        "validation_lined_rows": int(lined.sum()),
    }
    return model


def _market_weights(model: PointsModel, pred, y, line, p_books) -> tuple[float, float]:
    grid = np.linspace(0.0, 1.0, 21)
    n = len(y)
    if n == 0:
        return 0.5, 0.5
    mae = [np.abs(y - (line + g * (pred - line))).mean() for g in grid]
    beta = float(grid[int(np.argmin(mae))])
    decided = y != line  # a push settles neither side
    outcome = (y > line)[decided]
    p_model = model.prob_over(pred, line)[decided]
    pb = np.nan_to_num(p_books[decided], nan=0.5)
    losses = []
    for g in grid:
        p = np.clip(_sigmoid(g * _logit(p_model) + (1 - g) * _logit(pb)), 1e-6, 1 - 1e-6)
        losses.append(-np.mean(outcome * np.log(p) + (~outcome) * np.log(1 - p)))
    w = float(grid[int(np.argmin(losses))]) if decided.any() else 0.5
    shrink = lambda v: round((n * v + MARKET_PRIOR_ROWS * 0.5) / (n + MARKET_PRIOR_ROWS), 4)  # noqa: E731
    return shrink(beta), shrink(w)


def fit_weekly(
    train: pd.DataFrame, days: Sequence[dt.date], kind: str = DEFAULT_MODEL_KIND
) -> Mapping[dt.date, PointsModel | str]:
    """The model serving each of `days`: one fit per distinct training cutoff (weekly), shared by
    that week's dates. A day whose window is too short maps to the reason instead."""
    fitted: dict[dt.date, PointsModel | str] = {}
    out = {}
    for day in days:
        cut = training_cutoff(day)
        if cut not in fitted:
            try:
                fitted[cut] = fit(train, cut, kind)
            except NotEnoughHistory as exc:
                fitted[cut] = str(exc)
        out[day] = fitted[cut]
    return out
