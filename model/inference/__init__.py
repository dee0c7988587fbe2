"""Fitting: the PyMC model, its fast likelihood kernel (numba) and vector maths, sampling with
nutpie and convergence diagnostics, reading a saved posterior, and the race-level logistic
regression used as a comparison model."""
