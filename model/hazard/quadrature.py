"""Gauss-Hermite quadrature for expectations over a standard normal: the one rule every part of
the model uses to integrate out an unknown runner effect or an unmeasured CK; and a brute-force
rule to check it against."""

from __future__ import annotations

import numpy as np


def gauss_hermite_normal(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and log-weights for E[f(Z)], Z ~ Normal(0, 1): sum(exp(logw) * f(z))."""
    t, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * t, np.log(w / np.sqrt(np.pi))


def trapezoid_normal(n: int = 2401, z_max: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and log-weights for E[f(Z)], Z ~ Normal(0, 1), by the trapezoid rule on n
    equally spaced points of [-z_max, z_max]: for a smooth f (a runner's likelihood as a
    function of its effect) the error falls like exp(-2 pi^2 w^2 / h^2), w the width of
    f(z) phi(z) and h the spacing, so a fine grid is a brute-force reference for
    `gauss_hermite_normal`, however peaked or far in the tail the integrand is."""
    z = np.linspace(-z_max, z_max, n)
    h = z[1] - z[0]
    log_h = np.full(n, np.log(h))
    log_h[[0, -1]] -= np.log(2.0)
    return z, log_h - 0.5 * z**2 - 0.5 * np.log(2.0 * np.pi)
