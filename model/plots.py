"""Figures people would rather look at than read: the prior predictive check, prior vs
posterior, the onset check and the data for the calibration plot.

No backend is forced: files are written with savefig, and notebooks show figures inline. pyplot is
imported by the functions that make figures (a saved scenario plot needs none: see
scenarios/plots.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where used: a scenario's PNGs are drawn without xarray
    import xarray as xr


def plot_prior_predictive(pp: xr.Dataset, path: Path | None = None):
    """Incidence across prior draws (left) and where cramps start along the course (right)."""
    import matplotlib.pyplot as plt

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
    return finish_figure(fig, path, 110)


def plot_prior_posterior(posterior: xr.Dataset, priors, truth: dict | None = None):
    """One panel per factor: the literature prior (normal density) against the posterior draws
    (histogram), with the true value when the data are synthetic. Returns the figure."""
    import matplotlib.pyplot as plt
    from scipy import stats

    from model.hazard.specification import FACTORS

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    beta = posterior["beta"]
    for ax, name, mu, sigma in zip(axes.ravel(), FACTORS, priors.factor_mu(),
                                   priors.factor_sigma(), strict=True):
        draws = beta.sel(factor=name).to_numpy().ravel()
        grid = np.linspace(min(mu - 3 * sigma, draws.min()), max(mu + 3 * sigma, draws.max()), 300)
        ax.plot(grid, stats.norm.pdf(grid, mu, sigma), color="grey", label="prior")
        ax.hist(draws, bins=40, density=True, alpha=0.6, label="posterior")
        if truth is not None and name in truth:
            ax.axvline(truth[name], color="black", ls="--", label="true value")
        ax.set_title(name)
        ax.set_xlabel("log hazard ratio per unit")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_onset_check(check: xr.Dataset):
    """Observed share of onsets per distance band against the model's, with its interval."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    mid = 0.5 * (check["band_start_km"] + check["band_end_km"]).to_numpy()
    width = float(check["band_end_km"][0] - check["band_start_km"][0])
    ax.bar(mid, 100 * check["observed_share"], width=0.9 * width, alpha=0.5,
           label=f"observed ({check.attrs['n_onsets']} onsets)")
    ax.errorbar(mid, 100 * check["predicted_share"],
                yerr=[100 * (check["predicted_share"] - check["predicted_lo"]),
                      100 * (check["predicted_hi"] - check["predicted_share"])],
                fmt="o", color="black", capsize=3,
                label=f"model (mean, {check.attrs['interval']} interval)")
    ax.set_xlabel("onset distance band [km]")
    ax.set_ylabel("share of onsets [%]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def calibration_tree(probability: xr.DataArray, cramped: np.ndarray, seed: int = 0) -> xr.DataTree:
    """A DataTree for ArviZ's PAV-adjusted calibration plot (`az.plot_ppc_pava`): posterior
    predictive cramps drawn from each draw's probability (seeded) and the observed outcomes."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    p = probability.transpose("chain", "draw", "record")
    predicted = (rng.random(p.shape) < p.to_numpy()).astype(int)
    return xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset({"cramped": (("chain", "draw", "record"), predicted)}),
        "observed_data": xr.Dataset({"cramped": ("record", np.asarray(cramped, int))}),
    })


def finish_figure(fig, path: Path | None, dpi: int):
    """Save and close the figure when a path is given (command line); else return it (notebooks
    show it inline)."""
    if path is not None:
        fig.savefig(path, dpi=dpi, format="png")
        if fig.canvas.manager is not None:  # a pyplot figure: let pyplot forget it
            import matplotlib.pyplot as plt

            plt.close(fig)
    return fig


def plot_training_load(profile, path: Path | None = None):
    """Weekly km over the last 12 weeks with the taper marked, and the Performance Manager Chart
    (fitness CTL, fatigue ATL, form TSB) over the last 90 days before the race."""
    import matplotlib.pyplot as plt
    import pandas as pd

    daily = profile.daily.assign(date=pd.to_datetime(profile.daily["date"]))
    fig, (ax_km, ax_pmc) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    last = daily.tail(84)
    weeks = last.set_index("date")["km"].resample("7D", origin="end", closed="right").sum()
    ax_km.bar(weeks.index - pd.Timedelta(days=3.5), weeks.to_numpy(), width=6, alpha=0.6,
              label="km per week")
    race = pd.Timestamp(profile.race_date)
    taper_start = race - pd.Timedelta(days=profile.taper_days)
    for ax in (ax_km, ax_pmc):
        ax.axvspan(taper_start, race, color="tab:green", alpha=0.12,
                   label=f"taper ({profile.taper_days} days)" if ax is ax_km else None)
        ax.axvline(race, color="black", lw=1)
    ax_km.set_ylabel("distance [km per week]")
    ax_km.legend(fontsize=8)
    recent = daily.tail(90)
    ax_pmc.plot(recent["date"], recent["ctl"], label="fitness (CTL, 42 d)")
    ax_pmc.plot(recent["date"], recent["atl"], label="fatigue (ATL, 7 d)")
    ax_pmc.plot(recent["date"], recent["tsb"], label="form (TSB)")
    ax_pmc.axhline(0, color="grey", lw=0.6)
    ax_pmc.set_ylabel("training load [rTSS per day]")
    ax_pmc.set_xlabel(f"date (race on {profile.race_date})")
    ax_pmc.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return finish_figure(fig, path, 110)
