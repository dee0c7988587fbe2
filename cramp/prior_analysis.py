"""What the priors say before any data: the evidence behind them, the incidence and onset
positions they imply for a marathon and a 56 km ultra field (prior predictive check), and how
much each factor's prior moves that (sensitivity)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from model.conventions import INTERVAL_PROB
from model.errors import InputError
from model.evidence.priors import Priors, load_priors
from model.hazard.specification import FACTORS
from model.output_claim import OutputClaim
from model.provenance import provenance_attrs, provenance_frame

DEFAULT_FOLDER = "results/prior_check"
OUTPUT_FILES = {"nc": "prior_predictive.nc", "png": "prior_predictive.png",
                "manifest": "provenance.json"}


def evidence(priors: Priors | str | Path | None = None) -> pd.DataFrame:
    """The evidence table (docs/evidence.md) with the priors that cite each study."""
    from model.evidence.table import cited_by, load_evidence

    return cited_by(load_evidence(), load_priors(priors)).set_index("id")


def priors_table(priors: Priors | str | Path | None = None) -> pd.DataFrame:
    """Each prior with its distribution, unit and the evidence it rests on."""
    return pd.DataFrame(load_priors(priors).table_rows()).set_index("name")


@dataclass
class PriorCheck:
    """Prior predictive draws per field: `dataset` holds the incidence and the onset share per
    km for every prior draw, with provenance in its attrs; `figures` each published figure
    (model/evidence/published_figures.toml) next to the prior's prediction for that study's
    field: median, `lo`-`hi` interval (90%, the figures file's `interval_prob`) and `inside`."""

    dataset: xr.Dataset
    priors: Priors
    figures: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self, prob: float = INTERVAL_PROB) -> dict[str, dict[str, float]]:
        """Per field: median and interval of the incidence, median onset km, share of onsets in
        the second half."""
        from model.evidence.prior_predictive import summarize

        return summarize(self.dataset, prob)

    def table(self, prob: float = INTERVAL_PROB) -> pd.DataFrame:
        return pd.DataFrame(self.summary(prob)).T

    def plot(self):
        from model.plots import plot_prior_predictive

        return plot_prior_predictive(self.dataset)

    def provenance(self) -> pd.DataFrame:
        return provenance_frame(self.dataset.attrs)

    @staticmethod
    def claim_output(folder: str | Path = DEFAULT_FOLDER, *, force: bool = False) -> OutputClaim:
        """An exclusive claim on the output folder, taken before the work (as
        `Scenario.claim_output`): a second run on it is refused at once, an existing one
        without `force`."""
        return OutputClaim(Path(folder), force=force, folder=True,
                           names=tuple(OUTPUT_FILES.values()))

    def save(self, folder: str | Path = DEFAULT_FOLDER, *, force: bool = False,
             claim: OutputClaim | None = None) -> dict[str, Path]:
        """prior_predictive.nc (with provenance), prior_predictive.png and provenance.json (the
        run's id, each file's sha256) as one set renamed into place; `claim`: one taken before
        the work with `PriorCheck.claim_output`."""
        from cramp.result_files import png_bytes, with_manifest
        from model.plots import plot_prior_predictive
        from model.provenance import run_id

        rid = run_id(self.dataset.attrs)
        dataset = self.dataset.copy(deep=False)
        dataset.attrs = {**self.dataset.attrs, "run_id": rid}
        files = with_manifest({
            OUTPUT_FILES["nc"]: bytes(dataset.to_netcdf(engine="h5netcdf")),
            OUTPUT_FILES["png"]: png_bytes(lambda f: plot_prior_predictive(self.dataset, f), rid),
        }, rid, self.dataset.attrs)
        if claim is not None:
            paths = claim.commit_folder(files, rid)
        else:
            with self.claim_output(folder, force=force) as own:
                paths = own.commit_folder(files, rid)
        return {key: paths[name] for key, name in OUTPUT_FILES.items()}


def prior_check(priors: Priors | str | Path | None = None, *, runners: int = 1000,
                draws: int = 400, seed: int = 0, figures: str | Path | None = None,
                compare_figures: bool = True) -> PriorCheck:
    """Simulate a typical marathon and 56 km ultra field of `runners` under `draws` prior
    draws: exact probabilities per draw, no coin flips; and (unless `compare_figures` is False)
    predict each published figure of `figures` (default: the shipped figures file) for its
    study's field under the same number of draws."""
    from model.evidence.figure_check import figure_table
    from model.evidence.figures import load_figures
    from model.evidence.prior_predictive import prior_predictive

    if runners < 1 or draws < 2:
        raise InputError(f"runners must be >= 1 and draws >= 2 (got {runners}, {draws})")
    p = load_priors(priors)
    dataset = prior_predictive(p, n_runners=runners, n_draws=draws, seed=seed)
    dataset.attrs.update(provenance_attrs(seed=seed, priors=p,
                                          extra={"runners": runners, "draws": draws}))
    table = pd.DataFrame()
    if compare_figures:
        f = load_figures(figures)
        prob = float(f.settings["interval_prob"])
        table = figure_table(p, f, n_draws=draws, seed=seed, prob=prob)
        table.attrs.update({"prob": prob, "figures": f.path, "figures_sha256": f.sha256})
    return PriorCheck(dataset, p, table)


def prior_sensitivity(priors: Priors | str | Path | None = None, *, runners: int = 1000,
                      draws: int = 400, seed: int = 0) -> pd.DataFrame:
    """Median incidence per field when one factor's prior is made sceptical (mean 0, same SD)
    or wide (SD doubled), next to the priors as given (row "as given"), in %."""
    p = load_priors(priors)

    def medians(changed: Priors) -> dict[str, float]:
        summary = prior_check(changed, runners=runners, draws=draws, seed=seed,
                              compare_figures=False).summary()
        return {f"{field} incidence median [%]": 100 * v["incidence_median"]
                for field, v in summary.items()}

    rows = [{"factor": "(none)", "prior": "as given", **medians(p)}]
    for factor in FACTORS:
        for label, changed in (("sceptical (mean 0)", p.with_prior(factor, mu=0.0)),
                               ("wide (SD x 2)", p.with_prior(factor, sigma=2 * p[factor].sigma))):
            rows.append({"factor": factor, "prior": label, **medians(changed)})
    return pd.DataFrame(rows).set_index(["factor", "prior"])
