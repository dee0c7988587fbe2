"""The simulated runners of a scenario, drawn once and reused under every intervention (common
random numbers): their ability, preparation and pacing effort, plus standard-normal draws for the
unknown effect and for pre-race CK when it is not measured. In a field z_effect is each runner's
own effect; the race day is one draw per parameter draw shared by the field (scenarios/simulate.py
says what a field's figures mean).

A population is drawn in fixed blocks of `BLOCK_RUNNERS` runners, each from its own seed
``(scenario seed, block index)``, so a runner's attributes do not depend on how the work is later
chunked or distributed. A single runner is expanded instead into Gauss-Hermite quadrature copies
over the unknown runner + race-day effect (and unknown CK), weighted so that the risk is the exact
expectation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.hazard.quadrature import gauss_hermite_normal
from model.hazard.specification import PREDICT_QUADRATURE
from scenarios.scenario import Runners

BLOCK_RUNNERS = 2048
# a single runner is integrated over the runner + race-day effect and an unmeasured ln CK
N_NODES_EFFECT = PREDICT_QUADRATURE.effect_nodes
N_NODES_CK = PREDICT_QUADRATURE.damage_nodes


@dataclass(frozen=True)
class RunnerBlock:
    """Runners (or quadrature copies of one runner) with their weights; weights of all blocks of
    a scenario sum to 1."""

    weight: np.ndarray
    ref_time_s: np.ndarray
    longest_run_km: np.ndarray
    taper_days: np.ndarray
    ck_pre_u_per_l: np.ndarray  # NaN = not measured (latent, drawn via z_ck and the mediator)
    cramp_history: np.ndarray
    effort_vs_ability_pct: np.ndarray
    z_effect: np.ndarray
    z_ck: np.ndarray

    @property
    def size(self) -> int:
        return len(self.weight)


def n_blocks(runners: Runners) -> int:
    return 1 if runners.single else -(-runners.count // BLOCK_RUNNERS)


def runner_block(runners: Runners, seed: int, index: int, *, n_nodes_effect: int = N_NODES_EFFECT,
                 n_nodes_ck: int = N_NODES_CK) -> RunnerBlock:
    """Block `index` of the scenario's runners."""
    if runners.single:
        return _single_runner(runners, n_nodes_effect, n_nodes_ck)
    start = index * BLOCK_RUNNERS
    n = min(BLOCK_RUNNERS, runners.count - start)
    rng = np.random.default_rng([seed, index])
    a = runners.attributes
    draws = {name: a[name].draw(rng, n) for name in sorted(a)}
    ck = draws.get("ck_pre_u_per_l", np.full(n, np.nan))
    return RunnerBlock(
        weight=np.full(n, 1.0 / runners.count),
        ref_time_s=draws["ref_time_s"],
        longest_run_km=draws["longest_run_km"],
        taper_days=draws["taper_days"],
        ck_pre_u_per_l=ck,
        cramp_history=draws["cramp_history"],
        effort_vs_ability_pct=draws["effort_vs_ability_pct"],
        z_effect=rng.standard_normal(n),
        z_ck=rng.standard_normal(n),
    )


def _single_runner(runners: Runners, n_effect: int, n_ck: int) -> RunnerBlock:
    a = runners.attributes
    z, logw = gauss_hermite_normal(n_effect)
    measured = "ck_pre_u_per_l" in a
    z_ck, logw_ck = gauss_hermite_normal(1 if measured else n_ck)
    z_effect, z_damage = (g.ravel() for g in np.meshgrid(z, z_ck, indexing="ij"))
    weight = np.exp(logw[:, None] + logw_ck[None, :]).ravel()
    n = len(weight)

    def fixed(name: str) -> np.ndarray:
        return np.full(n, a[name].a)

    return RunnerBlock(
        weight=weight / weight.sum(),
        ref_time_s=fixed("ref_time_s"),
        longest_run_km=fixed("longest_run_km"),
        taper_days=fixed("taper_days"),
        ck_pre_u_per_l=fixed("ck_pre_u_per_l") if measured else np.full(n, np.nan),
        cramp_history=fixed("cramp_history"),
        effort_vs_ability_pct=fixed("effort_vs_ability_pct"),
        z_effect=z_effect,
        z_ck=np.zeros(n) if measured else z_damage,
    )
