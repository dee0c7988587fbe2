"""Plots a coach reads in seconds: risk per intervention with intervals, risk against time cost,
and where on the course cramps start. Each is written as a PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from model.conventions import INTERVAL_PROB
from model.plots import finish_figure
from scenarios.compare import course_curves


def _plan(name: object) -> str:
    """A plan's name as a reader sees it: the baseline is the plan as written."""
    return "as planned" if str(name) == "baseline" else str(name)


def _interval_label(table: dict) -> str:
    i = table["interval"]
    return f"{i['prob']:.0%} {'equal-tailed' if i['kind'] == 'eti' else i['kind']} interval"


def _axes(axes, n: int, **figure):
    """The caller's axes (to place a plot in their own figure), or a new figure's."""
    if axes is None:
        fig, axes = plt.subplots(1 if n == 1 else figure.pop("nrows", 1),
                                 1 if n == 1 else figure.pop("ncols", 1), **figure)
        return fig, axes, True
    flat = np.ravel(axes)
    if len(flat) != n:
        raise ValueError(f"this plot needs {n} axes, got {len(flat)}")
    return flat[0].figure, (flat[0] if n == 1 else flat), False


def plot_risk(table: dict, title: str, path: Path | None = None, ax=None):
    """Risk of a cramp per intervention, posterior mean with its interval."""
    rows = table["interventions"]
    fig, ax, own = _axes(ax, 1, figsize=(7, 0.55 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    for yi, row in zip(y, rows, strict=True):
        r = row["risk"]
        colour = "black" if row["name"] == "baseline" else "tab:blue"
        ax.errorbar(100 * r["mean"], yi, xerr=[[100 * (r["mean"] - r["lo"])],
                                                [100 * (r["hi"] - r["mean"])]],
                    fmt="o", color=colour, capsize=3)
        if row["p_better"] is not None:
            ax.annotate(f"P(helps) {row['p_better']:.0%}", (100 * r["hi"], yi),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(100 * rows[0]["risk"]["mean"], color="grey", lw=0.8, ls="--")
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
    fig, axes, own = _axes(axes, 2, ncols=2, figsize=(11, 4.2), sharey=True)
    for ax, key, label in (
        (axes[0], "finish_time_delta_s", "planned finishing time vs as planned [min]"),
        (axes[1], "expected_finish_time_delta_s",
         "expected finishing time incl. cramps vs as planned [min]"),
    ):
        for row in rows:
            r, t = row["risk_difference"], row[key]
            ax.errorbar(t["mean"] / 60, 100 * r["mean"],
                        xerr=[[(t["mean"] - t["lo"]) / 60], [(t["hi"] - t["mean"]) / 60]],
                        yerr=[[100 * (r["mean"] - r["lo"])], [100 * (r["hi"] - r["mean"])]],
                        fmt="o", capsize=3, label=_plan(row["name"]))
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(label)
    axes[0].set_ylabel(f"change in risk vs as planned [% points]\n({_interval_label(table)})")
    axes[0].axhline(0, color="grey", lw=0.8, ls="--")
    axes[1].axhline(0, color="grey", lw=0.8, ls="--")
    axes[1].legend(fontsize=8, loc="best")
    (fig.suptitle if own else axes[0].set_title)(title)
    return _finish(fig, path, own)


def plot_onset(result: xr.Dataset, title: str, path: Path | None = None, axes=None):
    """Where cramps start: share of the cramps starting per km along the course (posterior
    mean), and the field's hazard per km with its 95% interval for the baseline (two axes)."""
    curves = course_curves(result)
    km = curves["segment_mid_km"].to_numpy()
    fig, axes, own = _axes(axes, 2, nrows=2, figsize=(8, 6.5), sharex=True)
    for name in result["intervention"].to_numpy():
        share = curves["onset_share_per_km"].sel(intervention=name).mean("draw")
        axes[0].plot(km, 100 * share, label=_plan(name), lw=2 if name == "baseline" else 1.2)
    hazard = curves["hazard_per_km"].sel(intervention="baseline")
    lo, hi = hazard.quantile([(1 - INTERVAL_PROB) / 2, (1 + INTERVAL_PROB) / 2], "draw").to_numpy()
    axes[1].fill_between(km, 1000 * lo, 1000 * hi, alpha=0.3, color="black",
                         label=f"as planned, {INTERVAL_PROB:.0%} equal-tailed interval")
    axes[1].plot(km, 1000 * hazard.mean("draw"), color="black", label="as planned, mean")
    axes[0].set_ylabel("share of cramps starting per km [%]")
    axes[1].set_ylabel("cramps per 1000 runners per km\n(among those without one yet)")
    axes[1].set_xlabel("distance along the course [km]")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    axes[0].set_title(title)
    return _finish(fig, path, own)


def _finish(fig, path: Path | None, own: bool):
    if own:
        fig.tight_layout()
    return finish_figure(fig, path, 120)

