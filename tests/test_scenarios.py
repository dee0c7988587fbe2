"""Scenario runner: files, planned races, the simulator's probabilities (against the PyMC model's
own likelihood and against coin flips), directions and sizes of effects, and dask."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import xarray as xr
from conftest import log_rate_by_hand

from model.errors import InputError
from model.hazard.features import features_dataset
from model.hazard.forward import prior_draws
from model.hazard.specification import FACTORS, NO_CRAMP
from model.inference.hazard_model import build_model
from model.inference.sampler_point import PARAMETERS, sampler_point
from scenarios.compare import comparison, onset_probability
from scenarios.course import Segments, plan_race
from scenarios.interventions import SlowerPace, TaperDays
from scenarios.population import runner_block
from scenarios.simulate import simulate
from scenarios.spec import LIBRARY, load_scenario, parse_scenario

HOURS = ["06:00", "08:00", "10:00", "12:00", "14:00", "16:00"]


def doc(single: bool = True, **sections) -> dict:
    """A valid scenario document; `sections` replace whole tables."""
    d = {
        "name": "test",
        "seed": 7,
        "race": {"distance_km": 42.195, "start_time": "09:00"},
        "weather": {"hours": HOURS, "wbgt_c": [18.0] * len(HOURS)},
        "pacing": {"split_pct": 5.0},
        "intervention": [{"name": "slower", "slower_pace_pct": 3}],
    }
    if single:
        d["runner"] = {"ref_distance_km": 21.0975, "ref_time": "1:45:00", "longest_run_km": 30,
                       "taper_days": 10, "ck_pre_u_per_l": 150, "cramp_history": True}
        d["pacing"]["target_time"] = "3:35:00"
    else:
        d["population"] = {
            "count": 300, "ref_distance_km": 21.0975,
            "ref_time_s": {"dist": "lognormal", "median": 7000, "sd_log": 0.15, "min": 5000,
                           "max": 9000},
            "longest_run_km": {"dist": "normal", "mean": 30, "sd": 4, "min": 15},
            "taper_days": {"dist": "uniform", "min": 5, "max": 21},
            "cramp_history": {"dist": "bernoulli", "p": 0.3},
        }
    d.update(sections)
    return d


def draws(priors, n=40, seed=3, **fixed) -> xr.Dataset:
    p = prior_draws(priors, n, seed)
    for name, value in fixed.items():
        if name in FACTORS:
            p["beta"].loc[{"factor": name}] = value
        else:
            p[name][:] = value
    return p


# --- scenario files ---------------------------------------------------------------------------

def test_shipped_scenarios_load_and_cover_the_library():
    names = sorted(p.stem for p in LIBRARY.glob("*.toml"))
    assert {"city_marathon_warm", "road_ultra_56km", "trail_race_hilly",
            "goal_marathon_runner"} <= set(names)
    for name in names:
        s = load_scenario(name)
        assert list(s.interventions)[0] == "baseline" and len(s.interventions) >= 3
        assert s.sources, f"{name} must cite its sources"


@pytest.mark.parametrize("change, key", [
    (lambda d: d["intervention"].append({"name": "x", "ice_bath": True}), "ice_bath"),
    (lambda d: d["race"].update(distance_km=-5), "race.distance_km: must be > 0"),
    (lambda d: d["pacing"].update(target_time="9:30:00"), "slower than walking"),
    (lambda d: d["weather"].update(hours=["09:00", "10:00"], wbgt_c=[18, 19]), "weather.hours"),
    (lambda d: d["weather"].update(wbgt_c=[18] * 3), "weather.wbgt_c"),
    (lambda d: d["race"].update(start_time="9h"), "race.start_time"),
    (lambda d: d["runner"].pop("longest_run_km"), "runner.longest_run_km: missing"),
    (lambda d: d["intervention"].append({"name": "slower", "taper_days": 14}), "duplicate"),
])
def test_bad_scenarios_name_the_key(change, key):
    d = doc()
    change(d)
    with pytest.raises(InputError) as exc:
        parse_scenario(d, "bad.toml")
    assert any(key in problem and problem.startswith("bad.toml: ") for problem in
               exc.value.problems), exc.value.problems


def test_combined_intervention_from_one_table():
    d = doc(intervention=[{"name": "coach", "slower_pace_pct": 3, "taper_days": 14}])
    s = parse_scenario(d)
    plan = s.interventions["coach"].apply(s.plan())
    assert plan.time_factor == pytest.approx(1.03) and plan.taper_set_days == 14
    assert (SlowerPace(3) + TaperDays(14)).apply(s.plan()) == plan


# --- planned races --------------------------------------------------------------------------

def test_even_effort_at_ability_on_a_flat_course_has_zero_relative_pace():
    d = doc(single=False, pacing={"split_pct": 0.0})
    s = parse_scenario(d)
    block = runner_block(s.runners, s.seed, 0)
    race = plan_race(s, s.plan(), block)
    np.testing.assert_allclose(race.cell_x[0], 0.0, atol=1e-9)
    np.testing.assert_allclose(race.elapsed_at_end_s[-1], race.finish_time_s)


def test_positive_split_raises_early_relative_pace_and_keeps_the_finish_time():
    s = parse_scenario(doc(single=False, pacing={"split_pct": 6.0}))
    block = runner_block(s.runners, s.seed, 0)
    race = plan_race(s, s.plan(), block)
    pace = race.cell_x[0]
    # the first km has no pace behind it (the model's definition), then the fast half shows
    assert np.all(pace[0] == 0.0) and np.all(pace[1:20] > 0.2)
    assert np.all(np.diff(pace[21:], axis=0) < 0)
    np.testing.assert_allclose(race.elapsed_at_end_s[-1], race.finish_time_s)


def test_hilly_course_even_effort_is_slower_uphill_but_not_harder():
    s = parse_scenario({**_raw("trail_race_hilly"), "pacing": {"split_pct": 0.0}})
    block = runner_block(s.runners, s.seed, 0)
    race = plan_race(s, s.plan(), block)
    seconds_per_km = np.diff(np.vstack([np.zeros((1, block.size)), race.elapsed_at_end_s]), axis=0)
    assert np.all(seconds_per_km[2] > 1.5 * seconds_per_km[11])  # climbing vs descending
    # relative pace is measured against the grade-adjusted prediction: even effort is 0
    np.testing.assert_allclose(race.cell_x[0], 0.0, atol=1e-9)


def _raw(name: str) -> dict:
    import tomllib

    return tomllib.loads((LIBRARY / f"{name}.toml").read_text())


def test_weather_is_met_at_the_clock_time_of_each_segment():
    d = doc(weather={"hours": HOURS, "wbgt_c": [10.0, 10.0, 20.0, 30.0, 30.0, 30.0]})
    s = parse_scenario(d)
    block = runner_block(s.runners, s.seed, 0)
    race = plan_race(s, s.plan(), block)
    heat = race.cell_x[2, :, 0]
    elapsed = race.elapsed_at_end_s[:, 0]
    clock = 9.0 + 0.5 * (elapsed + np.r_[0, elapsed[:-1]]) / 3600
    np.testing.assert_allclose(heat * 5 + 15, np.interp(clock, [6, 8, 10, 12, 14, 16],
                                                        [10, 10, 20, 30, 30, 30]))


# --- the simulator's probabilities ----------------------------------------------------------

@pytest.mark.parametrize("measured_ck", [True, False])
def test_simulator_matches_the_pymc_model_likelihood(priors, measured_ck):
    """For one runner, P(no cramp) from the simulator equals exp(log-likelihood of a no-cramp
    record) in the fitted model's own PyMC graph, at the same parameter draws and quadrature."""
    d = doc()
    if not measured_ck:
        d["runner"].pop("ck_pre_u_per_l")
    s = parse_scenario(d)
    params = draws(priors, n=6, seed=11)
    params["race_sd"][:] = 0.0  # the model's race effect is a parameter: set it to 0
    result = simulate(s, params, n_nodes=(9, 5))
    block = runner_block(s.runners, s.seed, 0, n_nodes_effect=1, n_nodes_ck=1)
    race = plan_race(s, s.plan(), block)
    seg = Segments.of(s.course)
    n_seg = len(seg.start_km)
    ck = d["runner"].get("ck_pre_u_per_l", np.nan)
    features = features_dataset(
        start_km=seg.start_km[None], end_km=seg.end_km[None],
        relative_pace=race.cell_x[0].T, excess_distance=race.cell_x[1].T,
        heat=race.cell_x[2].T, muscle_damage=[np.log2(ck / 70)],
        taper=[(10 - 7) / 7], cramp_history=[1.0], outcome=[NO_CRAMP], onset_segment=[0],
        last_segment=[n_seg], runner_index=[0], race_index=[0], runner_ids=["r"],
        race_ids=["race"])
    model = build_model(features, priors, n_nodes_runner=9, n_nodes_damage=5)
    fn = model.compile_fn(model.replace_rvs_by_values([model["loglik"]])[0],
                          inputs=model.value_vars, on_unused_input="ignore")
    for i in range(params.sizes["draw"]):
        p = params.isel(draw=i)
        # one race: its effect is the intercept's, so any small race SD gives the same point
        point = sampler_point(model, {**{v: p[v].to_numpy() for v in PARAMETERS if v in p},
                                      "race_sd": 1e-3, "race_effect": np.zeros(1)})
        model_no_cramp = np.exp(float(fn(point)))
        # float32 cells: agreement to ~1e-6 of the probability
        assert 1 - result["risk"].sel(intervention="baseline")[i] == pytest.approx(
            model_no_cramp, rel=2e-5, abs=2e-6)


def test_simulator_matches_coin_flips_within_monte_carlo_error(priors):
    """Race every simulated runner many times with per-km coin flips at the same draws."""
    s = parse_scenario(doc(single=False, weather={"hours": HOURS,
                                                  "wbgt_c": [14, 16, 20, 24, 26, 26]}))
    params = draws(priors, n=3, seed=5)
    result = simulate(s, params)
    block = runner_block(s.runners, s.seed, 0)
    race = plan_race(s, s.plan(), block)
    seg = Segments.of(s.course)
    rng = np.random.default_rng(2024)
    replicates = 400
    for i in range(3):
        p = params.isel(draw=i)
        # a field races on one day: the draw's race-day effect is shared by every runner
        effect = (float(p["runner_sd"]) * block.z_effect
                  + float(p["race_sd"]) * float(result["race_day_z"][i]))
        eta = log_rate_by_hand(p, block, race, seg) + effect[None, :]
        h = -np.expm1(-np.exp(eta))  # per-segment probability of a first cramp
        flips = rng.random((replicates, *h.shape)) < h[None]
        cramped = flips.any(axis=1)
        first = np.argmax(flips, axis=1)
        freq = cramped.mean()
        risk = float(result["risk"].sel(intervention="baseline")[i])
        se = np.sqrt(risk * (1 - risk) / cramped.size)
        assert abs(freq - risk) < 4 * se, (freq, risk, se)
        # onset in the second half, among those who cramp
        onset = onset_probability(result).sel(intervention="baseline").isel(draw=i)
        share = float(onset.where(result["segment_start_km"] >= 21, 0).sum() / onset.sum())
        late = (first[cramped] >= 21).mean()
        se_late = np.sqrt(share * (1 - share) / cramped.sum())
        assert abs(late - share) < 4 * se_late, (late, share)


def test_same_seed_same_numbers_and_the_seed_matters(priors):
    s = parse_scenario(doc(single=False))
    params = draws(priors, n=10)
    a, b = simulate(s, params), simulate(s, params)
    xr.testing.assert_identical(a, b)
    from dataclasses import replace

    c = simulate(replace(s, seed=8), params)
    assert not np.array_equal(a["risk"], c["risk"])


def test_population_blocks_give_the_same_runners_whatever_the_draws(priors):
    s = parse_scenario(doc(single=False, population={**doc(False)["population"], "count": 5000}))
    params = draws(priors, n=300)
    full = simulate(s, params)
    part = simulate(s, params.isel(draw=slice(260, 300)))
    np.testing.assert_allclose(part["risk"], full["risk"].isel(draw=slice(260, 300)), rtol=1e-12)


# --- direction and size of effects -----------------------------------------------------------

def test_direction_of_each_intervention_follows_each_draw(priors):
    """Per draw, the sign of the risk change is the sign the coefficients imply."""
    d = doc(single=False, weather={"hours": HOURS, "wbgt_c": [12, 14, 18, 22, 24, 24]},
            intervention=[{"name": "slower", "slower_pace_pct": 3},
                          {"name": "taper", "longer_taper_days": 7},
                          {"name": "long runs", "longer_long_run_km": 8},
                          {"name": "earlier", "earlier_start_h": 2}])
    s = parse_scenario(d)
    params = draws(priors, n=200, seed=9)
    r = simulate(s, params)["risk"]
    change = r - r.sel(intervention="baseline")
    beta = params["beta"]
    # a slower pace also meets later (warmer) hours: isolate it with heat fixed in a second run
    flat = parse_scenario({**d, "weather": {"hours": HOURS, "wbgt_c": [18.0] * 6}})
    r_flat = simulate(flat, params)["risk"]
    slower = r_flat.sel(intervention="slower") - r_flat.sel(intervention="baseline")
    assert np.all(np.sign(slower) == -np.sign(beta.sel(factor="relative_pace")))
    ln2 = np.log(2)
    taper_total = (beta.sel(factor="taper")
                   + beta.sel(factor="muscle_damage") * params["ck_taper_effect"] / ln2)
    assert np.all(np.sign(change.sel(intervention="taper")) == np.sign(taper_total))
    assert np.all(np.sign(change.sel(intervention="long runs"))
                  == -np.sign(beta.sel(factor="excess_distance")))
    assert np.all(np.sign(change.sel(intervention="earlier")) == -np.sign(beta.sel(factor="heat")))


def test_interventions_the_model_says_nothing_about_change_nothing(priors):
    d = doc(weather={"hours": HOURS, "wbgt_c": [12, 14, 18, 22, 24, 24]},
            intervention=[{"name": "earlier", "earlier_start_h": 2},
                          {"name": "long runs past the distance", "longest_run_km": 60},
                          {"name": "even longer", "longest_run_km": 70}])
    s = parse_scenario(d)
    r = simulate(s, draws(priors, n=50, heat=0.0))["risk"]
    assert np.array_equal(r.sel(intervention="earlier"), r.sel(intervention="baseline"))
    assert np.array_equal(r.sel(intervention="even longer"),
                          r.sel(intervention="long runs past the distance"))


def test_effect_size_is_the_coefficient_for_a_uniform_change(priors):
    """One runner with no unknown effect and a measured CK, evenly paced: a p% slower pace shifts
    relative pace by the same amount in every segment after the first, so the cumulative hazard
    -ln(1 - risk) beyond the first km changes by exactly exp(beta_pace * shift); a longer taper by
    exp((b_taper + b_damage * ck_taper_effect / ln 2) * days / 7)."""
    d = doc(pacing={"split_pct": 0.0, "target_time": "3:35:00"},
            intervention=[{"name": "slower", "slower_pace_pct": 4},
                          {"name": "taper", "longer_taper_days": 7}])
    s = parse_scenario(d)
    params = draws(priors, n=30, runner_sd=0.0, race_sd=0.0)
    result = simulate(s, params)
    hazard = -np.log1p(-result["risk"])
    block = runner_block(s.runners, s.seed, 0)
    pace = plan_race(s, s.plan(), block).cell_x[0]
    slower = plan_race(s, SlowerPace(4).apply(s.plan()), block).cell_x[0]
    shift = float((slower - pace)[5, 0])
    # every km but the first, which has no pace behind it
    assert np.all(slower[0] == pace[0])
    np.testing.assert_allclose(slower[1:] - pace[1:], shift, atol=1e-12)
    b = params["beta"]
    ratio = hazard / hazard.sel(intervention="baseline")
    first_km = -np.log1p(-onset_probability(result).sel(intervention="baseline").isel(segment=0))
    base = hazard.sel(intervention="baseline")
    expected = (first_km + (base - first_km) * np.exp(b.sel(factor="relative_pace") * shift)) / base
    np.testing.assert_allclose(ratio.sel(intervention="slower"), expected, rtol=1e-5)
    ck_route = b.sel(factor="muscle_damage") * params["ck_taper_effect"] / np.log(2)
    np.testing.assert_allclose(ratio.sel(intervention="taper"),
                               np.exp(b.sel(factor="taper") + ck_route), rtol=1e-5)


# --- comparison table -----------------------------------------------------------------------

def test_comparison_table_is_consistent_with_the_draws(priors):
    s = load_scenario("goal_marathon_runner")
    params = draws(priors, n=100)
    result = simulate(s, params)
    table = comparison(result)
    assert table["interval"] == {"kind": "eti", "prob": 0.95}
    rows = {row["name"]: row for row in table["interventions"]}
    assert table["interventions"][0]["name"] == "baseline"
    slower = rows["3:36 target (3% slower)"]
    risk = result["risk"]
    diff = risk.sel(intervention="3:36 target (3% slower)") - risk.sel(intervention="baseline")
    assert slower["risk_difference"]["mean"] == pytest.approx(float(diff.mean()))
    assert slower["p_better"] == pytest.approx(float((diff < 0).mean()))
    assert slower["finish_time_delta_s"]["mean"] == pytest.approx(0.03 * 3.5 * 3600)
    base = rows["baseline"]
    assert base["expected_finish_time_s"]["mean"] == pytest.approx(
        3.5 * 3600 + float(result["expected_time_lost_s"].sel(intervention="baseline").mean()))
    q = slower["onset_km"]
    assert 0 < q["q10"] < q["q25"] < q["q50"] < q["q75"] < q["q90"] <= 42.195
    if slower["nnt"]["lo"] is not None:
        assert slower["nnt"]["lo"] <= slower["nnt"]["mean"] <= slower["nnt"]["hi"]


def test_expected_time_lost_matches_its_definition(priors):
    s = parse_scenario(doc(cramp_time_loss={"slowdown_pct": 20, "stop_s": 90}))
    params = draws(priors, n=5)
    result = simulate(s, params)
    block = runner_block(s.runners, s.seed, 0)
    race = plan_race(s, s.plan(), block)
    onset = onset_probability(result).sel(intervention="baseline")
    mid = 0.5 * (race.elapsed_at_end_s[:, 0] + np.r_[0.0, race.elapsed_at_end_s[:-1, 0]])
    loss = 90 + 0.2 * (race.finish_time_s[0] - mid)
    np.testing.assert_allclose(result["expected_time_lost_s"].sel(intervention="baseline"),
                               (onset * loss).sum("segment"), rtol=1e-5)


# --- dask -----------------------------------------------------------------------------------

def test_dask_local_cluster_gives_the_same_numbers(priors):
    distributed = pytest.importorskip("distributed")
    s = parse_scenario(doc(single=False, population={**doc(False)["population"], "count": 3000}))
    params = draws(priors, n=300)
    local = simulate(s, params)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        remote = simulate(s, params, backend="dask")
    xr.testing.assert_allclose(local, remote, rtol=1e-12, atol=0)


def test_json_shape_for_scripts(priors):
    result = simulate(parse_scenario(doc()), draws(priors, n=20))
    table = json.loads(json.dumps(comparison(result)))
    row = table["interventions"][1]
    for key in ("name", "risk", "risk_difference", "relative_risk", "nnt", "p_better",
                "finish_time_delta_s", "expected_finish_time_s", "onset_km"):
        assert key in row
    assert set(row["risk"]) == {"mean", "lo", "hi"}
    assert set(row["onset_km"]) == {"q10", "q25", "q50", "q75", "q90"}


def test_plain_language_is_generated_from_the_numbers(priors):
    from scenarios.compare import plain_language

    result = simulate(load_scenario("goal_marathon_runner"), draws(priors, n=200))
    table = comparison(result)
    lines = plain_language(table)
    assert len(lines) == len(table["interventions"]) + 1
    slower = table["interventions"][1]
    assert f"{slower['risk']['mean']:.0%}" in lines[1] and f"{slower['p_better']:.0%}" in lines[1]
    # the words follow the probability of helping
    flipped = copy.deepcopy(table)
    flipped["interventions"][1]["p_better"] = 0.02
    assert "very likely raises" in plain_language(flipped)[1]
    flipped["interventions"][1]["p_better"] = 0.97
    assert "very likely lowers" in plain_language(flipped)[1]


def test_comparison_frame_flattens_the_table(priors):
    from scenarios.compare import comparison_frame

    table = comparison(simulate(parse_scenario(doc()), draws(priors, n=20)))
    frame = comparison_frame(table)
    assert list(frame.index) == ["baseline", "slower"]
    assert frame.loc["slower", "risk mean [%]"] == pytest.approx(
        100 * table["interventions"][1]["risk"]["mean"])
    assert frame.loc["slower", "planned time delta [min]"] == pytest.approx(0.03 * 215)


def test_target_pace_is_a_target_time():
    d = doc()
    d["pacing"] = {"target_pace": "5:05", "split_pct": 0.0}
    s = parse_scenario(d)
    assert s.runners.target_time_s == pytest.approx(305 * 42.195)
    d["pacing"]["target_pace"] = "13:00"  # slower than walking
    with pytest.raises(InputError) as exc:
        parse_scenario(d)
    assert any("slower than walking" in problem for problem in exc.value.problems)
