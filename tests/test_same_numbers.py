"""The numbers stay the same across refactors: every shipped scenario, the model's log density
and gradient, a fixed-seed fit, the checks and LOO are compared with outputs stored before the
refactor (tests/reference_outputs.py says how they are made and when to store them anew)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from reference_outputs import STORED, compute

# Float tolerances, where arithmetic may legitimately differ in the last bits (another CPU's SIMD
# exp; fused multiply-adds): the simulator keeps its cells in float32 (relative rounding ~6e-8);
# the kernel's cell covariates are float32 too, summed in float64; the checks are float64 xarray.
RTOL = {"simulate": 1e-6, "logp": 1e-7, "checks": 1e-9}
MC_Z = 4.0  # fit means: |difference| <= 4 Monte Carlo standard errors of the two runs


@pytest.fixture(scope="module")
def outputs() -> tuple[xr.DataTree, xr.DataTree]:
    stored = xr.open_datatree(STORED, engine="h5netcdf").load()
    return stored, compute()


def test_every_shipped_scenario_simulates_the_same(outputs):
    stored, now = outputs
    names = [k for k in stored.children if k.startswith("simulate_")]
    assert sorted(names) == sorted(k for k in now.children if k.startswith("simulate_"))
    for name in names:
        for var, expected in stored[name].to_dataset().data_vars.items():
            np.testing.assert_allclose(now[name][var].to_numpy(), expected.to_numpy(),
                                       rtol=RTOL["simulate"], atol=1e-12, err_msg=f"{name}.{var}")


def test_log_density_and_gradient_are_the_same(outputs):
    stored, now = outputs
    for var in ("logp", "dlogp"):
        np.testing.assert_allclose(now["fit"][var].to_numpy(), stored["fit"][var].to_numpy(),
                                   rtol=RTOL["logp"], err_msg=var)


def test_fixed_seed_fit_agrees_within_monte_carlo_error(outputs):
    stored, now = outputs
    a, b = stored["fit"].to_dataset(), now["fit"].to_dataset()
    assert list(a["parameter"].to_numpy()) == list(b["parameter"].to_numpy())
    se = np.sqrt(a["sd"] ** 2 / a["ess_bulk"] + b["sd"] ** 2 / b["ess_bulk"])
    z = np.abs(a["mean"] - b["mean"]) / se
    assert float(z.max()) <= MC_Z, z.to_series().sort_values().tail(3)


def test_checks_and_loo_are_the_same(outputs):
    stored, now = outputs
    for var, expected in stored["checks"].to_dataset().data_vars.items():
        np.testing.assert_allclose(now["checks"][var].to_numpy(), expected.to_numpy(),
                                   rtol=RTOL["checks"], atol=1e-12, err_msg=var)
