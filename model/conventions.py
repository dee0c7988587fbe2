"""How every result is summarised: posterior means with equal-tailed 95% credible intervals over
the parameter draws (ArviZ's default, 89%, is not used anywhere); and how many draws a fit makes
by default."""

INTERVAL_PROB = 0.95
INTERVAL_KIND = "eti"

# a fit's default NUTS draws and tuning steps per chain. 500 tuning steps, not 1000: nutpie's
# low-rank adaptation has settled by then on every cell of the design grid
# (tests/design_grid.py), and tuning had taken 58% of a fit's gradients (bench/fit_profile.py);
# a fit whose diagnostics fail is sampled again with twice the tuning (diagnostics.second_attempt)
FIT_DRAWS = 1000
FIT_TUNE = 500
