"""One vocabulary of sports for every format, and the rule for what counts as a run.

Files name their sport in different ways: FIT has a numeric sport and sub-sport (Garmin's
profile), GPX ``<trk><type>`` holds free text (Garmin Connect writes ``running``,
``trail_running``, ``road_biking``...; Strava writes a number, 9 for a run and 1 for a ride), TCX
has ``Sport="Running|Biking|Other"``, and the platforms' summary CSVs use words such as ``Run``,
``Trail Run``, ``Treadmill Running``, ``Ride``.

Everything is mapped to a short family name (``running``, ``cycling``, ``walking``, ``hiking``,
``swimming``, ...). Trail, treadmill, track, indoor and virtual runs are ``running``. Walks and
hikes are *not* runs: their pace and muscle loading are different, so they would distort the
longest run, the ability and the weekly km; they are left out and listed as "not a run: walking".
A GPX track with no type (common for files written by other tools) is assumed to be a run, and so is
a label that is unknown but says nothing about another sport (e.g. "...", "generic"); a FIT session
whose sport is ``generic`` is not (FIT files always state the sport, and generic means "other"),
nor is a summary-CSV row with a type this module does not know (every row there has a type).
"""

from __future__ import annotations

RUN = "running"

# Strava's numbers in its GPX exports (<trk><type>); only codes seen in real exports are listed,
# any other number is reported as "Strava type N" and left out (not a run).
STRAVA_GPX_CODES = {"1": "cycling", "2": "skiing", "4": "hiking", "9": RUN, "10": "walking",
                    "16": "swimming", "17": "cycling", "18": "cycling", "23": "rowing",
                    "53": RUN}

# words (lower case, spaces/hyphens -> underscores) that name a family; checked as substrings so
# "road_biking", "Trail Run", "treadmill_running", "VirtualRide", "E-Bike Ride" all resolve
_FAMILY_WORDS = [
    ("walk", "walking"), ("hik", "hiking"), ("mountaineering", "hiking"),
    ("snowshoe", "hiking"),
    ("run", RUN), ("jog", RUN),
    ("bik", "cycling"), ("cycl", "cycling"), ("ride", "cycling"), ("velo", "cycling"),
    ("swim", "swimming"), ("ski", "skiing"), ("snowboard", "skiing"), ("row", "rowing"),
    ("paddl", "paddling"), ("kayak", "paddling"), ("canoe", "paddling"), ("sup", "paddling"),
    ("skat", "skating"), ("cardio", "fitness"), ("car", "driving"), ("driv", "driving"),
    ("motor", "driving"),
    ("fly", "flying"), ("boat", "boating"), ("sail", "boating"), ("elliptical", "fitness"),
    ("strength", "fitness"), ("weight", "fitness"), ("yoga", "fitness"), ("workout", "fitness"),
    ("training", "fitness"), ("fitness", "fitness"), ("stair", "fitness"),
    ("crossfit", "fitness"), ("hiit", "fitness"), ("pilates", "fitness"), ("climb", "climbing"),
    ("surf", "surfing"), ("wheelchair", "other"), ("transition", "transition"),
    ("multisport", "multisport"), ("golf", "other"), ("soccer", "other"), ("tennis", "other"),
]
# labels that name no sport at all: treated as "not stated"
_NO_SPORT = {"", "generic", "unknown", "none", "null", "activity", "track", "..."}


def family(label: str | None) -> str | None:
    """The sport family a free-text or numeric label names, or None when it names none."""
    if label is None:
        return None
    text = label.strip().lower().replace(" ", "_").replace("-", "_")
    if text in _NO_SPORT:
        return None
    if text.isdigit():
        return STRAVA_GPX_CODES.get(text, f"Strava type {text}")
    if text in ("other", "others"):
        return "other"
    for word, name in _FAMILY_WORDS:
        if word in text:
            return name
    return None  # an unknown word (e.g. a track name typed into <type>): not stated


def fit_family(sport: str | None, sub_sport: str | None) -> str:
    """Family of a FIT session's sport/sub-sport names (garmin_fit_sdk's profile names)."""
    if sport == RUN:
        return RUN  # treadmill, trail, track, street, indoor, virtual: all runs
    if sport in (None, "generic"):
        return "other"  # FIT states the sport; generic is Garmin's "Other"
    found = family(sport)
    return found if found is not None else sport


def is_run(sport_family: str | None) -> bool:
    """A run, or a file that does not say (assumed a run: the coach collected runs)."""
    return sport_family in (RUN, None)
