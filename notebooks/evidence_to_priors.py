# %% [markdown]
# # From published evidence to the model's priors
#
# Every coefficient of the cramp hazard model has a prior that names the studies it rests on and
# the arithmetic from the published figure to the prior (`model/evidence/priors.toml`). This
# report shows the evidence table, each prior with its source and arithmetic, what the priors
# imply for a marathon and a 56 km ultra field before any data are seen (prior predictive check),
# and how sensitive that is to each factor's prior.

# %% tags=["parameters"]
priors_path = ""  # a priors TOML file; empty: the literature priors shipped with the model
runners = 1000  # simulated runners per field
draws = 400  # prior draws
seed = 0

# %%
import pandas as pd
from IPython.display import Markdown, display

import cramp

pd.set_option("display.max_colwidth", 120)
priors = cramp.load_priors(priors_path or None)
display(Markdown(f"Priors file: `{priors.path}` (sha256 `{priors.sha256[:12]}`)"))

# %% [markdown]
# ## The evidence (docs/evidence.md)

# %%
cramp.evidence(priors)

# %% [markdown]
# ## Each prior, its unit, sources and arithmetic

# %%
cramp.priors_table(priors)

# %%
for entry in priors.entries.values():
    display(Markdown(f"**{entry.section}.{entry.name}** — {entry.unit} "
                     f"(evidence: {', '.join(entry.evidence) or 'none'})\n\n"
                     f"```\n{entry.arithmetic.strip()}\n```"))

# %% [markdown]
# ## Prior predictive check: a typical marathon and 56 km ultra field
#
# Exact probabilities per prior draw (no coin flips): the share of the field who cramp, and
# where along the course cramps start. Literature: incidences of roughly 5-25% per race
# (E1: 20.6% in an Ironman; E4: 14% in a 161 km trail ultra), with onsets late in the race.

# %%
check = cramp.prior_check(priors, runners=runners, draws=draws, seed=seed)
check.table()

# %%
check.plot();

# %% [markdown]
# ## The prior against the published figures
#
# Each published incidence and onset-timing figure (`model/evidence/published_figures.toml`, E15-E21
# of the evidence table) next to what the prior predicts for that study's field, with its 90%
# interval; `inside` says whether the figure lies in it. The baseline priors were calibrated on
# these figures (`cramp priors calibrate`), so this is the calibration's check, not an
# independent test.

# %%
check.figures

# %% [markdown]
# ## Prior sensitivity
#
# Marathon and ultra incidence (median over prior draws, %) when one factor's prior is replaced
# by a sceptical one (mean 0, same SD) or widened (SD doubled); the first row is the priors as
# given. Large moves mark the priors the conclusions lean on most.

# %%
sensitivity = cramp.prior_sensitivity(priors, runners=runners, draws=draws, seed=seed)
sensitivity.round(1)

# %%
ax = sensitivity.iloc[1:, 0].unstack("prior").plot.barh(figsize=(8, 4))
ax.axvline(sensitivity.iloc[0, 0], color="black", ls="--", label="priors as given")
ax.set_xlabel(sensitivity.columns[0])
ax.legend(fontsize=8);

# %% [markdown]
# ## Provenance

# %%
check.provenance()
