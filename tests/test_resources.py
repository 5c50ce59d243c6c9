"""Memory guards: estimates against measured peaks, refusal messages, the limit and its parsing."""
import tracemalloc

import pytest

from capacity import _resources
from capacity._resources import (
    ENV_VAR,
    check_memory,
    default_memory_limit,
    parse_memory,
    physical_memory,
    solve_memory,
    sweep_memory,
)
from capacity.exceptions import ResourceLimitError
from capacity.simulate import estimate_thresholds, hebbian_recall, make_instance, simulate_capacity, solve_feasibility


@pytest.mark.parametrize("text, expected", [("8G", 8 << 30), ("8GiB", 8 << 30), ("8gb", 8 << 30),
                                            ("512M", 512 << 20), ("1.5K", 1536), ("1T", 1 << 40),
                                            ("1000000", 10**6), (" 2 G ", 2 << 30), (4096, 4096)])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text, exc", [("", ValueError), ("lots", ValueError), ("-1G", ValueError), ("0", ValueError),
                                       ("8X", ValueError), (0, ValueError), (None, TypeError), (1.5, TypeError),
                                       (True, TypeError)])
def test_parse_memory_refuses_in_one_line_naming_max_memory(text, exc):
    with pytest.raises(exc) as info:
        parse_memory(text)
    assert "`max_memory`" in str(info.value) and "\n" not in str(info.value)


def test_default_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "3G")
    assert default_memory_limit() == 3 << 30
    monkeypatch.setenv(ENV_VAR, "12345")
    assert default_memory_limit() == 12345
    monkeypatch.setenv(ENV_VAR, "much")
    with pytest.raises(ValueError, match=f"`{ENV_VAR}`"):
        default_memory_limit()
    monkeypatch.delenv(ENV_VAR)
    phys = physical_memory()
    assert phys is None or default_memory_limit() == int(0.8 * phys)


def test_env_limit_refuses_a_solve(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1M")
    with pytest.raises(ResourceLimitError) as info:
        solve_feasibility(make_instance("decoupled", 4, 6))
    msg = str(info.value)
    assert "\n" not in msg and "`max_memory`" in msg and "GiB" in msg and "limit" in msg
    assert solve_feasibility(make_instance("decoupled", 4, 6), max_memory=1 << 30).verdict == "feasible"


def test_refusal_message_gives_estimate_and_limit():
    with pytest.raises(ResourceLimitError) as info:
        check_memory("a test", 3 << 30, max_memory=1 << 30)
    assert str(info.value) == ("a test needs about 3 GiB of memory, over the limit of 1 GiB; reduce the problem or "
                               "pass `max_memory` to override")
    assert isinstance(info.value, ValueError)


def test_the_examples_are_refused_up_front():
    # d = 16, p = 40000: the p x K margins alone are 12 GiB; refused before any instance is drawn
    assert solve_memory(16, 40000) > 12 << 30
    with pytest.raises(ResourceLimitError, match="`p` = 40000"):
        simulate_capacity("decoupled", 16, [40000], trials=1, progress=False, max_memory=8 << 30)
    with pytest.raises(ResourceLimitError, match="`trials` = 1000000000"):
        simulate_capacity("decoupled", 16, [40], trials=10**9, progress=False, max_memory=64 << 30)
    with pytest.raises(ValueError, match="`p` must be an integer >= 2 and <= 1e\\+06; got 2000000"):
        simulate_capacity("decoupled", 16, [2_000_000], trials=1, progress=False)
    with pytest.raises(ResourceLimitError, match="`instances`"):
        estimate_thresholds("decoupled", 8, instances=10**6, progress=False, max_memory=1 << 30)


def test_sweep_memory_counts_jobs_and_tasks():
    assert sweep_memory(100, 0, jobs=3) == 300
    assert sweep_memory(100, 10, jobs=1) == 100 + _resources.task_overhead(10)


def _measured(call):
    call()  # warm up (imports, JIT caches)
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("method, d, p", [("ldp", 16, 60), ("gram", 16, 60), ("ldp", 8, 600)])
def test_solve_estimate_is_an_upper_ish_bound(method, d, p):
    inst = make_instance("decoupled", d, p, seed=1)
    peak = _measured(lambda: solve_feasibility(inst, method=method))
    est = solve_memory(d, p, method=method) - _resources._BASE_BYTES
    # measured 1.2-2.6x at these sizes; an estimate must not be below the peak nor wildly above it
    assert peak <= est <= 6 * peak, (peak, est)


def test_hebbian_estimate_is_an_upper_ish_bound():
    inst = make_instance("decoupled", 16, 600, seed=1)
    peak = _measured(lambda: hebbian_recall(inst))
    est = solve_memory(16, 600, experiment="hebbian") - _resources._BASE_BYTES
    assert peak <= est <= 6 * peak, (peak, est)
