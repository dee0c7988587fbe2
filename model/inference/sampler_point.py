"""The hazard model's sampled variables at given parameter values: the inverse of its
parametrisation (model/inference/hazard_model.py), so that its log density can be evaluated
where the parameters are known (tests against brute force, the simulator and the SBC kernel)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm
from numpy.typing import ArrayLike

from model.inference.race_effects import race_centring

#: the parameter values `sampler_point` needs, by their names in a fit's posterior
PARAMETERS = ("beta", "distance_shape", "log_hazard_per_km", "runner_sd", "race_sd",
              "race_effect", "ck_log_mean", "ck_log_sd", "ck_taper_effect")


def sampler_point(model: pm.Model, values: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """The value of every free variable of `model` (a `build_model` model) at the parameter
    `values` (`PARAMETERS`: beta per factor in FACTORS order, race_effect per race, the rest
    scalars; log_hazard_per_km at the reference runner). runner_sd is taken as the positive
    signed scale; the shear is the model's `runner_shear` data (zero as built)."""
    missing = [name for name in PARAMETERS if name not in values]
    if missing:
        raise KeyError(f"sampler_point needs {', '.join(missing)}")
    data = model.cramp_graph_data
    beta = np.asarray(values["beta"], dtype=float)
    shape = float(values["distance_shape"])
    scale = float(values["runner_sd"])
    race_sd = float(values["race_sd"])
    shift = data["runner_shear"] * scale**2
    centring = float(np.sum(beta * data["factor_centres"]) + shape * data["shape_centre"])
    w = race_centring(data["race_events"], race_sd)
    return {
        "beta_sheared": beta - shift[2:],
        "distance_shape_sheared": np.asarray(shape - shift[1]),
        "runner_scale": np.asarray(scale),
        "race_sd_log__": np.asarray(np.log(race_sd)),
        "race_raw": np.asarray(values["race_effect"], dtype=float) / race_sd ** (1.0 - w),
        "ck_log_mean": np.asarray(float(values["ck_log_mean"])),
        "ck_log_sd_log__": np.asarray(np.log(float(values["ck_log_sd"]))),
        "ck_taper_effect": np.asarray(float(values["ck_taper_effect"])),
        "intercept_offset": np.asarray(float(values["log_hazard_per_km"]) + centring
                                       - float(data["initial_intercept"]) - shift[0]),
    }
