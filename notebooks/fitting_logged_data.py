# %% [markdown]
# # Fitting logged race data
#
# Load and validate race records (by default a synthetic cohort drawn from the model with known
# coefficients, so the fit can be checked against the truth), fit the hazard model, check
# convergence, compare posterior with prior, check the fit against the data (calibration of who
# cramps, onset positions), and compare it by leave-one-runner-out cross-validation with a
# simpler race-level logistic regression.

# %% tags=["parameters"]
data = ""  # race records CSV/Parquet; empty: a synthetic cohort
splits = ""  # per-km splits file for the data, optional
runners = 2000  # size of the synthetic cohort (runner-races)
draws = 1000  # posterior draws per chain
tune = 1000  # tuning steps per chain
seed = 1
priors_path = ""  # a priors TOML file; empty: the literature priors

# %%
from IPython.display import Markdown, display

import cramp
from model.validation.synth import DEFAULT_TRUTH

if data:
    records, truth = cramp.load_records(data, splits=splits or None), None
else:
    table, split_table = cramp.synthesize(runners, seed)
    records, truth = cramp.load_records(table, splits=split_table), DEFAULT_TRUTH["beta"]
t = records.table
display(Markdown(
    f"**{records.source if data else f'synthetic cohort (seed {seed})'}**: {len(t)} "
    f"runner-races, {t['runner_id'].nunique()} runners, {t['race_id'].nunique()} races, "
    f"{int(t['cramped'].sum())} with a cramp ({t['cramped'].mean():.1%}); data sha256 "
    f"`{records.sha256[:12]}`."))
for note in records.notes:
    display(Markdown(f"- note: {note}"))

# %%
fit = cramp.fit(records, priors=priors_path or None, draws=draws, tune=tune, seed=seed)
d = fit.diagnostics
display(Markdown(f"Convergence: max R-hat {d.rhat_max:.3f}, min bulk ESS {d.ess_bulk_min:.0f}, "
                 f"divergences {d.divergences} — "
                 + ("**OK**" if d.ok else "**problems: " + "; ".join(d.problems()) + "**")
                 + f" (sampler: {'; then '.join(fit.sampler_attempts)})"))
for line in fit.advice():
    display(Markdown(f"- {line}"))
fit.summary()

# %% [markdown]
# ## Posterior against prior, per factor
# (dashed: the true value of the synthetic cohort)

# %%
fit.plot_prior_posterior(truth);

# %% [markdown]
# ## Calibration: who cramps
#
# PAV-adjusted reliability diagram (Dimitriadis et al. 2021) of each race's predicted probability
# of a cramp (a runner like this, effect unknown, in this race) against what happened.

# %%
fit.plot_calibration(seed=seed);

# %% [markdown]
# ## Where cramps start: observed against predicted

# %%
fit.plot_onset_check();

# %% [markdown]
# ## Model comparison: leave-one-runner-out
#
# Both models predict, for every runner, whether each of their races ended with a cramp. The
# hazard model is fitted to more (onset km, censoring, CK), so its importance weights use that
# likelihood while both are scored on the same binary predictions (`model.checks.loo_binary`).

# %%
fit.compare_with_race_level_logistic(draws=draws, tune=tune, seed=seed)

# %% [markdown]
# ## Provenance

# %%
fit.provenance()
