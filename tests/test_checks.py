"""Posterior predictive checks and LOO: the per-runner likelihoods against the PyMC model."""

import numpy as np
import pytest
import xarray as xr
from test_model import PARAMS, model_point, tiny  # noqa: F401 - the fixture is used by name

from model.hazard.forward import prior_draws
from model.hazard.specification import FACTORS, NO_CRAMP
from model.inference.hazard_model import build_model
from model.validation.checks import (
    cramp_probability_by_record,
    loo_binary,
    onset_check,
    runner_log_likelihood,
)


def params_dataset(p=PARAMS, n_draws=1) -> xr.Dataset:
    def rep(x):
        return np.repeat(np.asarray(x, float)[None], n_draws, axis=0)

    return xr.Dataset(
        {"beta": (("draw", "factor"), rep(p["beta"])),
         "log_hazard_per_km": ("draw", rep(p["log_h10"])),
         "distance_shape": ("draw", rep(p["shape"])),
         "runner_sd": ("draw", rep(p["runner_sd"])), "race_sd": ("draw", rep(p["race_sd"])),
         "race_effect": (("draw", "race"), rep(p["race_sd"] * p["race_z"])),
         "ck_log_mean": ("draw", rep(p["ck_mean"])), "ck_log_sd": ("draw", rep(p["ck_sd"])),
         "ck_taper_effect": ("draw", rep(p["ck_taper"]))},
        coords={"factor": list(FACTORS)})


def model_log_likelihood(f, priors) -> float:
    """The PyMC model's likelihood terms (loglik + measured CK) at PARAMS."""
    model = build_model(f, priors)
    point = model_point(model, priors)
    terms = model.replace_rvs_by_values([model["loglik"] + model["ck_observed"]])[0]
    fn = model.compile_fn(terms, inputs=model.value_vars, on_unused_input="ignore")
    return float(fn(point))


def test_full_runner_likelihood_sums_to_the_pymc_model(tiny, priors):  # noqa: F811
    ll = runner_log_likelihood(tiny, params_dataset())
    assert ll.sizes["runner"] == 5 and set(ll["runner"].to_numpy()) == set("ABCDE")
    # the model stores its cell covariates in float32 (computes in float64): agreement to ~1e-7
    assert float(ll.sum()) == pytest.approx(model_log_likelihood(tiny, priors), abs=1e-5)


def test_binary_likelihood_matches_cramp_probability(tiny):  # noqa: F811
    params = params_dataset(n_draws=2)
    p = cramp_probability_by_record(tiny, params)
    cramped = (tiny["outcome"] != NO_CRAMP).to_numpy()
    ll = runner_log_likelihood(tiny, params, kind="binary")
    # runners with one race: the binary likelihood is P(cramp) or 1 - P(cramp)
    for runner in "BCDE":
        r = int(np.flatnonzero(tiny["runner"].to_numpy() == runner)[0])
        rec = int(np.flatnonzero(tiny["runner_index"].to_numpy() == r)[0])
        expected = np.log(p.isel(record=rec) if cramped[rec] else 1 - p.isel(record=rec))
        np.testing.assert_allclose(ll.sel(runner=runner), expected, rtol=1e-10)


def test_onset_check_shares_are_distributions(tiny):  # noqa: F811
    check = onset_check(tiny, params_dataset(n_draws=3), bin_km=5.0)
    assert check.attrs["n_onsets"] == 2
    assert float(check["observed_share"].sum()) == pytest.approx(1.0)
    assert float(check["predicted_share"].sum()) == pytest.approx(1.0)
    assert np.all(check["predicted_lo"] <= check["predicted_hi"])


def test_loo_of_the_binary_outcome_runs_on_weights_of_the_full_likelihood(tiny, priors):  # noqa: F811
    draws = prior_draws(priors, 400, seed=2)
    draws["race_effect"] = (("draw", "race"), np.zeros((400, tiny.sizes["race"])))
    full = runner_log_likelihood(tiny, draws).rename(draw="sample")
    binary = runner_log_likelihood(tiny, draws, kind="binary").rename(draw="sample")

    def chains(x):
        return x.coarsen(sample=200).construct(sample=("chain", "draw")).transpose(
            "chain", "draw", "runner")

    elpd = loo_binary(chains(full), chains(binary), "hazard")
    assert np.isfinite(elpd.elpd) and elpd.elpd < 0
    # with the binary likelihood as its own weights it is plain PSIS-LOO
    plain = loo_binary(chains(binary), chains(binary), "plain")
    assert np.isfinite(plain.elpd)


def test_simple_model_likelihood_per_runner(tiny, priors):  # noqa: F811
    from scipy import stats

    from model.inference.simple_model import (
        COVARIATES,
        build_simple_model,
        race_level_covariates,
        simple_runner_log_likelihood,
    )

    rng = np.random.default_rng(0)
    post = xr.Dataset({"intercept": (("chain", "draw"), rng.normal(-2, 0.3, (1, 3))),
                       "b": (("chain", "draw", "covariate"), rng.normal(0, 0.5, (1, 3, 8)))},
                      coords={"covariate": list(COVARIATES)})
    ll = simple_runner_log_likelihood(post, tiny)
    x = race_level_covariates(tiny)
    assert float(x["excess_distance"][0]) == pytest.approx((42.195 - 0.5 * 0.195 - 30) / 10,
                                                           abs=0.06)
    cramped = (tiny["outcome"] != NO_CRAMP).to_numpy()
    for d in range(3):
        p = post.isel(chain=0, draw=d)
        logit = float(p["intercept"]) + sum(float(p["b"].sel(covariate=c)) * x[c].to_numpy()
                                            for c in COVARIATES)
        record_ll = stats.bernoulli.logpmf(cramped, 1 / (1 + np.exp(-logit)))
        np.testing.assert_allclose(float(ll.isel(chain=0, draw=d).sum()), record_ll.sum())
        assert float(ll.isel(chain=0, draw=d).sel(runner="A")) == pytest.approx(
            record_ll[tiny["runner_index"].to_numpy() == 0].sum())
    # the PyMC version of the same model has the same log-likelihood
    model = build_simple_model(tiny, priors)
    fn = model.compile_fn(model.logp(vars=[model["cramped"]]), inputs=model.value_vars)
    p = post.isel(chain=0, draw=0)
    assert fn({"intercept": float(p["intercept"]), "b": p["b"].to_numpy()}) == pytest.approx(
        float(ll.isel(chain=0, draw=0).sum()))
