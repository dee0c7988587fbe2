"""Figures people would rather look at than read: the prior predictive check."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402


def plot_prior_predictive(pp: xr.Dataset, path: Path) -> None:
    """Incidence across prior draws (left) and where cramps start along the course (right)."""
    fig, (ax_inc, ax_onset) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for field in pp["field"].to_numpy():
        f = pp.sel(field=field)
        ax_inc.hist(100 * f["incidence"].to_numpy(), bins=40, alpha=0.55, label=str(field))
        # per km, so that a short final segment is not read as a drop
        share = 100 * (f["onset_share"] / f["segment_length_km"]).dropna("segment")
        km = f["segment_mid_km"].dropna("segment")
        median = share.median("draw")
        ax_onset.plot(km, median, label=f"{field} (median)")
        ax_onset.fill_between(
            km, share.quantile(0.05, "draw"), share.quantile(0.95, "draw"), alpha=0.2
        )
    ax_inc.set_xlabel("cramp incidence in the field [% of starters]")
    ax_inc.set_ylabel("prior draws")
    ax_inc.set_title("How many cramp? (literature prior)")
    ax_inc.legend()
    ax_onset.set_xlabel("distance covered [km]")
    ax_onset.set_ylabel("share of cramps starting per km [% / km]")
    ax_onset.set_title("Where do cramps start? (90% band over prior draws)")
    ax_onset.legend()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
