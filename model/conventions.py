"""How every result is summarised: posterior means with equal-tailed 95% credible intervals over
the parameter draws (ArviZ's default, 89%, is not used anywhere)."""

INTERVAL_PROB = 0.95
INTERVAL_KIND = "eti"
