# %% [markdown]
# # Fitting logged race data
#
# Load and validate race records (your file with `-p data FILE`; without it a synthetic cohort
# drawn from the model with known coefficients, so the fit can be checked against the truth),
# fit the hazard model, check convergence, say what the data cannot tell and which conclusions
# depend on the priors, compare posterior with prior, check the fit against the data
# (calibration of who cramps, onset positions), and compare it by leave-one-runner-out
# cross-validation with a simpler race-level logistic regression.

# %% tags=["parameters"]
data = ""  # race records CSV/Parquet; empty: a synthetic cohort
splits = ""  # splits file for the data (long or wide), optional
columns = ""  # column map TOML for the study's own names, units and codes (docs/study_data.md)
runners = 2000  # synthetic cohort only: its size in runner-races
draws = 1000  # posterior draws per chain
tune = 1000  # tuning steps per chain
seed = 1
priors_path = ""  # a priors TOML file; empty: the literature priors
exclude_evidence = ""  # evidence ids left out of the priors, e.g. E2 or E2,E5; empty: none

# %%
from IPython.display import Markdown, display

import cramp
from model.evidence.table import studies_behind
from model.hazard.specification import OUTCOME_DEFINITION
from model.validation.synth import DEFAULT_TRUTH

if data:
    records, truth = cramp.load_records(data, splits=splits or None,
                                        columns=columns or None), None
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
display(Markdown(f"The model's outcome, and so every prediction below: {OUTCOME_DEFINITION}."))

# %% [markdown]
# ## The studies the priors rest on
#
# *Sized*: the prior's mean and SD were computed from that study; *cited*: it agrees in direction
# or motivates a judgement only. If your data are one of these cohorts, leave its evidence out
# (`-p exclude_evidence E2`; `cramp fit --exclude-evidence E2`), or it is counted twice.

# %%
priors = cramp.load_priors(priors_path or None, exclude_evidence=exclude_evidence or None)
if priors.excluded:
    display(Markdown(f"Evidence left out: **{', '.join(priors.excluded)}**. What that changed:\n\n"
                     + "\n".join(f"- {change}" for change in priors.changes)))
studies_behind(priors)

# %%
fit = cramp.fit(records, priors=priors, draws=draws, tune=tune, seed=seed)
d = fit.diagnostics
display(Markdown(f"Convergence: max R-hat {d.rhat_max:.3f}, min bulk ESS {d.ess_bulk_min:.0f}, "
                 f"divergences {d.divergences} — "
                 + ("**OK**" if d.ok else "**problems: " + "; ".join(d.problems()) + "**")
                 + f" (sampler: {'; then '.join(fit.sampler_attempts)})"))
for line in fit.advice():
    display(Markdown(f"- {line}"))
fit.summary()

# %% [markdown]
# ## What the data cannot tell
#
# `contraction` = 1 - posterior variance / prior variance: near 1 the data pin the parameter, near
# 0 the table above shows its prior again. A parameter is marked NOT INFORMED when the contraction
# is below 0.1 or when the design cannot inform it (one WBGT for every runner: heat; one race:
# race_sd; every runner seen once: runner_sd; no CK measured: the damage effect and CK mediator).
# Read those rows as the prior, not as an estimate from these data.

# %%
missing = fit.not_informed()
display(Markdown("\n".join(f"- **{line}**" for line in missing) if missing else
                 "The data inform every parameter (contraction >= 0.1, no structural gap)."))

# %% [markdown]
# ## Which conclusions depend on the priors: power-scaling sensitivity
#
# Each parameter's posterior is re-weighted as if its prior (the literature priors) were made a
# little stronger or weaker (Kallioinen et al. 2024, ArviZ's `psense`; no refit). Above 0.05 the
# posterior moves with the prior: "strong prior, weak data" means the prior decides that number;
# "prior-data conflict" means both pull (the data disagree with the literature); "data-driven"
# means the prior barely matters.

# %%
fit.power_scaling().round(3)

# %% [markdown]
# ## Posterior against prior, per factor

# %%
display(Markdown("Grey line: the prior; histogram: the posterior"
                 + ("; dashed: the true value of the synthetic cohort." if truth else ".")))
fit.plot_prior_posterior(truth);

# %% [markdown]
# ## Calibration: who cramps
#
# PAV-adjusted reliability diagram (Dimitriadis et al. 2021) of each race's predicted probability
# of a cramp (a runner like this, effect unknown, in this race) against what happened.

# %%
n_cramps = int(t["cramped"].sum())
if n_cramps < 30:
    display(Markdown(
        f"With {len(t)} runner-races and {n_cramps} cramps the diagram is coarse: the observed "
        "line is a step function through few points and its band is wide. A calibration "
        "line inside the band says the predictions are not contradicted, not that they are "
        "confirmed."))
fit.plot_calibration(seed=seed);

# %% [markdown]
# ## Where cramps start: observed against predicted

# %%
if int(fit.attrs.get("n_onset_known", 0)) == 0:
    display(Markdown("Skipped: no cramp in these records has a recorded onset km (`cramp_km`), "
                     "so there are no observed onset positions to compare with the model's. "
                     "The fit used each cramp as 'somewhere during the race'."))
else:
    fit.plot_onset_check();

# %% [markdown]
# ## Model comparison: leave-one-runner-out
#
# Both models predict, for every runner, whether each of their races ended with a cramp. The
# hazard model is fitted to more (onset km, censoring, CK), so its importance weights use that
# likelihood while both are scored on the same binary predictions (`model.checks.loo_binary`).
#
# In plain words: each runner is left out in turn and predicted from the others; `elpd_loo` adds
# up how well (higher is better), `elpd_diff` is the gap to the best model and `dse` its
# standard error. A gap smaller than about two `dse` does not separate the models.

# %%
if t["runner_id"].nunique() < 100:
    display(Markdown(
        f"With {t['runner_id'].nunique()} runners the comparison has little to go on: a "
        "difference of a few points of elpd is within its error. Read it as 'no evidence "
        "either way' unless the gap exceeds two standard errors."))
fit.compare_with_race_level_logistic(draws=draws, tune=tune, seed=seed)

# %% [markdown]
# ## Provenance

# %%
fit.provenance()
