"""The prop models, pure: what they read, how they are fitted, and the distributions they predict.

One model per market (points, rebounds, assists, threes, PRA), each in two stages, both fitted
only on dates before the model's training cutoff:

1. A regressor (regularised linear or gradient boosting, `MODEL_KINDS`) of the market's stat from
   the feature store's pre-game features, the market excluded, fitted on every played
   player-game of the training window. The window's last `VALIDATION_DATES` game dates are held
   out first to measure it and to fit the spread around its mean: a negative binomial
   (scipy.stats.nbinom) whose variance a x mean + b x mean^2 is fitted to the held-out errors,
   because every stat is a count and P(over) must be right at any line a book offers, whole lines
   (pushes) included. Then it is refitted on the
   whole window for serving.
2. The market: where the books post a line, the mean is pulled towards their consensus,
   `line + beta * (model - line)`, and at every quote the over probability is pooled in log-odds,
   `w * logit(p_model) + (1 - w) * logit(p_books)`, with the books' probability at that quote's
   line: every book's main-line price read through the same distribution as an implied mean
   (`market_means`), so books on different lines share one scale. `beta`
   and `w` are fitted on the held-out dates' lined player-games (MAE and log loss), shrunk towards
   `MARKET_PRIOR_WEIGHT` by `MARKET_PRIOR_ROWS` pseudo-rows: with no lined history (2024-25 has no
   props) the market counts four times the model.

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
from scipy import optimize, stats

from nba_pipeline.precompute.tables import CACHE_STATS, FEATURE_VERSION, FEATURES
from nba_pipeline.predictions.tables import MARKET_STATS
from nba_pipeline.raw.tables import PROP_MARKETS

MODEL_CODE_VERSION = "2"  # 2: one model per market, negative binomial spread
MODEL_KINDS = ("ridge", "gbm")
# chosen by `python benchmarks/prediction_quality.py` (walk-forward MAE and Brier; see README)
DEFAULT_MODEL_KIND = "ridge"

TRAINING_DAYS = 400  # the current season and the whole previous one
VALIDATION_DATES = 14
MIN_TRAINING_ROWS = 2000
RETRAIN_WEEKDAY = 0  # Monday: the model serving date D was trained on dates before D's Monday
MARKET_PRIOR_ROWS = 300
# the weights the model gets before held-out lined rows say otherwise: the books' lines beat a
# season average in every market, so a model not yet shown to add to them starts mostly theirs
# (1/2 measured worse in the walk-forward: README, "Prediction quality")
MARKET_PRIOR_WEIGHT = 0.2
# a mean of 0 has no spread: the smallest mean the distribution is given
MIN_MEAN = 0.05

_LINE_SUFFIXES = ("_line", "_line_books", "_line_over_prob")
# the market enters in stage 2 only: a regressor trained on seasons with no lines (2024-25 has
# no props, 2025-26 no game lines) must not learn from a column that is always null
MARKET_FEATURES = tuple(f for f in FEATURES if f.endswith(_LINE_SUFFIXES)) + (
    "team_spread",
    "game_total",
    "implied_team_total",
)
INPUTS = tuple(f for f in FEATURES if f not in MARKET_FEATURES)


def line_columns(market: str) -> tuple[str, str, str]:
    """The feature store's consensus line, books and no-vig over probability of `market`."""
    label = PROP_MARKETS[market]
    return f"{label}_line", f"{label}_line_books", f"{label}_line_over_prob"


def training_cutoff(day: dt.date) -> dt.date:
    """First date NOT in the training window of the models serving `day` (its week's Monday)."""
    return day - dt.timedelta(days=(day.weekday() - RETRAIN_WEEKDAY) % 7)


def model_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """The regressor's inputs: season-to-date and last-k windows a player has no games for yet
    fall back to his recent20 (any season) window, so opening week reads last season's form
    instead of an imputed league median."""
    x = features[list(INPUTS)].astype("float64")
    filled, fallbacks = [], []
    for stat in CACHE_STATS:
        for kind in ("avg", "std"):
            recent = f"{stat}_{kind}_recent20"
            for w in ("last5", "last10", "season"):
                col = f"{stat}_{kind}_{w}"
                if col in x and recent in x:
                    filled.append(col)
                    fallbacks.append(recent)
    if filled:  # one block assignment: a column at a time is ~100 frame copies
        x = x.copy()
        x[filled] = x[filled].fillna(pd.DataFrame(x[fallbacks].to_numpy(), index=x.index, columns=filled))
    return x


# the distribution -------------------------------------------------------------------------------
def count_probabilities(
    mean: np.ndarray, variance: Sequence[float], line: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(stat > line), P(stat < line), P(stat = line) of a negative binomial count with `mean` and
    variance `a x mean + b x mean^2` (`variance` = (a, b); Poisson where that is at most the mean).
    A half-point line cannot push; a whole line pushes with the probability of exactly that count."""
    mu = np.maximum(np.asarray(mean, dtype="float64"), MIN_MEAN)
    line = np.asarray(line, dtype="float64")
    a, b = variance
    # the negative binomial's alpha at each mean: variance = mean + alpha x mean^2 (a tiny alpha
    # is a Poisson to 1e-8)
    alpha = np.maximum((a - 1.0) * mu + b * mu * mu, 0.0) / (mu * mu) + 1e-9
    size = 1.0 / alpha
    prob = size / (size + mu)
    # the unfrozen methods: freezing builds a distribution object (and its docstrings) per call
    p_over = stats.nbinom.sf(np.floor(line), size, prob)  # over: X > floor(line)
    p_under = stats.nbinom.cdf(np.ceil(line) - 1, size, prob)  # under: X <= ceil(line) - 1
    whole = line == np.floor(line)
    p_push = np.where(whole, np.clip(1.0 - p_over - p_under, 0.0, 1.0), 0.0)
    return p_over, p_under, p_push


def fit_variance(y: np.ndarray, mu: np.ndarray) -> tuple[float, float]:
    """(a, b) of the variance function a x mean + b x mean^2 of counts `y` around means `mu`, by
    non-negative least squares on the squared errors (moments). Points vary about linearly in
    their mean (a ~ 3.5: they come in twos and threes), not as one negative binomial's alpha
    would have it: a single alpha fitted to a whole slate made a 20-point scorer's spread twice
    what it is."""
    mu = np.maximum(np.asarray(mu, dtype="float64"), MIN_MEAN)
    coef, _ = optimize.nnls(np.column_stack([mu, mu * mu]), (np.asarray(y, dtype="float64") - mu) ** 2)
    return round(float(coef[0]), 6), round(float(coef[1]), 6)


def over_given_decided(mean: np.ndarray, variance: Sequence[float], line: np.ndarray) -> np.ndarray:
    """P(stat > line | no push): the quantity a quote's no-vig over probability states."""
    p_over, p_under, _ = count_probabilities(mean, variance, line)
    return p_over / np.maximum(p_over + p_under, 1e-12)


def implied_means(p_over: np.ndarray, variance: Sequence[float], line: np.ndarray, steps: int = 40) -> np.ndarray:
    """The mean at which the distribution gives P(over `line` | no push) = `p_over`: what a quote's
    no-vig probability says of the stat, on a scale that quotes at different lines share. By
    bisection (P(over) rises with the mean); NaN where `p_over` is."""
    pairs = np.column_stack([np.asarray(p_over, dtype="float64"), np.asarray(line, dtype="float64")])
    known = ~np.isnan(pairs).any(axis=1)
    out = np.full(len(pairs), np.nan)
    if not known.any():  # most training windows predate the props data
        return out
    # prices are few: a season's quotes share a few thousand (probability, line) pairs
    unique, back = np.unique(pairs[known], axis=0, return_inverse=True)
    p, line = unique[:, 0], unique[:, 1]
    lo, hi = np.full(len(p), MIN_MEAN), np.maximum(3 * line + 10, 10.0)
    for _ in range(steps):  # 40 halvings of a range under ~200: far below a stat's unit
        mid = (lo + hi) / 2
        below = over_given_decided(mid, variance, line) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    out[known] = ((lo + hi) / 2)[back.reshape(-1)]
    return out


def market_means(quotes: pd.DataFrame, variance: Sequence[float]) -> pd.Series:
    """Per (game_date, player_id): the books' implied mean, each main-line quote's no-vig over
    probability read through the distribution and averaged. Books often disagree on the main line
    (most points and PRA consensus lines): averaging their probabilities states no line's
    probability, while their implied means are on one scale (walk-forward: README)."""
    main = main_quotes(quotes)
    mu = implied_means(
        main["over_prob_no_vig"].to_numpy(dtype="float64"), variance, main["line"].to_numpy(dtype="float64")
    )
    return pd.Series(mu, index=main.index).groupby([main["game_date"], main["player_id"]]).mean().rename("market_mean")


def main_quotes(quotes: pd.DataFrame) -> pd.DataFrame:
    """The main-line quotes priced on both sides, dated by Timestamp (idempotent: a caller reading
    many slices normalises once)."""
    main = quotes[quotes["main_line"].astype(bool) & quotes["over_prob_no_vig"].notna()]
    if main.empty or (pd.api.types.is_datetime64_dtype(main["game_date"]) and main["player_id"].dtype == "int64"):
        return main
    return main.assign(game_date=pd.to_datetime(main["game_date"]), player_id=main["player_id"].astype("int64"))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def pool(p_model: np.ndarray, p_books: np.ndarray, weight: float) -> np.ndarray:
    """`weight * logit(p_model) + (1 - weight) * logit(p_books)`; the model alone where the books
    give no probability (a quote missing one side's price)."""
    p_books = np.asarray(p_books, dtype="float64")
    pooled = sigmoid(weight * logit(p_model) + (1 - weight) * logit(np.nan_to_num(p_books, nan=0.5)))
    return np.where(np.isnan(p_books), p_model, pooled)


# regressors --------------------------------------------------------------------------------------
def _fit_ridge(x: pd.DataFrame, y: np.ndarray, seed: int) -> list[dict]:
    """Median imputation plus missing-value indicators, standardisation, ridge; kept as arrays.
    One fit for every column of `y` (the markets share their design: one solve serves all)."""
    from sklearn.linear_model import Ridge

    med = x.median().fillna(0.0)
    filled = x.fillna(med)
    mean, std = filled.mean(), filled.std().replace(0.0, 1.0).fillna(1.0)
    indicators = [c for c in x.columns if x[c].isna().any()]
    design = _ridge_design(x, med, mean, std, indicators)
    reg = Ridge(alpha=10.0).fit(design, y)
    coef, intercept = np.atleast_2d(reg.coef_), np.atleast_1d(reg.intercept_)
    shared = {"median": med.tolist(), "mean": mean.tolist(), "std": std.tolist(), "indicators": indicators}
    return [{**shared, "coef": coef[j].tolist(), "intercept": float(intercept[j])} for j in range(y.shape[1])]


def _ridge_design(x: pd.DataFrame, med, mean, std, indicators: Sequence[str]) -> np.ndarray:
    z = ((x.fillna(pd.Series(np.asarray(med), index=x.columns)) - np.asarray(mean)) / np.asarray(std)).to_numpy()
    na = x[list(indicators)].isna().to_numpy(dtype="float64")
    return np.hstack([z, na])


def _predict_ridge(p: dict, x: pd.DataFrame) -> np.ndarray:
    design = _ridge_design(x, p["median"], p["mean"], p["std"], p["indicators"])
    return design @ np.asarray(p["coef"]) + p["intercept"]


def _fit_gbm(x: pd.DataFrame, y: np.ndarray, seed: int) -> list[dict]:
    """One booster per column of `y`."""
    return [_fit_gbm_one(x, y[:, j], seed) for j in range(y.shape[1])]


def _fit_gbm_one(x: pd.DataFrame, y: np.ndarray, seed: int) -> dict:
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
class PropModel:
    market: str
    kind: str
    cutoff: str  # training dates are strictly before this date
    feature_version: str
    inputs: list[str]
    params: dict
    variance: list[float]  # (a, b): variance = a x mean + b x mean^2 around the mean
    market_weight_mean: float
    market_weight_prob: float
    metrics: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"{self.kind}-{MODEL_CODE_VERSION}-{self.market}-{self.cutoff}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PropModel:
        return cls(**json.loads(text))

    # stage 1
    def mean(self, features: pd.DataFrame) -> np.ndarray:
        return np.clip(_PREDICT[self.kind](self.params, model_inputs(features)[self.inputs]), MIN_MEAN, None)

    def probabilities(self, mean: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(over), P(under), P(push) at `line` around `mean`."""
        return count_probabilities(mean, self.variance, line)

    def market_p_over(self, market_mean: np.ndarray, line: np.ndarray) -> np.ndarray:
        """The books' P(over `line` | no push) at their implied mean (`market_means`)."""
        return over_given_decided(market_mean, self.variance, line)

    # stage 2
    def blend_mean(self, mean: np.ndarray, line: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(line), mean, line + self.market_weight_mean * (mean - line))

    def priced(
        self, mean: np.ndarray, line: np.ndarray, p_books: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(over), P(under), P(push) at `line`, the model's odds of over vs under pooled with the
        books' no-vig `p_books` (a probability given no push); the push probability stays the
        model's."""
        p_over, p_under, p_push = self.probabilities(mean, line)
        decided = np.maximum(p_over + p_under, 1e-12)
        q = pool(p_over / decided, p_books, self.market_weight_prob)
        return q * (1 - p_push), (1 - q) * (1 - p_push), p_push


class NotEnoughHistory(ValueError):
    pass


def training_frame(features: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of players who played, with their actual stats (`actual_<stat>`; DNP rows have
    no outcome)."""
    stat_cols = list(dict.fromkeys(MARKET_STATS.values()))
    r = results[["game_date", "player_id", *stat_cols]].astype({"player_id": "int64"})
    r = r.rename(columns={s: f"actual_{s}" for s in stat_cols})
    f = features.astype({"player_id": "int64"})
    return f.merge(r, on=["game_date", "player_id"], how="inner")


def fit(
    train: pd.DataFrame,
    market: str,
    cutoff: dt.date,
    kind: str = DEFAULT_MODEL_KIND,
    seed: int = 0,
    quotes: pd.DataFrame | None = None,
) -> PropModel:
    """Fit `market`'s model on the rows of `train` (from `training_frame`) dated before `cutoff`."""
    return fit_markets(train, cutoff, kind, seed, markets=[market], quotes=quotes)[market]


def fit_markets(
    train: pd.DataFrame,
    cutoff: dt.date,
    kind: str = DEFAULT_MODEL_KIND,
    seed: int = 0,
    markets: Sequence[str] = tuple(MARKET_STATS),
    quotes: pd.DataFrame | None = None,
) -> dict[str, PropModel]:
    """Fit each of `markets`' models on the rows of `train` (from `training_frame`) dated before
    `cutoff`. The markets share their rows and inputs, so each regression is fitted once for all
    of their stats. `quotes` (player_prop_quotes) give the books' probability the pooling weight
    is fitted against, as it is served (`market_means`); without them, the consensus no-vig."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"model kind {kind!r}: expected one of {MODEL_KINDS}")
    cut = pd.Timestamp(cutoff)
    window = train[(train["game_date"] < cut) & (train["game_date"] >= cut - pd.Timedelta(days=TRAINING_DAYS))]
    dates = np.sort(window["game_date"].unique())
    held_from = dates[-VALIDATION_DATES] if len(dates) > VALIDATION_DATES else cut
    early_rows = (window["game_date"] < held_from).to_numpy()
    # the held-out fit too: a ridge on a few hundred rows can extrapolate wildly
    if early_rows.sum() < MIN_TRAINING_ROWS:
        raise NotEnoughHistory(
            f"{int(early_rows.sum())} played player-games before {cutoff} outside the {VALIDATION_DATES} held-out "
            f"dates (need {MIN_TRAINING_ROWS}): too little history to train on"
        )
    quotes = None if quotes is None else main_quotes(quotes)
    inputs = list(INPUTS)
    targets = [f"actual_{MARKET_STATS[m]}" for m in markets]
    x = model_inputs(window)[inputs]
    y = window[targets].astype("float64").to_numpy()
    held = window[~early_rows]
    # measure on held-out dates with a fit that never saw them, then refit on the whole window
    early = _FIT[kind](x[early_rows], y[early_rows], seed)
    final = _FIT[kind](x, y, seed)
    held_x, held_y = x[~early_rows], y[~early_rows]
    models = {}
    for j, market in enumerate(markets):
        stat = MARKET_STATS[market]
        held_pred = np.clip(_PREDICT[kind](early[j], held_x), MIN_MEAN, None)
        model = PropModel(
            market=market,
            kind=kind,
            cutoff=cutoff.isoformat(),
            feature_version=FEATURE_VERSION,
            inputs=inputs,
            params=final[j],
            variance=list(fit_variance(held_y[:, j], held_pred)),
            market_weight_mean=0.5,
            market_weight_prob=0.5,
        )
        line_col, _, prob_col = line_columns(market)
        lined = held[line_col].notna().to_numpy()
        line = held[line_col].to_numpy(dtype="float64")
        p_books = held[prob_col].to_numpy(dtype="float64")
        if quotes is not None:
            on = quotes["game_date"]
            mine = quotes[(quotes["market"] == market) & (on >= held_from) & (on < cut)]
            at = market_means(mine, model.variance).reindex(
                pd.MultiIndex.from_arrays([held["game_date"].map(pd.Timestamp), held["player_id"].astype("int64")])
            )
            implied = model.market_p_over(at.to_numpy(dtype="float64"), line)
            p_books = np.where(np.isnan(implied), p_books, implied)
        model.market_weight_mean, model.market_weight_prob = _market_weights(
            model, held_pred[lined], held_y[lined, j], line[lined], p_books[lined]
        )
        baseline = held_x[f"{stat}_avg_season"].to_numpy()  # last season's recent20 where none yet
        has_base = ~np.isnan(baseline)
        err = np.abs(held_y[:, j] - held_pred)
        model.metrics = {
            "training_start": pd.Timestamp(dates[0]).date().isoformat(),
            "training_end": pd.Timestamp(dates[-1]).date().isoformat(),
            "training_rows": int(len(window)),
            "training_dates": int(len(dates)),
            "validation_start": pd.Timestamp(held_from).date().isoformat(),
            "validation_rows": int(len(held)),
            "validation_mae": round(float(err.mean()), 4),
            "validation_bias": round(float((held_y[:, j] - held_pred).mean()), 4),
            "validation_baseline_mae": round(float(np.abs(held_y[:, j] - baseline)[has_base].mean()), 4)
            if has_base.any()
            else None,
            "validation_lined_rows": int(lined.sum()),
        }
        models[market] = model
    return models


def _market_weights(model: PropModel, pred, y, line, p_books) -> tuple[float, float]:
    """beta (mean towards the line, by MAE) and w (P(over) pooled with the books', by log loss)
    on held-out lined rows, each shrunk towards MARKET_PRIOR_WEIGHT by MARKET_PRIOR_ROWS pseudo-rows."""
    grid = np.linspace(0.0, 1.0, 21)
    n = len(y)
    if n == 0:
        return MARKET_PRIOR_WEIGHT, MARKET_PRIOR_WEIGHT
    mae = [np.abs(y - (line + g * (pred - line))).mean() for g in grid]
    beta = float(grid[int(np.argmin(mae))])
    blended = line + beta * (pred - line)
    p_over, p_under, _ = model.probabilities(blended, line)
    decided = y != line  # a push settles neither side
    outcome = (y > line)[decided]
    p_model = (p_over / np.maximum(p_over + p_under, 1e-12))[decided]
    pb = p_books[decided]
    losses = []
    for g in grid:
        p = np.clip(pool(p_model, pb, g), 1e-6, 1 - 1e-6)
        losses.append(-np.mean(outcome * np.log(p) + (~outcome) * np.log(1 - p)))
    w = float(grid[int(np.argmin(losses))]) if decided.any() else MARKET_PRIOR_WEIGHT
    shrink = lambda v: round((n * v + MARKET_PRIOR_ROWS * MARKET_PRIOR_WEIGHT) / (n + MARKET_PRIOR_ROWS), 4)  # noqa: E731
    return shrink(beta), shrink(w)


def fit_weekly(
    train: pd.DataFrame, days: Sequence[dt.date], kind: str = DEFAULT_MODEL_KIND, quotes: pd.DataFrame | None = None
) -> Mapping[dt.date, Mapping[str, PropModel | str]]:
    """Each market's model serving each of `days`: one fit per market and distinct training cutoff
    (weekly), shared by that week's dates. A day whose window is too short maps each market to
    the reason instead."""
    quotes = None if quotes is None else main_quotes(quotes)
    fitted: dict[dt.date, dict[str, PropModel | str]] = {}
    out = {}
    for day in days:
        cut = training_cutoff(day)
        if cut not in fitted:
            try:
                fitted[cut] = fit_markets(train, cut, kind, quotes=quotes)
            except NotEnoughHistory as exc:
                fitted[cut] = dict.fromkeys(MARKET_STATS, str(exc))
        out[day] = fitted[cut]
    return out
