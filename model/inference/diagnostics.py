"""Is a fit converged, and if not, what to do about it: the convergence verdict, the sampler
settings of a second attempt, and advice in the words of someone fitting their study."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import arviz as az
import numpy as np
import xarray as xr

from model.inference.posterior import REPORTED

RHAT_MAX = 1.01
ESS_MIN = 400
#: NUTS's target acceptance rate. 0.9 rather than nutpie's 0.8: on the design grid
#: (bench/design_grid.py) 0.8 left a divergence in a 6-race, 10,000-record cohort with heat
#: constant per race (the race effects' curvature changes with race_sd), 0.9 none, in the same time.
TARGET_ACCEPT = 0.9
#: a second attempt draws at most this many times the first one's draws and tuning steps
MAX_EXTENSION = 4
#: a fit of fewer draws in all (chains x draws) is a quick look that could not reach ESS_MIN by
#: design (it would need over 40% efficiency): it is not extended
EXTEND_FROM_TOTAL_DRAWS = 1000

#: what each reported parameter is, for advice in a researcher's words
MEANING = {
    "beta": "the factor effects",
    "log_hazard_per_km": "the baseline hazard",
    "distance_shape": "how the hazard grows with distance",
    "runner_sd": "how much runners differ beyond the factors",
    "race_sd": "how much race days differ beyond the factors",
    "ck_log_mean": "the mean pre-race CK where it was not measured",
    "ck_log_sd": "the spread of pre-race CK",
    "ck_taper_effect": "the taper's effect on pre-race CK",
}


@dataclass(frozen=True)
class SamplerSettings:
    """Draws and tuning steps per chain, and the NUTS target acceptance rate."""

    draws: int
    tune: int
    target_accept: float = TARGET_ACCEPT

    def describe(self) -> str:
        return f"{self.tune} tune + {self.draws} draws, target acceptance {self.target_accept}"


@dataclass
class Diagnostics:
    """Convergence verdict: worst R-hat, smallest bulk/tail ESS, divergent transitions, and the
    parameters where the worst values are."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    worst_rhat_parameter: str = ""
    worst_ess_parameter: str = ""

    @property
    def ess_min(self) -> float:
        return min(self.ess_bulk_min, self.ess_tail_min)

    @property
    def ok(self) -> bool:
        return self.rhat_max < RHAT_MAX and self.ess_min >= ESS_MIN and self.divergences == 0

    def problems(self) -> list[str]:
        found = []
        if not self.rhat_max < RHAT_MAX:
            found.append(f"R-hat {self.rhat_max:.3f} >= {RHAT_MAX} ({self.worst_rhat_parameter})")
        if self.ess_min < ESS_MIN:
            found.append(f"ESS {self.ess_min:.0f} < {ESS_MIN} ({self.worst_ess_parameter})")
        if self.divergences:
            found.append(f"{self.divergences} divergent transitions")
        return found


def diagnose(tree: xr.DataTree) -> Diagnostics:
    posterior = tree["posterior"].to_dataset()[list(REPORTED)].reset_coords(drop=True)
    rhat = _flat(az.rhat(posterior))
    bulk = _flat(az.ess(posterior, method="bulk"))
    tail = _flat(az.ess(posterior, method="tail"))
    ess = {name: min(bulk[name], tail[name]) for name in bulk}
    divergences = int(tree["sample_stats"].to_dataset()["diverging"].sum())
    return Diagnostics(
        rhat_max=max(rhat.values()),
        ess_bulk_min=min(bulk.values()),
        ess_tail_min=min(tail.values()),
        divergences=divergences,
        worst_rhat_parameter=max(rhat, key=rhat.__getitem__),
        worst_ess_parameter=min(ess, key=ess.__getitem__),
    )


def _flat(ds: xr.Dataset) -> dict[str, float]:
    """One value per scalar parameter, named `beta[taper]` for the factors."""
    values = {}
    for name in ds.data_vars:
        array = ds[name]
        if array.ndim == 0:
            values[name] = float(array)
            continue
        dim = array.dims[0]
        for label, value in zip(array[dim].to_numpy(), np.ravel(array.to_numpy()), strict=True):
            values[f"{name}[{label}]"] = float(value)
    return values


def second_attempt(first: SamplerSettings, d: Diagnostics, chains: int) -> SamplerSettings | None:
    """The settings of one more attempt when the first did not converge, or None (converged,
    or a quick look of fewer than EXTEND_FROM_TOTAL_DRAWS draws in all).

    Divergences: smaller steps (a higher target acceptance) and a longer adaptation. R-hat:
    longer tuning and twice the draws. Too few effective draws: more draws, in proportion to the
    shortfall with a 30% margin (ESS grows about linearly with the draws of a mixing chain).
    Capped at MAX_EXTENSION times the first attempt's draws and tuning."""
    if d.ok or chains * first.draws < EXTEND_FROM_TOTAL_DRAWS:
        return None
    draws, tune, accept = first.draws, first.tune, first.target_accept
    if d.divergences:
        accept = max(accept, 0.95) if accept < 0.95 else min(0.99, accept + 0.03)
        tune = 2 * tune
    if d.rhat_max >= RHAT_MAX:
        tune, draws = 2 * tune, 2 * draws
    if d.ess_min < ESS_MIN:
        needed = 1.3 * ESS_MIN / max(d.ess_min, 1.0)
        draws = max(draws, 100 * math.ceil(first.draws * needed / 100))
    return replace(first, draws=min(draws, MAX_EXTENSION * first.draws),
                   tune=min(tune, MAX_EXTENSION * first.tune), target_accept=accept)


def advice(d: Diagnostics, settings: SamplerSettings, design: dict[str, int]) -> list[str]:
    """What the failed diagnostics mean for the study and what to try, one line each.

    `design`: n_races, n_runners, n_records and n_runners_seen_twice of the data."""
    if d.ok:
        return []
    lines = []
    for parameter in dict.fromkeys([d.worst_ess_parameter, d.worst_rhat_parameter]):
        if not parameter:
            continue
        name = parameter.split("[")[0]
        line = f"{parameter} ({MEANING.get(name, name)}) mixed slowly"
        if name == "race_sd":
            line += (f": {design['n_races']} race(s) say little about how race days differ, so "
                     "its posterior stays close to its prior and is explored slowly. It matters "
                     "for predicting a new race day, less for the factor effects.")
        elif name == "runner_sd":
            line += (f": only {design['n_runners_seen_twice']} of {design['n_runners']} runners "
                     "were seen in more than one race, so little tells runners apart beyond the "
                     "factors.")
        else:
            line += "."
        lines.append(line)
    if d.divergences:
        lines.append(f"{d.divergences} divergent transitions: the sampler met curvature it "
                     "could not follow, so part of the posterior may be missed. Try "
                     f"--target-accept {min(0.99, max(0.95, settings.target_accept + 0.03))} "
                     "(smaller steps, slower).")
    if d.rhat_max >= RHAT_MAX or d.ess_min < ESS_MIN:
        lines.append(f"Try more draws: --draws {2 * settings.draws} --tune {2 * settings.tune} "
                     "(about twice the time); the estimates above are usable as a first look "
                     "but their intervals' ends are not yet reliable.")
    return lines
