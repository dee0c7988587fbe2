"""Checking the model: synthetic cohorts with known truth, posterior predictive checks and
leave-one-runner-out comparison."""
