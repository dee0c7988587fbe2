"""The PyMC hazard model's likelihood against an independent brute-force computation."""

import numpy as np
import pytest
from conftest import record, write_csv
from scipy import integrate, stats

from model.data.records import load_records
from model.hazard.features import build_features
from model.hazard.specification import FACTORS
from model.inference.hazard_model import build_model

PARAMS = {"beta": np.array([0.6, 0.5, 0.35, -0.2, 0.15, 0.9]), "log_h10": -5.5,
          "shape": 0.9, "runner_sd": 0.7, "race_sd": 0.4, "race_z": np.array([0.8, -1.1]),
          "ck_mean": 4.3, "ck_sd": 0.6, "ck_taper": -0.25}


def slowed_splits(runner_id, race_id, onset_km, seed, pace_s_per_km=340.0):
    """Noisy per-km splits over a marathon, 15% slower after `onset_km`; and the finish time."""
    rng = np.random.default_rng(seed)
    km = np.arange(1, 43)
    pace = pace_s_per_km * np.exp(rng.normal(0, 0.03, km.size)) * np.where(km > onset_km, 1.15, 1)
    elapsed = np.cumsum(pace)
    rows = [{"runner_id": runner_id, "race_id": race_id, "km": int(k), "elapsed_s": round(e, 1)}
            for k, e in zip(km, elapsed, strict=True)]
    return rows, round(float(elapsed[-1] + 0.195 * pace[-1]), 1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Six runner-races covering every observation kind; runner A runs twice; CK partly absent;
    one runner has splits with a fast start; a known and an unknown onset come with splits that
    show the slowdown after it (so the unknown one is located by its splits)."""
    tmp = tmp_path_factory.mktemp("tiny")
    splits_a, time_a = slowed_splits("A", "r1", 31.4, seed=1)
    splits_b, time_b = slowed_splits("B", "r1", 27.5, seed=2)
    rows = [
        record(runner_id="A", race_id="r1", ck_pre_u_per_l=120, taper_days=3, wbgt_c=24,
               cramp_history=1, cramped=1, cramp_km=31.4, race_time_s=time_a),
        record(runner_id="A", race_id="r2", distance_km=21.1, race_time_s=6500,
               longest_run_km=18, ck_pre_u_per_l="", taper_days=10, wbgt_c=12, cramp_history=1),
        record(runner_id="B", race_id="r1", ck_pre_u_per_l="", taper_days=14, wbgt_c=24,
               cramp_history=0, cramped=1, race_time_s=time_b),
        record(runner_id="C", race_id="r1", ck_pre_u_per_l=60, taper_days=7, wbgt_c=24,
               cramp_history=0, dnf_km=25.3),
        record(runner_id="D", race_id="r2", distance_km=21.1, race_time_s=6300,
               longest_run_km=14, ck_pre_u_per_l="", taper_days=5, wbgt_c=12, cramp_history=0,
               cramped=1, cramp_km=0.4),
        record(runner_id="E", race_id="r1", ck_pre_u_per_l=90, taper_days=7, wbgt_c=24,
               cramp_history=1, race_time_s=15500),
    ]
    splits = [{"runner_id": "E", "race_id": "r1", "km": k,
               "elapsed_s": 300 * min(k, 15) + 390 * max(k - 15, 0)} for k in range(1, 40)]
    splits += splits_a + splits_b
    records = load_records(write_csv(tmp / "r.csv", rows), write_csv(tmp / "s.csv", splits))
    return build_features(records)


def brute_force_loglik(f) -> float:
    """Sum over runners of log E_u[prod_r L_r(u)], L_r integrating missing CK, by adaptive
    quadrature and explicit per-segment survival products (no shared code with the model)."""
    p = PARAMS
    n_seg = f.sizes["segment"]

    def eta_without_runner_and_damage(r):
        """eta per segment reached, written out term by term."""
        etas = []
        for s in range(n_seg):
            length = f["segment_length_km"].to_numpy()[r, s]
            if length <= 0:
                break
            eta = (p["log_h10"] + p["race_sd"] * p["race_z"][f["race_index"].to_numpy()[r]]
                   + p["shape"] * f["log_distance_10km"].to_numpy()[r, s] + np.log(length))
            for i, name in enumerate(FACTORS):
                if name == "muscle_damage":
                    continue
                value = f[name].to_numpy()[r]
                eta += p["beta"][i] * (value if np.ndim(value) == 0 else value[s])
            etas.append(eta)
        return np.array(etas)

    base = [eta_without_runner_and_damage(r) for r in range(f.sizes["record"])]

    def record_lik(r, u, damage):
        hazards = 1 - np.exp(-np.exp(base[r] + u + p["beta"][2] * damage))
        outcome, onset = f["outcome"].to_numpy()[r], f["onset_segment"].to_numpy()[r]
        if outcome == 0:
            return np.prod(1 - hazards)
        if outcome == 1:
            return np.prod(1 - hazards[: onset - 1]) * hazards[onset - 1]
        # unknown onset: each onset segment weighted by how well it explains the splits
        weight = np.exp(f["onset_log_weight"].to_numpy()[r, : len(hazards)])
        onset = np.array([np.prod(1 - hazards[:t]) * hazards[t] for t in range(len(hazards))])
        return np.sum(weight * onset)

    def record_lik_u(r, u):
        damage = f["muscle_damage"].to_numpy()[r]
        if np.isfinite(damage):
            return record_lik(r, u, damage)
        mean = p["ck_mean"] + p["ck_taper"] * f["taper"].to_numpy()[r]

        def integrand(log_ck):
            return (stats.norm.pdf(log_ck, mean, p["ck_sd"])
                    * record_lik(r, u, (log_ck - np.log(70)) / np.log(2)))

        return integrate.quad(integrand, mean - 8 * p["ck_sd"], mean + 8 * p["ck_sd"],
                              epsabs=1e-13)[0]

    total = 0.0
    runner_index = f["runner_index"].to_numpy()
    for runner in np.unique(runner_index):
        recs = np.flatnonzero(runner_index == runner)

        def integrand(u, recs=recs):
            return stats.norm.pdf(u, 0, p["runner_sd"]) * np.prod(
                [record_lik_u(r, u) for r in recs])

        s = p["runner_sd"]
        total += np.log(integrate.quad(integrand, -8 * s, 8 * s, epsabs=1e-14)[0])
    return total


def model_point(model, priors, p=PARAMS) -> dict:
    """PARAMS as values of the model's free variables (model/inference/sampler_point.py)."""
    from model.inference.sampler_point import sampler_point

    return sampler_point(model, {
        "beta": p["beta"], "distance_shape": p["shape"], "log_hazard_per_km": p["log_h10"],
        "runner_sd": p["runner_sd"], "race_sd": p["race_sd"],
        "race_effect": p["race_sd"] * p["race_z"], "ck_log_mean": p["ck_mean"],
        "ck_log_sd": p["ck_sd"], "ck_taper_effect": p["ck_taper"]})


def model_loglik(f, priors, **nodes) -> float:
    model = build_model(f, priors, **nodes)
    point = model_point(model, priors)
    names = [v.name for v in model.value_vars]
    assert sorted(names) == sorted(point), names
    fn = model.compile_fn(model.replace_rvs_by_values([model["loglik"]])[0],
                          inputs=model.value_vars, on_unused_input="ignore")
    return float(fn(point))


def test_likelihood_matches_brute_force(tiny, priors):
    from model.inference.hazard_model import prepare

    # B's unknown onset is located by the splits: the window path of the kernel is exercised
    assert prepare(tiny).located.tolist() == [False, False, True, False, False, False]
    expected = brute_force_loglik(tiny)
    # with generous quadrature the model is exact up to integration error
    assert model_loglik(tiny, priors, n_nodes_runner=40, n_nodes_damage=30) == pytest.approx(
        expected, abs=1e-6)
    # the default nodes are accurate to well under 0.01 log-likelihood units per runner
    assert model_loglik(tiny, priors) == pytest.approx(expected, abs=0.01 * 5)


def test_runner_sign_does_not_matter(tiny, priors):
    # the signed runner scale is a sampling device: +s and -s give the same likelihood
    model = build_model(tiny, priors)
    fn = model.compile_fn(model.replace_rvs_by_values([model["loglik"]])[0],
                          inputs=model.value_vars, on_unused_input="ignore")
    point = model.initial_point()
    point["runner_scale"] = np.array(0.8)
    plus = fn(point)
    point["runner_scale"] = np.array(-0.8)
    assert fn(point) == pytest.approx(plus, rel=1e-12)


def test_partially_non_centred_race_effects_have_the_intended_prior(tiny, priors):
    import pymc as pm

    from model.inference.hazard_model import race_events
    from model.inference.race_effects import race_centring

    model = build_model(tiny, priors)
    w = race_centring(race_events(model.cramp_data), 0.3)
    assert np.all((w >= 0) & (w < 1)) and w[0] > w[1]  # race r1 has more cramps than r2
    sd, effect = pm.draw([model["race_sd"], model["race_effect"]], draws=4000, random_seed=1)
    z = effect / sd[:, None]
    # effect / race_sd is standard normal whatever the centring weight (4 SE tolerances)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=4 / np.sqrt(4000))
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=4 / np.sqrt(2 * 4000))


def test_race_centring_is_an_exact_change_of_variables(tiny, priors, monkeypatch):
    """Whatever the centring weights, the log density at the same parameters differs only by the
    Jacobian of race_raw -> race_effect, sum_r (1 - w_r) ln race_sd: the posterior is the same."""
    import model.inference.race_effects as race_effects

    adjusted = []
    for per_cramp in (0.0, 1.0, race_effects.RACE_INFORMATION_PER_CRAMP, 50.0):
        monkeypatch.setattr(race_effects, "RACE_INFORMATION_PER_CRAMP", per_cramp)
        model = build_model(tiny, priors)
        w = race_effects.race_centring(model.cramp_graph_data["race_events"], PARAMS["race_sd"])
        logp = float(model.compile_logp()(model_point(model, priors)))
        adjusted.append(logp - np.sum((1 - w) * np.log(PARAMS["race_sd"])))
    assert adjusted == pytest.approx([adjusted[0]] * len(adjusted), rel=1e-12, abs=1e-9)


def test_sampler_point_follows_the_shear(tiny, priors):
    """With the model's runner shear set, `sampler_point` shifts the sheared variables so that
    the log density at the same parameters is unchanged (the shear has unit Jacobian)."""
    from model.inference.shear import n_sheared

    model = build_model(tiny, priors)
    logp = model.compile_logp()
    unsheared = float(logp(model_point(model, priors)))
    shear = model.cramp_graph_data["runner_shear"]  # the graph's data, borrowed: set in place
    shear[:] = np.linspace(-0.5, 0.4, n_sheared())
    point = model_point(model, priors)
    assert float(logp(point)) == pytest.approx(unsheared, rel=1e-12)
    shear[:] = 0.0
    assert float(logp(point)) != pytest.approx(unsheared, rel=1e-6)  # the shift mattered


def test_importing_the_model_changes_no_global_configuration():
    import subprocess
    import sys

    code = ("import pytensor; before = pytensor.config.numba__fastmath\n"
            "import model.inference.hazard_model, model.inference.fit\n"
            "assert pytensor.config.numba__fastmath == before, 'changed at import'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-1500:]
