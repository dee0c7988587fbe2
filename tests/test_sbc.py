"""Short simulation-based calibration (slow set: `pytest -m slow`): parameters drawn from the
priors, cohorts simulated with them, fitted; the truth's rank among the posterior draws must look
uniform. With 20 replications, each parameter's truth must fall inside its central 90% interval
in at least 14 of 20 fits (binomial(20, 0.9) gives fewer than 14 with probability < 0.2%) and not
always in the lower or upper half (both happen with probability 2 x 0.5^20)."""

import numpy as np
import pytest

from model.data.records import RaceRecords
from model.hazard.features import build_features
from model.hazard.forward import prior_draws
from model.hazard.specification import FACTORS
from model.inference.fit import fit
from model.validation.synth import synthesize

REPLICATIONS = 20
CHECKED = ("log_hazard_per_km", "distance_shape", *[f"beta[{f}]" for f in FACTORS])


@pytest.mark.slow
def test_simulation_based_calibration(priors):
    draws = prior_draws(priors, REPLICATIONS, seed=2026)
    inside = {name: 0 for name in CHECKED}
    upper_half = {name: 0 for name in CHECKED}
    for i in range(REPLICATIONS):
        d = draws.isel(draw=i)
        truth = {"beta": dict(zip(FACTORS, d["beta"].to_numpy(), strict=True))}
        truth.update({k: float(d[k]) for k in ("log_hazard_per_km", "distance_shape",
                                                "runner_sd", "race_sd", "ck_log_mean",
                                                "ck_log_sd", "ck_taper_effect")})
        records, splits = synthesize(1500, 1000 + i, truth)
        tree = fit(build_features(RaceRecords(records, splits, "sbc", "")), priors, draws=400,
                   tune=400, chains=2, seed=i)
        posterior = tree["posterior"].to_dataset()
        for name in CHECKED:
            if name.startswith("beta["):
                factor = name[5:-1]
                samples = posterior["beta"].sel(factor=factor).to_numpy().ravel()
                value = truth["beta"][factor]
            else:
                samples = posterior[name].to_numpy().ravel()
                value = truth[name]
            lo, hi = np.quantile(samples, [0.05, 0.95])
            inside[name] += lo <= value <= hi
            upper_half[name] += value > np.median(samples)
    assert all(count >= 14 for count in inside.values()), inside
    assert all(0 < count < REPLICATIONS for count in upper_half.values()), upper_half
