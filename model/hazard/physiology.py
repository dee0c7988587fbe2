"""The published conversions the model's inputs rest on: Riegel's race-time prediction across
distances, and WBGT from air temperature and humidity. Light (numpy and thermofeel only), so a
scenario can be validated without loading the data stack."""

from __future__ import annotations

import numpy as np
import thermofeel

RIEGEL_EXPONENT = 1.06  # T2 = T1 (D2 / D1)^1.06 (Riegel 1981)


def predicted_time_s(ref_time_s, ref_distance_km, distance_km):
    """Riegel prediction of the time [s] over `distance_km` from a result at another distance."""
    return np.asarray(ref_time_s) * (np.asarray(distance_km) / np.asarray(ref_distance_km)) ** (
        RIEGEL_EXPONENT
    )


def wbgt_from_weather_c(temp_c, rh_pct):
    """WBGT [degC] from air temperature [degC] and relative humidity [%] (no radiation term)."""
    temp_k = np.asarray(temp_c, dtype=float) + 273.15
    return np.asarray(thermofeel.calculate_wbgt_simple(temp_k, np.asarray(rh_pct, float))) - 273.15
