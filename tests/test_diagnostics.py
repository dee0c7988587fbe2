"""What a fit does when its diagnostics fail: the second attempt's settings and the advice."""

from __future__ import annotations

from model.inference.diagnostics import (
    EXTEND_FROM_TOTAL_DRAWS,
    MAX_EXTENSION,
    Diagnostics,
    SamplerSettings,
    advice,
    second_attempt,
)

FIRST = SamplerSettings(draws=1000, tune=1000, target_accept=0.9)
DESIGN = {"n_races": 3, "n_runners": 1500, "n_records": 1500, "n_runners_seen_twice": 0}


def diagnostics(rhat=1.002, ess=900.0, divergences=0, worst="race_sd"):
    return Diagnostics(rhat, ess, ess, divergences, worst, worst)


def test_a_converged_fit_or_a_quick_look_is_not_sampled_again():
    assert second_attempt(FIRST, diagnostics(), chains=2) is None
    quick = SamplerSettings(draws=EXTEND_FROM_TOTAL_DRAWS // 2 - 1, tune=100)
    assert second_attempt(quick, diagnostics(ess=50.0), chains=2) is None


def test_too_few_effective_draws_get_proportionally_more_draws():
    retry = second_attempt(FIRST, diagnostics(ess=345.0), chains=2)
    # 1.3 x 400 / 345 = 1.51 -> 1600 draws, tuning and steps unchanged
    assert retry == SamplerSettings(draws=1600, tune=1000, target_accept=0.9)


def test_divergences_get_smaller_steps_and_longer_tuning():
    retry = second_attempt(FIRST, diagnostics(divergences=3), chains=2)
    assert retry is not None
    assert retry.target_accept == 0.95 and retry.tune == 2000 and retry.draws == 1000
    again = second_attempt(retry, diagnostics(divergences=1), chains=2)
    assert again is not None and again.target_accept == 0.98


def test_the_second_attempt_is_capped():
    retry = second_attempt(FIRST, diagnostics(rhat=1.2, ess=5.0, divergences=9), chains=2)
    assert retry is not None
    assert retry.draws == MAX_EXTENSION * FIRST.draws and retry.tune == MAX_EXTENSION * FIRST.tune


def test_advice_names_the_parameter_in_words_and_what_to_try():
    lines = advice(diagnostics(ess=300.0, divergences=2), FIRST, DESIGN)
    text = "\n".join(lines)
    assert "race_sd (how much race days differ" in text and "3 race(s)" in text
    assert "--target-accept 0.95" in text and "--draws 2000 --tune 2000" in text
    assert advice(diagnostics(), FIRST, DESIGN) == []
    runner = advice(diagnostics(ess=200.0, worst="runner_sd"), FIRST,
                    {**DESIGN, "n_runners_seen_twice": 12})
    assert "only 12 of 1500 runners" in runner[0]


def test_a_fit_that_does_not_converge_is_sampled_again_and_says_so(monkeypatch, priors):
    import cramp
    import model.inference.fit as fit_module
    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.inference.posterior import sampler_attempts
    from model.validation.synth import synthesize

    runs = []
    real_sample = fit_module._sample

    def sample(compiled, settings, *args):
        runs.append(settings)
        return real_sample(compiled, settings, *args)

    monkeypatch.setattr(fit_module, "_sample", sample)
    # the first attempt is judged short of effective draws, whatever the sampler gave
    monkeypatch.setattr(fit_module, "diagnose", lambda tree: diagnostics(ess=345.0))
    records, splits = synthesize(200, 3)
    tree = fit_module.fit(build_features(RaceRecords(records, splits, "t", "")), priors,
                          draws=500, tune=200, seed=1)
    # 1.3 x 400 / 345 = 1.51 -> 800 draws, on the same compiled model and seed
    assert [(r.draws, r.tune) for r in runs] == [(500, 200), (800, 200)]
    assert tree["posterior"].sizes["draw"] == 800 and tree.attrs["draws"] == 800
    attempts = sampler_attempts(tree)
    assert len(attempts) == 2 and "ESS 345 < 400 (race_sd)" in attempts[0]
    assert attempts[1].startswith("200 tune + 800 draws")
    assert cramp.Fit(tree).sampler_attempts == attempts
