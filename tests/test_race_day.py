"""A field races on one race day: the simulator's per-draw risks against plain Monte Carlo race
days - coin flips per runner and km, one race-day effect shared by the whole field each day -
written out from design.md's definitions, independently of the simulator's matrices. And the
rules around it: one runner keeps the expectation over both effects, the day is shared by every
plan and seeded by the draw."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
import xarray as xr
from conftest import log_rate_by_hand
from scipy.stats import norm

from model.hazard.forward import prior_draws
from scenarios.course import Segments, plan_race
from scenarios.population import runner_block
from scenarios.simulate import race_day_z, simulate
from scenarios.spec import parse_scenario

HOURS = ["06:00", "08:00", "10:00", "12:00", "14:00", "16:00"]
RUNNERS = 60
COPIES = 8  # fields racing the same day: separate the day's spread from the coin flips
RACE_DAYS = 1500  # coin-flip race days per parameter draw
QUANTILE_DAYS = 300  # coin-flip race days at each fixed race-day quantile
SIM_DAYS = 2000  # the simulator's race days: one parameter draw repeated, one race day each
BOOTSTRAP = 400
Z = 4.0  # tolerances: 4 Monte Carlo standard errors of the difference
# a handful of fixed parameter draws: (prior draw seed, runner_sd, race_sd, log_hazard_per_km)
CASES = [(1, 0.5, 0.6, -6.0), (2, 0.3, 1.0, -6.5), (3, 0.8, 0.4, -5.5)]


def field_population() -> dict:
    return {
        "count": RUNNERS, "ref_distance_km": 10.0,
        "ref_time_s": {"dist": "lognormal", "median": 3000, "sd_log": 0.15, "min": 2200,
                       "max": 4200},
        "longest_run_km": {"dist": "normal", "mean": 16, "sd": 3, "min": 8},
        "taper_days": {"dist": "uniform", "min": 3, "max": 14},
        "cramp_history": {"dist": "bernoulli", "p": 0.3},
    }


def field(**changes):
    """A small half-marathon field on a warming morning."""
    d = {
        "name": "one race day", "seed": 11,
        "race": {"distance_km": 21.0975, "start_time": "09:00"},
        "weather": {"hours": HOURS, "wbgt_c": [16, 18, 21, 24, 26, 26]},
        "pacing": {"split_pct": 4.0},
        "population": field_population(),
        "intervention": [{"name": "earlier", "earlier_start_h": 1}],
    }
    d.update(changes)
    return parse_scenario(d)


def fixed_draw(priors, seed, runner_sd, race_sd, level, repeat=SIM_DAYS) -> xr.Dataset:
    """One parameter draw, repeated: the simulator then meets `repeat` race days with it."""
    p = prior_draws(priors, 1, seed)
    p["runner_sd"][:], p["race_sd"][:], p["log_hazard_per_km"][:] = runner_sd, race_sd, level
    return p.isel(draw=np.zeros(repeat, int)).assign_coords(draw=np.arange(repeat))


def known_log_rate(scenario, p: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Log hazard rate per (segment, runner) without the unknown effects, and the runners'
    z_effect, from design.md's definitions (not the simulator's matrices)."""
    block = runner_block(scenario.runners, scenario.seed, 0)
    race = plan_race(scenario, scenario.plan(), block)
    eta = log_rate_by_hand(p, block, race, Segments.of(scenario.course))
    return eta, block.z_effect


def race_days(eta, day_effect, runner_effect, rng, copies=COPIES, chunk=100) -> np.ndarray:
    """The field's incidence (share who cramp) on each race day, (day, copy): per runner and km
    a coin flip with the hazard h = 1 - exp(-exp(log rate)); `day_effect` (day,) is shared by
    every runner that day, `runner_effect(days, copies)` gives each runner's own, (.., runner)."""
    out = []
    for start in range(0, len(day_effect), chunk):  # chunks of days bound the memory
        day = day_effect[start:start + chunk]
        log_rate = (eta[None, None] + day[:, None, None, None]
                    + runner_effect(len(day), copies)[:, :, None, :])
        h = -np.expm1(-np.exp(log_rate))
        flips = rng.random(h.shape, dtype=np.float32) < h
        out.append(flips.any(axis=2).mean(axis=-1))
    return np.concatenate(out)


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float

    def differs_from(self, other: Estimate) -> float:
        """|difference| in standard errors of the difference."""
        return abs(self.value - other.value) / np.hypot(self.se, other.se)


def bootstrap(stat, *samples, seed=0) -> Estimate:
    """`stat` of iid rows and its bootstrap standard error (resampling rows together)."""
    rng = np.random.default_rng(seed)
    n = len(samples[0])
    idx = rng.integers(0, n, (BOOTSTRAP, n))
    again = stat(*(s[idx] for s in samples))
    return Estimate(float(stat(*(s[None] for s in samples))[0]), float(np.std(again, ddof=1)))


def between_day_variance(incidence: np.ndarray) -> Estimate:
    """Variance across race days of the field's expected incidence, from `COPIES` fields per
    day (one-way random effects: the day means' variance less the coin flips' share)."""
    def stat(mean, within):
        return np.var(mean, axis=-1, ddof=1) - np.mean(within, axis=-1) / incidence.shape[1]
    return bootstrap(stat, incidence.mean(axis=1), incidence.var(axis=1, ddof=1))


def simulated_days(priors, case):
    seed, runner_sd, race_sd, level = case
    s = field()
    params = fixed_draw(priors, seed, runner_sd, race_sd, level)
    risk = simulate(s, params)["risk"].sel(intervention="baseline").to_numpy()
    eta, z_effect = known_log_rate(s, params.isel(draw=0))
    return s, risk, eta, z_effect


@pytest.mark.parametrize("case", CASES)
def test_a_field_race_day_matches_coin_flip_race_days(priors, case):
    """Mean, spread across race days and quantiles of the field's incidence."""
    _, runner_sd, race_sd, _ = case
    _, risk, eta, z_effect = simulated_days(priors, case)
    rng = np.random.default_rng(case[0])
    own = runner_sd * z_effect

    def fixed_runners(days, copies):
        return np.broadcast_to(own, (days, copies, len(own)))

    incidence = race_days(eta, race_sd * rng.standard_normal(RACE_DAYS), fixed_runners, rng)
    day_mean = incidence.mean(axis=1)
    coin_mean = Estimate(float(day_mean.mean()), float(day_mean.std(ddof=1) / np.sqrt(RACE_DAYS)))
    sim_mean = Estimate(float(risk.mean()), float(risk.std(ddof=1) / np.sqrt(len(risk))))
    assert sim_mean.differs_from(coin_mean) < Z, (sim_mean, coin_mean)

    coin_var = between_day_variance(incidence)
    sim_var = bootstrap(lambda r: np.var(r, axis=-1, ddof=1), risk)
    # the SD across race days, its standard error by the delta method
    coin_sd = Estimate(np.sqrt(coin_var.value), coin_var.se / (2 * np.sqrt(coin_var.value)))
    sim_sd = Estimate(np.sqrt(sim_var.value), sim_var.se / (2 * np.sqrt(sim_var.value)))
    assert sim_sd.differs_from(coin_sd) < Z, (sim_sd, coin_sd)

    # the expected incidence rises with the day's effect, so its q-quantile across race days is
    # the incidence on the day at the q-quantile of the effect: race that day many times
    for q in (0.1, 0.5, 0.9):
        day = np.full(QUANTILE_DAYS, race_sd * norm.ppf(q))
        at_q = race_days(eta, day, fixed_runners, rng).ravel()
        coin_q = Estimate(float(at_q.mean()), float(at_q.std(ddof=1) / np.sqrt(at_q.size)))
        sim_q = bootstrap(lambda r, q=q: np.quantile(r, q, axis=-1), risk)
        assert sim_q.differs_from(coin_q) < Z, (q, sim_q, coin_q)


def test_the_per_runner_rule_is_too_narrow_for_a_field(priors):
    """The old rule - every runner their own Normal(0, sqrt(runner_sd^2 + race_sd^2)) effect, no
    shared day - makes race days differ by coin flips only: across race days the field's
    expected incidence barely moves. The shared day spreads it, and so must the simulator."""
    case = CASES[0]
    _, runner_sd, race_sd, _ = case
    _, risk, eta, z_effect = simulated_days(priors, case)
    rng = np.random.default_rng(99)
    own = runner_sd * z_effect
    shared = between_day_variance(race_days(
        eta, race_sd * rng.standard_normal(RACE_DAYS),
        lambda days, copies: np.broadcast_to(own, (days, copies, len(own))), rng))
    old = between_day_variance(race_days(
        eta, np.zeros(RACE_DAYS),
        lambda days, copies: np.hypot(runner_sd, race_sd) * rng.standard_normal(
            (days, copies, len(own))), rng))
    simulator = bootstrap(lambda r: np.var(r, axis=-1, ddof=1), risk)
    assert shared.value - old.value > Z * np.hypot(shared.se, old.se), (shared, old)
    assert simulator.value - old.value > Z * np.hypot(simulator.se, old.se), (simulator, old)
    assert simulator.differs_from(shared) < Z, (simulator, shared)


def test_one_runner_keeps_the_expectation_over_both_effects(priors):
    """One runner's risk depends on runner_sd and race_sd only through sqrt(runner_sd^2 +
    race_sd^2): both effects are integrated over, no race day is drawn."""
    s = parse_scenario({
        "name": "one runner", "seed": 5, "race": {"distance_km": 21.0975, "start_time": "09:00"},
        "weather": {"hours": HOURS, "wbgt_c": [16, 18, 21, 24, 26, 26]},
        "pacing": {"split_pct": 4.0, "target_time": "1:45:00"},
        "runner": {"ref_distance_km": 10.0, "ref_time": "0:48:00", "longest_run_km": 18,
                   "taper_days": 7, "cramp_history": True},
        "intervention": [{"name": "earlier", "earlier_start_h": 1}]})
    params = prior_draws(priors, 20, 4)
    sd = params["runner_sd"]
    both = params.assign(runner_sd=xr.full_like(sd, 0.5), race_sd=xr.full_like(sd, 0.9))
    merged = params.assign(runner_sd=xr.full_like(sd, np.hypot(0.5, 0.9)),
                           race_sd=xr.full_like(sd, 0.0))
    a, b = simulate(s, both), simulate(s, merged)
    assert "race_day_z" not in a
    np.testing.assert_allclose(a["risk"], b["risk"], rtol=1e-6)


def test_the_race_day_is_shared_by_every_plan_and_seeded_by_the_draw(priors):
    params = prior_draws(priors, 40, 6)
    params["beta"].loc[{"factor": "heat"}] = 0.0  # an earlier start then changes nothing
    small = field()
    result = simulate(small, params)
    risk = result["risk"]
    # the same race day under every plan (common random numbers)
    np.testing.assert_array_equal(risk.sel(intervention="earlier"),
                                  risk.sel(intervention="baseline"))
    z = result["race_day_z"].to_numpy()
    assert np.std(z) > 0.5
    # a draw keeps its race day in any subset or order of the draws, in any field size (blocks)
    # and thread count; the seed chooses the days
    pick = [31, 2, 17]
    np.testing.assert_array_equal(race_day_z(small.seed, params.isel(draw=pick)), z[pick])
    big = field(population={**field_population(), "count": 5000})
    np.testing.assert_array_equal(simulate(big, params.isel(draw=pick), n_threads=1)
                                  ["race_day_z"], z[pick])
    one_thread = simulate(small, params, n_threads=1)
    xr.testing.assert_identical(one_thread, result)
    assert not np.array_equal(race_day_z(small.seed + 1, params), z)
    assert not np.array_equal(simulate(replace(small, seed=small.seed + 1), params)["risk"], risk)
