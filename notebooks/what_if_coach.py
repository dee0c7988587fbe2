# %% [markdown]
# # What if? One runner, one race
#
# A coach's question: *how likely is a cramp in this race, what would lower the risk, and what
# does it cost on the clock?* The scenario file describes the runner, the race, the weather and
# the plans to compare (`scenarios/library/goal_marathon_runner.toml` by default). Without a
# fitted posterior the literature prior is used. Every number below comes from `import cramp`;
# the conclusions are generated from those numbers.

# %% tags=["parameters"]
scenario = "goal_marathon_runner"  # a shipped scenario name or a path to a scenario TOML
posterior = ""  # a FIT.nc written by cramp fit; empty: the literature prior
draws = 2000  # parameter draws
seed = 4  # prior draws and simulated runners

# %%
import pandas as pd
from IPython.display import Markdown, display

import cramp

pd.set_option("display.precision", 2)
s = cramp.Scenario.load(scenario)
result = s.run(fit=posterior or None, draws=draws, seed=seed)
display(Markdown(f"**{s.name}** — {s.description}\n\nParameters: {result.parameters}."))

# %% [markdown]
# ## The plans compared

# %%
s.plans()

# %%
interval = result.comparison["interval"]
display(Markdown(f"Means with {interval['prob']:.0%} equal-tailed credible intervals (in "
                 "brackets) over the parameter draws; changes are paired draw by draw. The "
                 "numbers with every interval end are in the executed notebook "
                 "(`result.table()`)."))
result.readable_table()

# %% [markdown]
# ## Risk against time cost

# %%
result.plot_risk();

# %%
result.plot_risk_vs_time();

# %% [markdown]
# ## Where on the course cramps start

# %%
result.plot_onset();

# %% [markdown]
# ## In plain words (generated from the numbers above)

# %%
display(Markdown("\n".join(f"- {line}" for line in result.conclusions())))

# %% [markdown]
# ## How fast, within a risk ceiling? (one runner)
#
# The fastest target finishing time whose mean cramp risk stays at or below the ceiling, with the
# scenario's split and course, on the same parameter draws as above (`cramp plan` on the command
# line); and the target with the best expected finish once time lost to cramps is counted.

# %%
max_risk = 0.30
if s.single_runner:
    plan = s.plan(max_risk=max_risk, fit=posterior or None, draws=draws, seed=seed)
    display(Markdown("\n".join(f"- {line}" for line in plan.conclusions())))
    plan.plot();
else:
    display(Markdown("A population scenario: plans by risk ceiling are for one runner."))

# %% [markdown]
# ## Provenance

# %%
result.provenance()
