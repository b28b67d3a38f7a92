"""The report's plots, drawn with matplotlib and inlined as SVG.

Why matplotlib: the page must open from disk with nothing fetched and weigh under 2 MB. Plotly
would inline ~3.5 MB of JavaScript per page; matplotlib's SVG is a few tens of kB of static
markup that needs no script, prints, and keeps its text as text (searchable, and readable by
the tests). Figures are built with the object API (`Figure`, no pyplot): no global state, safe
in any process, and no GUI backend.
"""

import io
import re

import matplotlib
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from nba_pipeline.exports.files import ReportData
from nba_pipeline.exports.tables import MARKETS
from nba_pipeline.raw.tables import PROP_MARKETS

# the figures of a page with a record, in page order
FIGURES = ("profit", "markets", "mae")
_MODEL, _BOOKS, _GRID = "#1f6feb", "#d1242f", "#d0d7de"
_WIN, _LOSS = "#2da44e", "#cf222e"
_STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, rendered in the page's font
    "svg.hashsalt": "nba_pipeline",  # element ids depend on the data only: a re-render is identical
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": _GRID,
    "grid.linewidth": 0.6,
}
_SIZE = re.compile(r'<svg([^>]*?) width="[^"]+" height="[^"]+"')


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    # scale with the page (the viewBox keeps the aspect ratio)
    return _SIZE.sub(r'<svg\1 width="100%"', text, count=1)


def _date_axis(ax, dates: list | None = None) -> None:
    """Month and day ticks; with `dates`, only the first and the last (a narrow panel)."""
    if dates:
        ax.set_xticks(sorted({dates[0], dates[-1]}))
    else:
        ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(DateFormatter("%b %-d"))


def _profit(data: ReportData) -> Figure:
    fig = Figure(figsize=(10, 3.2))
    # fixed margins, not a layout engine: the figures' shapes never change, and constrained layout
    # was 40% of the rendering time
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.12, top=0.91, wspace=0.15)
    season, last30 = fig.subplots(1, 2)
    points = data.profit_by_date
    x = [p.game_date for p in points]
    day = [p.day_profit_units for p in points]
    season.bar(x, day, color=[_WIN if v >= 0 else _LOSS for v in day], alpha=0.45, width=0.9, label="day")
    season.plot(x, [p.season_profit_units for p in points], color=_MODEL, linewidth=1.6, label="season to date")
    season.set_title("Profit over the season (units, 1 unit per bet)")
    window = data.headline("last30")
    recent = [p for p in points if window is not None and p.game_date >= window.period_start]
    running, total = [], 0.0
    for p in recent:  # the window's running total: its last value is the last30 row's profit
        total += p.day_profit_units
        running.append(total)
    rx = [p.game_date for p in recent]
    last30.bar(
        rx,
        [p.day_profit_units for p in recent],
        color=[_WIN if p.day_profit_units >= 0 else _LOSS for p in recent],
        alpha=0.45,
        width=0.8,
    )
    last30.plot(rx, running, color=_MODEL, linewidth=1.6, marker="o", markersize=3)
    last30.set_title("Profit over the last 30 days (units)")
    for ax in (season, last30):
        ax.axhline(0, color="#57606a", linewidth=0.8)
        _date_axis(ax)
    season.legend(loc="upper left", frameon=False)
    return fig


def _markets(data: ReportData) -> Figure:
    fig = Figure(figsize=(10, 3.6))
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.13, top=0.92, wspace=0.15)
    cal, roi = fig.subplots(1, 2, width_ratios=(1, 1.4))
    cal.plot([0, 1], [0, 1], color="#57606a", linewidth=0.8, linestyle="--", label="perfect")
    for buckets, color, label in ((data.calibration, _MODEL, "model"), (data.books_calibration, _BOOKS, "books")):
        if buckets:
            cal.plot(
                [b.mean_p_over for b in buckets],
                [b.over_rate for b in buckets],
                color=color,
                marker="o",
                markersize=4,
                linewidth=1.2,
                label=f"{label} ({sum(b.rows for b in buckets):,} rows)",
            )
    cal.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted P(over)", ylabel="observed over rate")
    cal.set_title("Calibration over the season")
    cal.legend(loc="upper left", frameon=False)
    markets = [m for m in MARKETS]
    width = 0.38
    for i, (period, color) in enumerate((("season", _MODEL), ("last30", "#8250df"))):
        rows = {r.market: r for r in data.record if r.period == period}
        values = [(rows[m].roi or 0.0) if m in rows else 0.0 for m in markets]
        roi.bar([j + (i - 0.5) * width for j in range(len(markets))], values, width, color=color, label=period)
    roi.set_xticks(range(len(markets)), [PROP_MARKETS.get(m, m) for m in markets])
    roi.yaxis.set_major_formatter(PercentFormatter(1.0))
    roi.axhline(0, color="#57606a", linewidth=0.8)
    roi.set_title("ROI per market at the books' prices")
    roi.legend(frameon=False)
    return fig


def _mae(data: ReportData) -> Figure:
    markets = list(PROP_MARKETS)
    fig = Figure(figsize=(10, 2.6))
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.12, top=0.89, wspace=0.35)
    axes = fig.subplots(1, len(markets), sharex=True)
    for ax, market in zip(axes, markets):
        points = [p for p in data.mae_by_date if p.market == market]
        x = [p.game_date for p in points]
        ax.plot(x, [p.mae for p in points], color=_MODEL, linewidth=1.3, label="model")
        ax.plot(x, [p.line_mae for p in points], color=_BOOKS, linewidth=1.1, linestyle="--", label="line")
        ax.set_title(PROP_MARKETS[market])
        _date_axis(ax, x)
    axes[0].set_ylabel("MAE, last 7 days")
    axes[0].legend(frameon=False, fontsize=7)
    return fig


def report_figures(data: ReportData) -> dict[str, str]:
    """Each figure of `FIGURES` as inline SVG markup."""
    with matplotlib.rc_context(_STYLE):
        return {name: _svg(build(data)) for name, build in zip(FIGURES, (_profit, _markets, _mae))}
