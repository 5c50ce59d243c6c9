import os

from hypothesis import HealthCheck, settings

# Deterministic property tests by default (same examples on every run and machine);
# HYPOTHESIS_PROFILE=explore for a randomised, longer search.
settings.register_profile(
    "ci", derandomize=True, max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
