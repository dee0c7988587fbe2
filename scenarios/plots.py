"""Plots a coach reads in seconds: risk per intervention with intervals, risk against time cost,
and where on the course cramps start. Each is written as a PNG.

The drawing functions take plain numbers (the comparison's dict, numpy arrays), and this module
imports no xarray: `cramp simulate` draws its PNGs in a second process (cramp/plot_process.py) that
imports only matplotlib and this, while the first one simulates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from model.conventions import INTERVAL_PROB
from model.plots import finish_figure

if TYPE_CHECKING:
    import xarray as xr

PNG_DPI = 120


def _plan(name: object) -> str:
    """A plan's name as a reader sees it: the baseline is the plan as written."""
    return "as planned" if str(name) == "baseline" else str(name)


def _interval_label(table: dict) -> str:
    i = table["interval"]
    return f"{i['prob']:.0%} {'equal-tailed' if i['kind'] == 'eti' else i['kind']} interval"


def _axes(axes, n: int, path: Path | None, *, figsize: tuple[float, float], nrows: int = 1,
          ncols: int = 1, **share):
    """The caller's axes (to place a plot in their own figure), or a new figure's. A figure to
    be saved is made at the PNG's dpi, so that the layout's text measurements are the saved ones
    (matplotlib caches them per dpi), and without pyplot (its import and figure registry are for
    figures that are shown); one that is returned is a pyplot figure, shown in notebooks."""
    if axes is None:
        if path is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=figsize)
        else:
            from matplotlib.figure import Figure

            fig = Figure(figsize=figsize, dpi=PNG_DPI)
        return fig, fig.subplots(nrows, ncols, **share), True
    flat = np.ravel(axes)
    if len(flat) != n:
        raise ValueError(f"this plot needs {n} axes, got {len(flat)}")
    return flat[0].figure, (flat[0] if n == 1 else flat), False


def _lo_mean_hi(rows: list[dict], key: str, scale: float) -> np.ndarray:
    """(row, lo/mean/hi) of one interval entry of each plan, times `scale`."""
    return scale * np.array([[row[key][k] for k in ("lo", "mean", "hi")] for row in rows])


def _intervals(ax, stats_x: np.ndarray, stats_y: np.ndarray, colours: list[str]) -> None:
    """A point per row at the means with its interval bars and caps along x and y (each a
    lo/mean/hi array; a constant one draws no bar), as `errorbar(fmt="o", capsize=3)` draws
    them, but as one collection per kind instead of seven artists per point (matplotlib's cost
    is per artist: ~0.04 s for the ten points of `plot_risk_vs_time`)."""
    x, y = stats_x[:, 1], stats_y[:, 1]
    cap = {"s": 6.0**2, "c": colours * 2, "linewidths": 1.0}  # 3 pt each side, as capsize=3
    for lo_hi, other, marker, bars in ((stats_x, y, "|", ax.hlines),
                                       (stats_y, x, "_", ax.vlines)):
        if np.ptp(lo_hi, axis=1).any():
            bars(other, lo_hi[:, 0], lo_hi[:, 2], colors=colours, lw=1.5)
            ends = np.r_[lo_hi[:, 0], lo_hi[:, 2]]
            ax.scatter(*((ends, np.r_[other, other]) if marker == "|" else
                         (np.r_[other, other], ends)), marker=marker, **cap)
    ax.scatter(x, y, s=6.0**2, c=colours, zorder=3)


def plot_risk(table: dict, title: str, path: Path | None = None, ax=None):
    """Risk of a cramp per intervention, posterior mean with its interval."""
    rows = table["interventions"]
    fig, ax, own = _axes(ax, 1, path, figsize=(7, 0.55 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    risk = _lo_mean_hi(rows, "risk", 100)
    _intervals(ax, risk, np.repeat(y[:, None], 3, axis=1),
               ["black" if row["name"] == "baseline" else "tab:blue" for row in rows])
    for yi, row, hi in zip(y, rows, risk[:, 2], strict=True):
        if row["p_better"] is not None:
            ax.annotate(f"P(helps) {row['p_better']:.0%}", (hi, yi),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(risk[0, 1], color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, [_plan(row["name"]) for row in rows])
    ax.set_xlabel(f"risk of a cramp during the race [%] (mean, {_interval_label(table)})")
    ax.set_title(title)
    ax.margins(x=0.25)  # room for the P(helps) labels; a risk has no ticks outside 0-100%
    ax.set_xlim(left=max(ax.get_xlim()[0], -2.0))
    ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= 100])
    return _finish(fig, path, own)


def plot_risk_vs_time(table: dict, title: str, path: Path | None = None, axes=None):
    """Change in risk (paired with the baseline, draw by draw) against the planned time cost,
    and against the expected finishing time once time lost to cramps is counted (two axes)."""
    rows = table["interventions"]
    fig, axes, own = _axes(axes, 2, path, ncols=2, figsize=(11, 4.2), sharey=True)
    colours = [f"C{i}" for i in range(len(rows))]
    change = _lo_mean_hi(rows, "risk_difference", 100)
    for ax, key, label in (
        (axes[0], "finish_time_delta_s", "planned finishing time vs as planned [min]"),
        (axes[1], "expected_finish_time_delta_s",
         "expected finishing time incl. cramps vs as planned [min]"),
    ):
        _intervals(ax, _lo_mean_hi(rows, key, 1 / 60), change, colours)
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(label)
    axes[0].set_ylabel(f"change in risk vs as planned [% points]\n({_interval_label(table)})")
    axes[0].axhline(0, color="grey", lw=0.8, ls="--")
    axes[1].axhline(0, color="grey", lw=0.8, ls="--")
    # 'best': the points can be anywhere, and a fixed place would cover some (~0.01 s)
    axes[1].legend([Line2D([], [], color=c, marker="o", lw=1.5) for c in colours],
                   [_plan(row["name"]) for row in rows], fontsize=8, loc="best")
    (fig.suptitle if own else axes[0].set_title)(title)
    return _finish(fig, path, own)


def plot_onset(result: xr.Dataset, title: str, path: Path | None = None, axes=None,
               curves: xr.Dataset | None = None):
    """Where cramps start: share of the cramps starting per km along the course (posterior
    mean), and the field's hazard per km with its 95% interval for the baseline (two axes).
    `curves`: `course_curves(result)` when the caller has it already."""
    from scenarios.compare import onset_lines

    return draw_onset(onset_lines(result, curves), title, path, axes)


def draw_onset(lines: dict, title: str, path: Path | None = None, axes=None):
    """`plot_onset` from its `scenarios.compare.onset_lines`."""
    km, hazard = lines["km"], lines["hazard_per_1000"]
    fig, axes, own = _axes(axes, 2, path, nrows=2, figsize=(8, 6.5), sharex=True)
    for name in lines["plans"]:
        axes[0].plot(km, lines["share_pct"][name], label=_plan(name),
                     lw=2 if name == "baseline" else 1.2)
    axes[1].fill_between(km, hazard["lo"], hazard["hi"], alpha=0.3, color="black",
                         label=f"as planned, {INTERVAL_PROB:.0%} equal-tailed interval")
    axes[1].plot(km, hazard["mean"], color="black", label="as planned, mean")
    axes[0].set_ylabel("share of cramps starting per km [%]")
    axes[1].set_ylabel("cramps per 1000 runners per km\n(among those without one yet)")
    axes[1].set_xlabel("distance along the course [km]")
    # 'best' (the default): where the curves leave room depends on the course and the weather
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    axes[0].set_title(title)
    return _finish(fig, path, own)


def _finish(fig, path: Path | None, own: bool):
    if own:
        fig.tight_layout()
    return finish_figure(fig, path, PNG_DPI)

