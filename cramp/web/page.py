"""The coach's web page (Streamlit script; `cramp app` serves it): the form, one submit, the
answer. Layout only: the form's values become a scenario in `cramp.web.form`, the answer is made
in `cramp.web.answer` through the public API, uploads are read in `cramp.web.training`.

The literature priors and an uploaded posterior are cached per server (`st.cache_resource`), each
answer per scenario text, draws and model (`st.cache_data`), so a repeated question is instant
and a changed one costs one simulation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import asdict

import matplotlib

matplotlib.use("Agg")  # the server renders plots off screen, in worker threads

import streamlit as st  # noqa: E402

import cramp  # noqa: E402
from cramp.web import answer as A  # noqa: E402
from cramp.web import form as F  # noqa: E402
from cramp.web import training as T  # noqa: E402

PRIOR, POSTERIOR = "literature prior (no data needed)", "a posterior from `cramp fit` (.nc file)"


@st.cache_resource
def template() -> dict:
    return cramp.Scenario.load(F.DEFAULT_SCENARIO).document


@st.cache_resource
def courses() -> dict[str, dict]:
    return A.shipped_courses()


@st.cache_resource
def priors() -> cramp.Priors:
    return cramp.load_priors(None)


@st.cache_resource(max_entries=4)
def posterior(name: str, data: bytes):
    return T.posterior_upload(name, data)


@st.cache_data(max_entries=64, show_spinner=False)
def compute(toml: str, draws: int, model_key: str, _scenario, _fit) -> A.Answer:
    # the key is the scenario text, draws and model hash; the objects ride along unhashed
    return A.answer(_scenario, toml, draws, _fit, None if _fit is not None else priors())


def show_problems(slots: dict, error: cramp.InputError) -> None:
    for section, lines in F.problems_by_section(error).items():
        slots[section].error("\n\n".join(lines))


def internal_error(exc: Exception) -> None:
    st.error(f"internal error: {type(exc).__name__}: {exc}. Please report it; the form keeps "
             "working.")
    if os.environ.get("CRAMP_DEBUG"):
        st.exception(exc)


st.set_page_config(page_title="Cramp risk: compare race plans", layout="wide")
for key, value in asdict(F.defaults(template())).items():
    st.session_state.setdefault(key, value)

st.title("Cramp risk on race day: compare the plans")
st.markdown("For **one runner and one race**: the chance of an exercise-associated muscle cramp "
            "with the plan as written, and what a slower pace, even pacing, a longer taper, a "
            "longer long run or an earlier start would change. Fill in the form and press "
            "**Compare the plans**. The defaults are an example runner aiming at 3:30 in a "
            "marathon.")

with st.expander("Read the course from a GPX file (distance and elevation profile)"):
    course_file = st.file_uploader("the course as GPX (a track or a route)", type=["gpx"],
                                   key="course_gpx")
    if st.button("Read the course into the form") and course_file is not None:
        try:
            st.session_state.update(T.course_upload(course_file.name, course_file.getvalue()))
            st.success(f"Course read: {st.session_state['distance_km']:.2f} km with its "
                       "elevation profile. Check them below.")
        except cramp.InputError as exc:
            st.error("\n\n".join(exc.problems))

with st.expander("Fill in the runner from training files (FIT, GPX, TCX, CSV, or a zip)"):
    uploads = st.file_uploader("training files", accept_multiple_files=True, key="upload_files")
    u1, u2 = st.columns(2)
    race_date = u1.date_input("race date", value=dt.date.today() + dt.timedelta(days=7))
    tz = u2.text_input("the runner's time zone (IANA, e.g. Europe/Berlin)", value="UTC")
    if st.button("Read the files into the form") and uploads:
        try:
            distance = (courses()[st.session_state["course"]]["distance_km"]
                        if st.session_state["course"] in courses()
                        else st.session_state["distance_km"])
            profiled = T.profile_upload([(f.name, f.getvalue()) for f in uploads], race_date,
                                        float(distance), tz)
            st.session_state.update(profiled.fields)
            st.success("Filled in: recent result, longest run, taper. Check them below.")
            st.code("\n".join(profiled.report), language=None)
        except cramp.InputError as exc:
            st.error("\n\n".join(exc.problems))

with st.form("what_if"):
    race, runner, options = st.columns(3, gap="large")
    with race:
        st.subheader("The race")
        st.selectbox("course", [F.FLAT, *courses()], key="course")
        st.number_input("distance [km] (flat course)", 0.5, 250.0, step=0.1, format="%.3f",
                        key="distance_km")
        st.text_input("elevation profile, optional: 'km metres; km metres; ...'",
                      key="elevation", placeholder="0 20; 10 40; 21.1 80; 42.195 20")
        st.text_input("start time [HH:MM]", key="start_time")
        st.radio("weather given as", F.WEATHER_KINDS, key="weather_kind", horizontal=True)
        st.text_input("hours of the forecast [HH:MM, ...], covering start to finish",
                      key="hours")
        st.text_input("temperature at those hours [°C]", key="temp_c")
        st.text_input("relative humidity at those hours [%]", key="rh_pct")
        st.text_input("or WBGT at those hours [°C]", key="wbgt_c")
        race_slot = st.empty()
    with runner:
        st.subheader("The runner")
        st.number_input("recent race or time trial: distance [km]", 1.0, 250.0, step=0.1,
                        format="%.4g", key="ref_distance_km")
        st.text_input("recent race or time trial: time [H:MM:SS]", key="ref_time")
        st.text_input("target: finish time [H:MM:SS] or pace [M:SS per km]", key="target")
        st.slider("split: second half slower than the first by [%] (0 = even)", -10.0, 15.0,
                  step=0.5, format="%.1f", key="split_pct")
        st.number_input("longest run of the last 8 weeks [km]", 0.0, 250.0, step=1.0,
                        format="%.1f", key="longest_run_km")
        st.number_input("taper before the race [days]", 0, 60, key="taper_days")
        st.checkbox("pre-race CK was measured", key="ck_measured")
        st.number_input("pre-race CK [U/L] (if measured)", 10.0, 20000.0, step=10.0,
                        format="%.0f", key="ck_pre_u_per_l")
        st.checkbox("has cramped in a race before", key="cramp_history")
        runner_slot = st.empty()
    with options:
        st.subheader("Plans to compare")
        st.checkbox("slower pace", key="slower")
        st.slider("slower by [%]", 1.0, 15.0, step=0.5, format="%.1f", key="slower_pct")
        st.checkbox("even pacing (same finish time)", key="even_pacing")
        st.checkbox("a different taper", key="taper")
        st.slider("taper of [days]", 0, 28, key="taper_plan_days")
        st.checkbox("a longer long run", key="long_run")
        st.slider("longest run of [km]", 10.0, 60.0, step=1.0, format="%.0f", key="long_run_km")
        st.checkbox("an earlier start", key="earlier")
        st.slider("earlier by [h]", 0.5, 4.0, step=0.5, format="%.1f", key="earlier_h")
        st.checkbox("also all ticked changes together", key="combined")
        plans_slot = st.empty()
        with st.expander("Model and precision (defaults suit most questions)"):
            st.radio("parameters from", (PRIOR, POSTERIOR), key="model")
            fit_file = st.file_uploader("posterior (.nc from `cramp fit`)", type=["nc"],
                                        key="fit_file")
            st.select_slider("parameter draws (more: steadier numbers, slower)",
                             [200, 500, 1000, 2000, 4000], key="draws")
            st.number_input("seed (same seed, same numbers)", 0, 2**31 - 1, key="seed")
        model_slot = st.empty()
    submitted = st.form_submit_button("Compare the plans", type="primary")

slots = {"race": race_slot, "runner": runner_slot, "plans": plans_slot, "model": model_slot}
if submitted:
    st.session_state["asked"] = True
if st.session_state.get("asked"):
    values = F.from_mapping(dict(st.session_state))
    result = None
    try:
        fit, model_key, fit_name = None, "prior", None
        if st.session_state.get("model") == POSTERIOR:
            if fit_file is None:
                raise cramp.InputError("posterior: upload the .nc file `cramp fit` wrote, or "
                                       "choose the literature prior")
            data = fit_file.getvalue()
            fit, fit_name = posterior(fit_file.name, data), fit_file.name
            model_key = hashlib.sha256(data).hexdigest()
        scenario, toml = A.build(values, courses(), fit_name)
        with st.spinner("simulating the plans ..."):
            result = compute(toml, values.draws, model_key, scenario, fit)
    except cramp.InputError as exc:
        show_problems(slots, exc)
        st.warning("The form has a problem (shown next to the field, in red); nothing was "
                   "simulated.")
    except Exception as exc:  # the page must keep working whatever happens
        internal_error(exc)
    if result is not None:
        risk = result.risk
        st.divider()
        st.header(f"Risk of a cramp with the plan as written: {risk['mean']:.0%}")
        st.markdown(f"**95% interval {risk['lo']:.0%} to {risk['hi']:.0%}**: the model's "
                    "uncertainty about this runner on this day (what is known about cramps "
                    "and about the runner). The changes below are compared on the same draws, "
                    "so their differences are much more certain than the risk itself.")
        st.subheader("In plain words")
        st.markdown("\n".join(f"- {line}" for line in result.conclusions))
        st.subheader("The plans compared")
        st.dataframe(result.table, width="stretch")
        st.caption("Each figure: mean (95% interval). Change in risk and times are against the "
                   "plan as written; expected finish counts the time a cramp would cost. "
                   "Runners per cramp avoided (NNT) is shown where the benefit is clear.")
        left, right = st.columns(2)
        left.image(result.figures["risk"], caption="Risk of a cramp per plan (dot: mean; "
                   "bar: 95% interval)", width="stretch")
        right.image(result.figures["onset"], caption="Where on the course cramps start (top: "
                    "share of the cramps per km; bottom: cramps per km among runners without "
                    "one yet)", width="stretch")
        st.image(result.figures["time"], caption="Change in risk against the time a plan costs "
                 "(left: planned time; right: counting the time lost to cramps). Down and left "
                 "is better.", width="stretch")
        st.subheader("Downloads")
        d1, d2, d3, d4 = st.columns(4)
        d1.download_button("comparison (CSV)", result.csv, "comparison.csv", "text/csv")
        d2.download_button("comparison (JSON)", result.json, "comparison.json",
                           "application/json")
        d3.download_button("scenario for `cramp simulate` (TOML)", result.toml, "what_if.toml",
                           "application/toml")
        chosen = d4.selectbox("pace plan per km for", list(result.pace_plans), key="pace_for")
        d4.download_button(f"pace plan: {chosen} (CSV)", result.pace_plans[chosen],
                           "pace_plan.csv", "text/csv")
        command = A.command_line(values.draws, fit_name)
        st.caption(f"The same numbers on the command line: `{command}` with the downloaded "
                   "scenario file.")
        st.caption("Provenance: " + "; ".join(f"{k} {v}" for k, v in result.provenance.items()))
