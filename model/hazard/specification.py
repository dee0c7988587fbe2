"""The cramp hazard, specified once. Every part of the project reads this module: the PyMC model,
the numba likelihood, the forward evaluation, the checks, the simulator, the prior predictive and
the synthetic cohorts.

A discrete-time hazard over 1 km segments with a complementary log-log link and a log(segment
length) offset, for runner-race r in segment s:

    -log(1 - h_rs) = exp(eta_rs)
    eta_rs = alpha + race + runner + sum_f beta_f x_f,rs + k * ln(km_rs / 10 km) + ln(length_rs)

What is specified here:
- the factors x_f (`REGISTRY`): their order (the posterior's `factor` dimension), whether each
  varies along the course (a *cell* factor) or once per runner-race (a *record* factor), what one
  unit means and the sign convention, the unit conversions from what is measured, and each
  one's feature definition. Adding a plain linear factor is one `Factor` here (or, for a test or
  a model variant, `with registered_factor(Factor(...)):`) plus its prior in the priors file's
  [factor] table: records, features, the kernel's inputs, the PyMC model, the forward
  evaluation and the simulator read the registry (tests/test_extra_factor.py);
- the baseline's shape term ln(km / 10 km);
- the CK mediator: pre-race damage in doublings of CK over 70 U/L; when CK was not measured, ln CK
  ~ Normal(ck_log_mean + ck_taper_effect * taper, ck_log_sd), so a longer taper also acts through
  lower damage;
- the outcome codes of a runner-race;
- the quadrature rules that integrate the unknown runner effect and unmeasured CK.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.hazard.factor_registry import Factor, FactorMeaning, FactorNames, FactorRegistry

MARATHON_KM = 42.195
SEGMENT_KM = 1.0


# --- unit conversions: what one unit of each feature is -------------------------------------
PACE_UNIT = 0.10  # relative pace: 10% faster than ability
EXCESS_UNIT_KM = 10.0
HEAT_REFERENCE_C, HEAT_UNIT_C = 15.0, 5.0  # WBGT
TAPER_REFERENCE_DAYS, TAPER_UNIT_DAYS = 7.0, 7.0
CK_REFERENCE_U_PER_L = 70.0
LOG_CK_REFERENCE = float(np.log(CK_REFERENCE_U_PER_L))
LN2 = float(np.log(2.0))  # muscle damage is in doublings of CK
SHAPE_REFERENCE_KM = 10.0  # the baseline hazard is log_hazard_per_km at 10 km


def heat_units(wbgt_c):
    return (np.asarray(wbgt_c, dtype=float) - HEAT_REFERENCE_C) / HEAT_UNIT_C


def damage_units(ck_pre_u_per_l):
    return np.log2(np.asarray(ck_pre_u_per_l, dtype=float) / CK_REFERENCE_U_PER_L)


def taper_units(taper_days):
    return (np.asarray(taper_days, dtype=float) - TAPER_REFERENCE_DAYS) / TAPER_UNIT_DAYS


def excess_distance_units(start_km, end_km, longest_run_km):
    """Distance beyond the longest training run at each segment's midpoint [10 km units];
    (record, segment) from segment bounds (record, segment) and one longest run per record."""
    mid = 0.5 * (start_km + end_km)
    return np.maximum(0.0, mid - np.asarray(longest_run_km, float)[:, None]) / EXCESS_UNIT_KM


def expected_excess_distance_units(start_km, end_km, longest_run_mean_km, longest_run_sd_km):
    """`excess_distance_units` averaged over a longest run ~ Normal(mean, sd) [km], one mean and
    SD per record: E max(0, m - L) = (m - mean) Phi(z) + sd phi(z), z = (m - mean) / sd, at each
    segment's midpoint m [10 km units], (record, segment)."""
    from scipy.special import ndtr

    mid = 0.5 * (start_km + end_km)
    mean = np.asarray(longest_run_mean_km, float)[:, None]
    sd = np.asarray(longest_run_sd_km, float)[:, None]
    z = (mid - mean) / sd
    density = np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    return ((mid - mean) * ndtr(z) + sd * density) / EXCESS_UNIT_KM


def log_distance_10km(start_km, end_km):
    """The baseline's shape term ln(segment midpoint km / 10 km)."""
    mid = np.maximum(0.5 * (start_km + end_km), 0.05)
    return np.log(mid / SHAPE_REFERENCE_KM)


# --- the factors ------------------------------------------------------------------------------
# Each factor with its feature definition (model/hazard/factor_registry.py). Plain linear ones
# (cramp_history here; any factor added with `registered_factor`) need no code of their own
# anywhere. The others are special where the feature needs more than a column or the segment
# grid, and say so; muscle_damage is also special in the likelihood (the CK mediator, integrated
# where CK was not measured: its coefficient is the kernel's `beta_damage`, not part of the
# runner-race constant).
REGISTRY = FactorRegistry((
    Factor("relative_pace", "cell",
           "per 10% faster than ability over the race so far; + raises risk",
           unit="10% faster than ability",
           special="from the timing marks and the ability (model/hazard/features.py); from the "
                   "plan's elapsed times in the simulator (scenarios/course.py)"),
    Factor("excess_distance", "cell", "per 10 km beyond the longest training run; + raises risk",
           unit="10 km beyond the longest training run",
           special="the longest run per record, its expectation under the training population "
                   "where not recorded (model/hazard/features.py); the plan's long run in the "
                   "simulator (scenarios/course.py)"),
    Factor("muscle_damage", "record", "per doubling of pre-race CK above 70 U/L; + raises risk",
           unit="doublings of pre-race CK above 70 U/L",
           column="ck_pre_u_per_l", to_units=damage_units, missing_allowed=True,
           special="the CK mediator: unmeasured CK is integrated over ln CK given the taper in "
                   "the likelihood (model/inference), the forward evaluation and the "
                   "simulator's runner terms (scenarios/course.runner_terms)"),
    Factor("taper", "record",
           "per 7 days of taper beyond 7 days (direct effect); - lowers risk",
           unit="7 days of taper beyond 7 days",
           column="taper_days", to_units=taper_units, absent=TAPER_REFERENCE_DAYS,
           special="in the simulator a plan changes it and it moves damage through the CK "
                   "mediator (scenarios/course.runner_terms); plain in the records"),
    Factor("heat", "cell", "per 5 degC WBGT above 15 degC; + raises risk",
           unit="5 degC WBGT above 15 degC",
           special="WBGT given or computed from temperature and humidity, one per record "
                   "(model/hazard/features.py); the WBGT met at each km's clock time in the "
                   "simulator (scenarios/course.py)"),
    Factor("cramp_history", "record", "history of race cramps (0/1); + raises risk",
           unit="0/1", column="cramp_history", absent=0.0),
))
registered_factor = REGISTRY.registered
#: live views of the registry: the factors in the order of the posterior's `factor` dimension,
#: and those of each level (they follow `registered_factor`)
FACTORS = FactorNames(REGISTRY)
CELL_FACTORS = FactorNames(REGISTRY, "cell")
RECORD_FACTORS = FactorNames(REGISTRY, "record")
FACTOR_MEANING = FactorMeaning(REGISTRY)


# --- the CK mediator -------------------------------------------------------------------------

def mean_log_ck(ck_log_mean, ck_taper_effect, taper):
    """The mediator's mean ln pre-race CK at this taper (taper units): numbers, arrays, xarray
    or PyTensor."""
    return ck_log_mean + ck_taper_effect * taper


def latent_log_ck(ck_log_mean, ck_taper_effect, taper, ck_log_sd, z):
    """ln pre-race CK of a runner whose CK was not measured, at standard-normal draw or node
    `z`."""
    return mean_log_ck(ck_log_mean, ck_taper_effect, taper) + ck_log_sd * z


def damage_from_log_ck(log_ck):
    """Muscle damage [doublings of CK over 70 U/L] from ln CK."""
    return (log_ck - LOG_CK_REFERENCE) / LN2


def log_ck_from_damage(damage):
    return LOG_CK_REFERENCE + LN2 * damage


# --- outcomes of a runner-race ---------------------------------------------------------------
NO_CRAMP, ONSET_KNOWN, ONSET_UNKNOWN = 0, 1, 2
#: what the model predicts, said by every fit and report (docs/study_data.md: studies that also
#: count cramps after the finish)
OUTCOME_DEFINITION = ("a first cramp during the race (cramped = 1); a cramp only after the "
                      "finish (cramp_after_finish = 1) counts as no cramp during the race")


# --- quadrature over the unknown runner (and race-day) effect and unmeasured CK --------------

@dataclass(frozen=True)
class Quadrature:
    """Gauss-Hermite node counts for the unknown effect and for unmeasured ln CK."""

    effect_nodes: int
    damage_nodes: int


#: inside the sampler, evaluated at every step. Accurate (no runner off by 0.05 log-likelihood
#: units, no posterior moved by 0.1 SD) up to runner_sd 1.2, the prior's 89th percentile; at the
#: 99th (1.93) runners with several races are off by up to 0.25 units and runner_sd's posterior
#: by ~0.4 SD. 21 nodes hold to the 99th at 1.7-2.3x the cost per gradient
#: (tests/test_quadrature_accuracy.py, bench/quadrature_error.py, bench/quadrature_cost.py)
FIT_QUADRATURE = Quadrature(effect_nodes=9, damage_nodes=5)
#: predictions for new runners and the simulator's single runner: evaluated once, so finer
PREDICT_QUADRATURE = Quadrature(effect_nodes=15, damage_nodes=9)
