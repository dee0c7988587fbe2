"""The science: data input (data), the hazard (hazard), evidence and priors (evidence), fitting
(inference) and model checking (validation); errors, provenance and plots are shared."""
