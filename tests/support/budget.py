"""The time budget of one input to a parse or triage entry point, as a Hypothesis setting.

A deadline, not a benchmark: far above what any input takes (the figures are in
bench/textwork.py), far below what the attacks of issue 10 took before they were fixed
(13 s to minutes). A regression to quadratic work fails it; a busy machine does not.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, settings

BUDGET = dt.timedelta(seconds=5)

# One input per attack test; no shrinking of a single known input.
within_budget = settings(
    deadline=BUDGET,
    max_examples=1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The fuzz runs: enough examples to find a crash, bounded so all of them together stay
# within a couple of minutes on a shared two-core machine.
settings.register_profile(
    "fuzz",
    deadline=BUDGET,
    max_examples=150,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
fuzz = settings.get_profile("fuzz")
