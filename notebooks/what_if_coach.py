# %% [markdown]
# # What if? One runner, one race
#
# A coach's question: *how likely is a cramp in this race, what would lower the risk, and what
# does it cost on the clock?* The scenario file describes the runner, the race, the weather and
# the plans to compare (`scenarios/library/goal_marathon_runner.toml` by default). Without a
# fitted posterior the literature prior is used. Every number below is computed by the
# `scenarios` package; the conclusions are generated from those numbers.

# %% tags=["parameters"]
scenario = "goal_marathon_runner"  # a shipped scenario name or a path to a scenario TOML
posterior = ""  # a FIT.nc written by cramp fit; empty = the literature prior
draws = 2000  # parameter draws
seed = 4  # prior draws and simulated runners

# %%
from dataclasses import replace

import pandas as pd
from IPython.display import Markdown, display

from model.fit import load_posterior, posterior_params
from model.kernel import prior_draws
from model.priors import load_priors
from model.provenance import provenance_attrs
from model.records import file_sha256
from scenarios.compare import comparison, comparison_frame, plain_language
from scenarios.plots import plot_onset, plot_risk, plot_risk_vs_time
from scenarios.simulate import simulate
from scenarios.spec import load_scenario

pd.set_option("display.precision", 2)
s = replace(load_scenario(scenario), seed=seed)
priors = load_priors()
if posterior:
    params = posterior_params(load_posterior(posterior), draws)
    source = f"posterior {posterior}"
else:
    params = prior_draws(priors, draws, seed)
    source = "the literature prior (no data fitted)"
display(Markdown(f"**{s.name}** — {s.description.strip()}\n\nParameters: {source}, "
                 f"{params.sizes['draw']} draws."))

# %% [markdown]
# ## The plans compared

# %%
pd.DataFrame({"plan": list(s.interventions),
              "what changes": [i.describe() for i in s.interventions.values()]}).set_index("plan")

# %%
result = simulate(s, params)
table = comparison(result)
interval = table["interval"]
display(Markdown(f"Means with {interval['prob']:.0%} equal-tailed credible intervals over the "
                 "parameter draws; risk difference and relative risk are paired draw by draw."))
comparison_frame(table)

# %% [markdown]
# ## Risk against time cost

# %%
plot_risk(table, s.name);

# %%
plot_risk_vs_time(table, s.name);

# %% [markdown]
# ## Where on the course cramps start

# %%
plot_onset(result, s.name);

# %% [markdown]
# ## In plain words (generated from the numbers above)

# %%
display(Markdown("\n".join(f"- {line}" for line in plain_language(table))))

# %% [markdown]
# ## Provenance

# %%
attrs = provenance_attrs(seed=seed, priors=priors,
                         data_sha256=file_sha256([posterior]) if posterior else "",
                         data_source=posterior, extra={"scenario_sha256": s.sha256,
                                                       "scenario_path": s.path})
pd.Series({k: v for k, v in attrs.items() if k != "priors"}, name="value").to_frame()
