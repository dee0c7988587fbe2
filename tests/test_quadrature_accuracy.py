"""The fit's runner-effect quadrature against brute force, where it is hardest: runners in
several races (their likelihood, a product over races, is peaked in the runner effect, far in
its tail for a runner who cramped more than once) at a large runner SD.

The error that matters is the one that moves a posterior: a log-likelihood error whose slope in
a parameter is g shifts that parameter's posterior by about g x (posterior SD)^2. It is held
below a tenth of a posterior SD at the prior's 99th percentile of runner_sd, with the posterior
SDs of the SBC design three_races_600 (cramp_history 0.14, runner_sd 0.15: simulation-based
calibration found cramp_history's intervals too narrow there, rising with runner_sd).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from model.data.records import RaceRecords
from model.evidence.priors import load_priors
from model.hazard.features import build_features
from model.hazard.quadrature import gauss_hermite_normal, trapezoid_normal
from model.inference.hazard_model import N_NODES_DAMAGE, N_NODES_RUNNER, kernel_data, prepare
from model.inference.likelihood_kernel import loglik_and_gradient, runner_logliks
from model.validation.sbc import DESIGNS, design_cohort, design_race_effects, kernel_point
from model.validation.synth import DEFAULT_TRUTH, synthesize

POSTERIOR_SD = {"cramp_history": 0.14, "runner_sd": 0.15}  # three_races_600, SBC fits
MAX_SHIFT_SD = 0.1  # allowed posterior shift, in posterior SDs
MAX_RUNNER_ERROR = 0.05  # log-likelihood units, any one runner
STEP = 0.25  # central differences of the error


def runner_sd_99() -> float:
    """The prior's 99th percentile of runner_sd (half-normal)."""
    return float(load_priors(None)["runner_sd"].sigma * stats.norm.ppf(0.995))


def cohort(seed: int, runner_sd: float):
    design = DESIGNS["three_races_600"]
    truth = {**DEFAULT_TRUTH, "runner_sd": runner_sd}
    records, splits = design_cohort(design, seed, truth, synthesize)
    features = build_features(RaceRecords(records, splits, f"quadrature:{seed}", ""))
    return prepare(features), truth, design_race_effects(design, seed, truth,
                                                         features["race"].to_numpy())


def error_per_runner(d, truth, race_effect, n_nodes: int) -> np.ndarray:
    """Per runner: log-likelihood by an n-node Gauss-Hermite rule minus brute force (the
    trapezoid rule on 2,401 points), at `truth`."""
    point = kernel_point(d, truth, race_effect)
    data = kernel_data(d, n_nodes, N_NODES_DAMAGE)
    fine_z, fine_logw = trapezoid_normal()
    fine = runner_logliks(*point, *replace(data, z_runner=fine_z, logw_runner=fine_logw).arrays())
    return runner_logliks(*point, *data.arrays()) - fine


def shifted(truth: dict, name: str, delta: float) -> dict:
    if name == "runner_sd":
        return {**truth, "runner_sd": truth["runner_sd"] + delta}
    return {**truth, "beta": {**truth["beta"], name: truth["beta"][name] + delta}}


#: the fit's rule holds to the tolerances below up to runner_sd 1.2 with 9 nodes (the prior's
#: 89th percentile), 1.4 with 11-15, 1.6 with 17 and 1.93 (the 99th) with 21
#: (bench/quadrature_error.py); more nodes cost 1.7-2.3x per gradient at 21
#: (bench/quadrature_cost.py), so the node count in model/hazard/specification.py is a choice
#: between the two, and the checks at the 99th percentile are expected to fail below 21 nodes
NODES_FOR_PRIOR_99 = 21
at_prior_99 = pytest.mark.xfail(
    N_NODES_RUNNER < NODES_FOR_PRIOR_99, strict=True,
    reason=f"{N_NODES_RUNNER} runner-effect nodes are accurate up to runner_sd ~1.2 only")


@pytest.fixture(scope="module", params=[100, 101])
def large_sd_cohort(request):
    return cohort(request.param, runner_sd_99())


@pytest.fixture(scope="module", params=[100, 101])
def validated_sd_cohort(request):
    return cohort(request.param, 1.2)


def test_the_brute_force_is_exact_where_gauss_hermite_is():
    """At a small runner SD, 21-node Gauss-Hermite and the trapezoid rule agree to 1e-9 (so
    the reference's own error is below that)."""
    d, truth, race_effect = cohort(100, 0.3)
    assert np.abs(error_per_runner(d, truth, race_effect, 21)).max() < 1e-9


def check_runner_errors(d, truth, race_effect) -> None:
    error = error_per_runner(d, truth, race_effect, N_NODES_RUNNER)
    assert np.abs(error).max() < MAX_RUNNER_ERROR


def check_posterior_shift(d, truth, race_effect, name: str) -> None:
    up, down = (error_per_runner(d, shifted(truth, name, s * STEP), race_effect,
                                 N_NODES_RUNNER).sum() for s in (1, -1))
    slope = (up - down) / (2 * STEP)
    shift_in_sd = abs(slope) * POSTERIOR_SD[name]
    assert shift_in_sd < MAX_SHIFT_SD, (
        f"{N_NODES_RUNNER} runner-effect nodes at runner_sd {truth['runner_sd']:.2f}: the "
        f"error's slope in {name} is {slope:.3f}, a posterior shift of {shift_in_sd:.2f} "
        "posterior SDs")


def test_each_runner_is_integrated_to_within_0_05_up_to_runner_sd_1_2(validated_sd_cohort):
    check_runner_errors(*validated_sd_cohort)


@pytest.mark.parametrize("name", sorted(POSTERIOR_SD))
def test_no_posterior_moves_by_a_tenth_of_its_sd_up_to_runner_sd_1_2(validated_sd_cohort, name):
    check_posterior_shift(*validated_sd_cohort, name)


@at_prior_99
def test_each_runner_and_each_posterior_is_right_at_the_prior_99th(large_sd_cohort):
    """Both checks above at the prior's 99th percentile of runner_sd: one test, so that the
    expected failure below 21 nodes is strict (any check failing counts)."""
    check_runner_errors(*large_sd_cohort)
    for name in sorted(POSTERIOR_SD):
        check_posterior_shift(*large_sd_cohort, name)


def test_the_fit_rule_is_gauss_hermite_of_the_specified_size():
    """The rule the tests above check is the one the fit's kernel gets, and the per-runner
    terms they compare sum to the kernel's log-likelihood."""
    d, truth, race_effect = cohort(100, 0.5)
    data = kernel_data(d, N_NODES_RUNNER, N_NODES_DAMAGE)
    z, logw = gauss_hermite_normal(N_NODES_RUNNER)
    np.testing.assert_array_equal(data.z_runner, z)
    np.testing.assert_array_equal(data.logw_runner, logw)
    point = kernel_point(d, truth, race_effect)
    assert runner_logliks(*point, *data.arrays()).sum() == pytest.approx(
        loglik_and_gradient(*point, *data.arrays())[0], rel=1e-12)
