"""From the literature to the model: the evidence table, the priors that cite it (priors.toml),
and what those priors imply before any data (the prior predictive check)."""
