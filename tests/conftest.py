import os

import pytest
from hypothesis import HealthCheck, settings

# Deterministic property tests by default (same examples on every run and machine);
# HYPOTHESIS_PROFILE=explore for a randomised, longer search.
settings.register_profile(
    "ci", derandomize=True, max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def torch_one_thread():
    """Pin torch to one intra-op thread for the test (tiny models run fastest so; CPU results are exact)."""
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
