# %% [markdown]
# # Fitting logged race data
#
# Load and validate race records (by default a synthetic cohort drawn from the model with known
# coefficients, so the fit can be checked against the truth), fit the hazard model, check
# convergence, compare posterior with prior, check the fit against the data (calibration of who
# cramps, onset positions), and compare it by leave-one-runner-out cross-validation with a
# simpler race-level logistic regression.

# %% tags=["parameters"]
data = ""  # race records CSV/Parquet; empty = a synthetic cohort
splits = ""  # per-km splits file for the data, optional
runners = 2000  # size of the synthetic cohort (runner-races)
draws = 1000  # posterior draws per chain
tune = 1000  # tuning steps per chain
seed = 1
priors_path = ""  # a priors TOML file; empty = the literature priors

# %%
import arviz as az
import pandas as pd
from IPython.display import Markdown, display

from model.checks import (
    cramp_probability_by_record,
    loo_binary,
    onset_check,
    runner_log_likelihood,
)
from model.features import NO_CRAMP, build_features
from model.fit import diagnose, fit, posterior_params, summary_table
from model.plots import calibration_tree, plot_onset_check, plot_prior_posterior
from model.priors import load_priors
from model.provenance import provenance_attrs
from model.records import RaceRecords, load_records
from model.simple_model import fit_simple_model, simple_runner_log_likelihood
from model.synth import DEFAULT_TRUTH, synthesize

priors = load_priors(priors_path or None)
if data:
    records = load_records(data, splits or None)
    truth = None
else:
    table, split_table = synthesize(runners, seed)
    records = RaceRecords(table, split_table, f"synthetic cohort (seed {seed})", "")
    truth = DEFAULT_TRUTH["beta"]
t = records.table
display(Markdown(
    f"**{records.source}**: {len(t)} runner-races, {t['runner_id'].nunique()} runners, "
    f"{t['race_id'].nunique()} races, {int(t['cramped'].sum())} with a cramp "
    f"({t['cramped'].mean():.1%}); data sha256 `{records.sha256[:12] or 'n/a (generated)'}`."))
for note in records.notes:
    display(Markdown(f"- note: {note}"))

# %%
features = build_features(records)
tree = fit(features, priors, draws=draws, tune=tune, chains=2, seed=seed,
           data_sha256=records.sha256, data_source=records.source)
diagnostics = diagnose(tree)
display(Markdown(f"Convergence: max R-hat {diagnostics.rhat_max:.3f}, min bulk ESS "
                 f"{diagnostics.ess_bulk_min:.0f}, divergences {diagnostics.divergences} — "
                 + ("**OK**" if diagnostics.ok else "**problems: "
                    + "; ".join(diagnostics.problems()) + "**")))
summary_table(tree)

# %% [markdown]
# ## Posterior against prior, per factor
# (dashed: the true value of the synthetic cohort)

# %%
posterior = posterior_params(tree, stacked=False)
plot_prior_posterior(posterior, priors, truth);

# %% [markdown]
# ## Calibration: who cramps
#
# PAV-adjusted reliability diagram (Dimitriadis et al. 2021) of each race's predicted probability
# of a cramp (a runner like this, effect unknown, in this race) against what happened.

# %%
cramped = (features["outcome"] != NO_CRAMP).to_numpy()
probability = cramp_probability_by_record(features, posterior)
az.plot_ppc_pava(calibration_tree(probability, cramped, seed=seed));

# %% [markdown]
# ## Where cramps start: observed against predicted

# %%
check = onset_check(features, posterior)
plot_onset_check(check);

# %% [markdown]
# ## Model comparison: leave-one-runner-out
#
# Both models predict, for every runner, whether each of their races ended with a cramp. The
# hazard model is fitted to more (onset km, censoring, CK), so its importance weights use that
# likelihood while both are scored on the same binary predictions (`model.checks.loo_binary`).

# %%
full_ll = runner_log_likelihood(features, posterior)
binary_ll = runner_log_likelihood(features, posterior, kind="binary")
simple = fit_simple_model(features, priors, draws=draws, tune=tune, seed=seed)
simple_ll = simple_runner_log_likelihood(simple["posterior"].to_dataset(), features)
hazard_loo = loo_binary(full_ll.transpose("chain", "draw", "runner"),
                        binary_ll.transpose("chain", "draw", "runner"), "hazard model")
simple_loo = loo_binary(simple_ll.transpose("chain", "draw", "runner"),
                        simple_ll.transpose("chain", "draw", "runner"), "race-level logistic")
az.compare({"hazard model": hazard_loo, "race-level logistic": simple_loo})

# %% [markdown]
# ## Provenance

# %%
attrs = provenance_attrs(seed=seed, priors=priors, data_sha256=records.sha256,
                         data_source=records.source,
                         extra={"draws": draws, "tune": tune, "runners": runners})
pd.Series({k: v for k, v in attrs.items() if k != "priors"}, name="value").to_frame()
