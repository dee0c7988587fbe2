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


# Men's world records (World Athletics, to 2025) as (km, s): the fastest any runner has covered
# each distance. An ability or race time faster than the curve through them is a data error.
WORLD_RECORDS_S = (
    (1.5, 206.0),  # 1500 m 3:26.00, El Guerrouj 1998
    (5.0, 755.36),  # 5000 m 12:35.36, Cheptegei 2020
    (10.0, 1571.0),  # 10,000 m 26:11.00, Cheptegei 2020
    (21.0975, 3402.0),  # half marathon 56:42, Kiplimo 2025
    (42.195, 7235.0),  # marathon 2:00:35, Kiptum 2023
    (100.0, 21935.0),  # 100 km 6:05:35, Sorokin 2022
    (319.614, 86400.0),  # 24 h 319.614 km, Sorokin 2022
)


def world_record_time_s(distance_km):
    """The world-record time [s] over `distance_km`: log-log interpolation between the records
    in WORLD_RECORDS_S, extended with the end segments' slopes."""
    km = np.log([k for k, _ in WORLD_RECORDS_S])
    s = np.log([t for _, t in WORLD_RECORDS_S])
    x = np.log(np.maximum(np.asarray(distance_km, dtype=float), 1e-3))
    inside = np.interp(x, km, s)
    low = s[0] + (x - km[0]) * (s[1] - s[0]) / (km[1] - km[0])
    high = s[-1] + (x - km[-1]) * (s[-1] - s[-2]) / (km[-1] - km[-2])
    return np.exp(np.where(x < km[0], low, np.where(x > km[-1], high, inside)))


def clock_text(seconds: float) -> str:
    """A duration [s] as 'H:MM:SS'."""
    minutes, secs = divmod(round(float(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
