# %% [markdown]
# # From published evidence to the model's priors
#
# Every coefficient of the cramp hazard model has a prior that names the studies it rests on and
# the arithmetic from the published figure to the prior (`model/priors.toml`). This report shows
# the evidence table, each prior with its source and arithmetic, what the priors imply for a
# marathon and a 56 km ultra field before any data are seen (prior predictive check), and how
# sensitive that is to each factor's prior.

# %% tags=["parameters"]
priors_path = ""  # a priors TOML file; empty = the literature priors shipped with the model
runners = 1000  # simulated runners per field
draws = 400  # prior draws
seed = 0

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from model.evidence import cited_by, load_evidence
from model.plots import plot_prior_predictive
from model.prior_predictive import prior_predictive, summarize
from model.priors import FACTORS, load_priors
from model.provenance import provenance_attrs

pd.set_option("display.max_colwidth", 120)
priors = load_priors(priors_path or None)
display(Markdown(f"Priors file: `{priors.path}` (sha256 `{priors.sha256[:12]}`)"))

# %% [markdown]
# ## The evidence (docs/evidence.md)

# %%
cited_by(load_evidence(), priors).set_index("id")

# %% [markdown]
# ## Each prior, its unit, sources and arithmetic

# %%
pd.DataFrame(priors.table_rows()).set_index("name")

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
pp = prior_predictive(priors, n_runners=runners, n_draws=draws, seed=seed)
summary = pd.DataFrame(summarize(pp)).T
summary

# %%
plot_prior_predictive(pp);

# %% [markdown]
# ## Prior sensitivity
#
# Marathon and ultra incidence (median over prior draws) when one factor's prior is replaced by
# a sceptical one (mean 0, same SD) or widened (SD doubled). Large moves mark the priors the
# conclusions lean on most.

# %%
rows = []
for factor in FACTORS:
    for label, changed in (("sceptical (mean 0)", priors.with_prior(factor, mu=0.0)),
                           ("wide (SD x 2)", priors.with_prior(factor,
                                                               sigma=2 * priors[factor].sigma))):
        s = summarize(prior_predictive(changed, n_runners=runners, n_draws=draws, seed=seed))
        rows.append({"factor": factor, "prior": label,
                     **{f"{field} incidence median": v["incidence_median"]
                        for field, v in s.items()}})
base = {f"{field} incidence median": v["incidence_median"] for field, v in summarize(pp).items()}
sensitivity = pd.DataFrame(rows).set_index(["factor", "prior"])
display(Markdown("Literature priors: " + ", ".join(f"{k} {v:.1%}" for k, v in base.items())))
(100 * sensitivity).round(1)

# %%
fig, ax = plt.subplots(figsize=(8, 4))
(100 * sensitivity.iloc[:, 0]).unstack("prior").plot.barh(ax=ax)
ax.axvline(100 * list(base.values())[0], color="black", ls="--", label="literature priors")
ax.set_xlabel("marathon incidence, median over prior draws [%]")
ax.legend(fontsize=8);

# %% [markdown]
# ## Provenance

# %%
attrs = provenance_attrs(seed=seed, priors=priors, extra={"runners": runners, "draws": draws})
pd.Series({k: v for k, v in attrs.items() if k != "priors"}, name="value").to_frame()
