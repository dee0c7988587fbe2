"""Gauss-Hermite quadrature for expectations over a standard normal: the one rule every part of
the model uses to integrate out an unknown runner effect or an unmeasured CK."""

from __future__ import annotations

import numpy as np


def gauss_hermite_normal(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and log-weights for E[f(Z)], Z ~ Normal(0, 1): sum(exp(logw) * f(z))."""
    t, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * t, np.log(w / np.sqrt(np.pi))
