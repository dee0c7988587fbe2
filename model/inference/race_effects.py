"""Race effects with partial pooling, parametrised for the sampler: partially non-centred per
race, with a weight that follows the sampled race SD and the race's information."""

from __future__ import annotations

import pymc as pm

#: the information on a race's effect per cramp in the race, for `race_centring`: NUTS mixes
#: race_sd best at ~4x the Gibbs-optimal 1 (bench/race_centring.py; issue-20 notes)
RACE_INFORMATION_PER_CRAMP = 4.0


def race_centring(events, race_sd):
    """How centred each race's effect is parametrised at this race SD, 0 (non-centred) to 1.

    Partial non-centring (Papaspiliopoulos, Roberts & Skold 2007): the weight I sigma^2 /
    (1 + I sigma^2), I the information on the race's effect (hazard_model.race_events' cramps times
    RACE_INFORMATION_PER_CRAMP). Evaluated at the sampled race SD (numpy or PyTensor), so a
    race is centred where its effect is pinned by the data relative to the spread of races (no
    inverted funnel) and non-centred as race_sd shrinks towards 0 (no funnel): a fixed weight
    left the funnel at small race_sd, where the divergences of 8-race cohorts were."""
    information = RACE_INFORMATION_PER_CRAMP * events
    return information * race_sd**2 / (1.0 + information * race_sd**2)


def race_intercepts(intercept_centred, race_sd, events):
    """Race effects with partial pooling, partially non-centred per race with the weight
    w = `race_centring` at the current race_sd: race_raw ~ Normal(0, race_sd^w),
    effect = race_sd^(1 - w) * race_raw, so effect ~ Normal(0, race_sd) whatever w is."""
    w = race_centring(events, race_sd)
    race_raw = pm.Normal("race_raw", 0.0, race_sd**w, dims="race")
    effect = pm.Deterministic("race_effect", race_sd ** (1.0 - w) * race_raw, dims="race")
    return pm.Deterministic("race_intercept", intercept_centred + effect, dims="race")
