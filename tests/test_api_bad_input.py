"""Bad input to every public function is refused up front, in one line naming the argument.

Each case asserts the exception type (TypeError for a wrong kind, ValueError for a wrong
value), that the message is a single line, and that it names the argument in backticks
(the form the command line maps to its flags).  Cases that would do real work if the
check were missing carry a tiny size, so that a regression fails fast rather than slowly.
"""
import math
import sys

import numpy as np
import pytest

import capacity
from capacity.exceptions import ResourceLimitError
from capacity.simulate import (
    binomial_ci,
    estimate_thresholds,
    find_threshold,
    fit_p50,
    hebbian_recall,
    make_instance,
    make_nested_instance,
    make_task,
    median_ci,
    p50_lower_bound,
    run_trial,
    simulate_capacity,
    solve_feasibility,
    solve_max_margin,
    solve_two_layer,
    summarize_margins,
    summarize_points,
)
from capacity.solvers.plogp import inverse_p_log_p
from capacity.solvers.roots import brent, integer_regula_falsi
from capacity.theory import asymptotics, hebbian, listwise
from capacity.theory.predict import predicted_p_c
from capacity.theory.two_layer import n_params_two_layer, p_c_two_layer

INST = make_instance("decoupled", 4, 6, seed=1)
TASK = make_task("feasibility", "decoupled", 4, 6, trial=0, seed=1)
RECORDS = [{"p": 6, "verdict": "feasible"}, {"p": 8, "verdict": "infeasible"}]
NAN, INF = math.nan, math.inf


def _task(**change):
    task = dict(TASK)
    task.update(change)
    return task


def _without(key):
    task = dict(TASK)
    del task[key]
    return task


def _sim(**kw):
    args = {"model": "decoupled", "d": 4, "ps": [6], "trials": 1, "progress": False}
    args.update(kw)
    return lambda: simulate_capacity(args.pop("model"), args.pop("d"), args.pop("ps"), **args)


# (id, call, exception type, argument named)
CASES = [
    # --- capacity (theory, top level) ---------------------------------------------------------
    ("p_c-d-zero", lambda: capacity.p_c(0), ValueError, "d"),
    ("p_c-d-str", lambda: capacity.p_c("16"), TypeError, "d"),
    ("p_c-d-nan", lambda: capacity.p_c(NAN), ValueError, "d"),
    ("p_c-kappa-neg", lambda: capacity.p_c(16, kappa=-0.5), ValueError, "kappa"),
    ("p_c-kappa-none", lambda: capacity.p_c(16, kappa=None), TypeError, "kappa"),
    ("p_c-n_params-neg", lambda: capacity.p_c(16, n_params=-1), ValueError, "n_params"),
    ("solve_p_c-d-inf", lambda: capacity.solve_p_c(INF), ValueError, "d"),
    ("alpha_c-K-zero", lambda: capacity.alpha_c(0), ValueError, "K"),
    ("alpha_c-K-list", lambda: capacity.alpha_c([1, 2]), TypeError, "K"),
    ("alpha_c-kappa-inf", lambda: capacity.alpha_c(5, kappa=INF), ValueError, "kappa"),
    ("expected_dist2-K-bool", lambda: capacity.expected_dist2(True), TypeError, "K"),
    ("solve_dist2-K-nan", lambda: capacity.solve_dist2(NAN), ValueError, "K"),
    ("d_min-p-one", lambda: capacity.d_min(1), ValueError, "p"),
    ("d_min-p-str", lambda: capacity.d_min("100"), TypeError, "p"),
    ("solve_d_min-kappa-neg", lambda: capacity.solve_d_min(100, kappa=-1), ValueError, "kappa"),
    ("kappa_star-alpha-neg", lambda: capacity.kappa_star(-0.1, 10), ValueError, "alpha"),
    ("kappa_star-K-none", lambda: capacity.kappa_star(0.1, None), TypeError, "K"),
    ("prob_raised-K-neg", lambda: capacity.prob_raised(-3), ValueError, "K"),
    ("sample_projection-n_samples-zero", lambda: capacity.sample_projection(5, n_samples=0), ValueError, "n_samples"),
    ("sample_projection-n_samples-float", lambda: capacity.sample_projection(5, n_samples=2.5), ValueError,
     "n_samples"),
    # --- theory submodules ------------------------------------------------------------------
    ("dist2_leading-K-zero", lambda: asymptotics.dist2_leading(0), ValueError, "K"),
    ("dist2_next-kappa-bool", lambda: asymptotics.dist2_next(100, kappa=True), TypeError, "kappa"),
    ("dist2_lln-K-text", lambda: asymptotics.dist2_lln("many"), TypeError, "K"),
    ("p_c_leading-d-neg", lambda: asymptotics.p_c_leading(-4), ValueError, "d"),
    ("p_c_lln-d-none", lambda: asymptotics.p_c_lln(None), TypeError, "d"),
    ("hebbian_p_c-d-zero", lambda: hebbian.hebbian_p_c(0), ValueError, "d"),
    ("hebbian_p_c-criterion", lambda: hebbian.hebbian_p_c(30, criterion="most"), ValueError, "criterion"),
    ("hebbian_p_c-model", lambda: hebbian.hebbian_p_c(30, model="both"), ValueError, "model"),
    ("hebbian_p_c-embedding-int", lambda: hebbian.hebbian_p_c(30, embedding=3), TypeError, "embedding"),
    ("hebbian_recall_prob-p", lambda: hebbian.hebbian_recall_prob(30, 0), ValueError, "p"),
    ("hebbian_recall_prob-method", lambda: hebbian.hebbian_recall_prob(30, 40, method="exact"), ValueError,
     "method"),
    ("hebbian_threshold-criterion", lambda: hebbian.hebbian_threshold("some"), ValueError, "criterion"),
    ("listwise_p_c-k-zero", lambda: listwise.listwise_p_c(16, 0), ValueError, "k"),
    ("listwise_alpha_c-K-str", lambda: listwise.listwise_alpha_c("9", 2), TypeError, "K"),
    ("listwise_limit_alpha-r", lambda: listwise.listwise_limit_alpha(2.0), ValueError, "r"),
    ("n_params_two_layer-m-zero", lambda: n_params_two_layer(12, 0), ValueError, "m"),
    ("p_c_two_layer-trained-str", lambda: p_c_two_layer(12, 3, trained="yes"), TypeError, "trained"),
    ("predicted_p_c-model", lambda: predicted_p_c("foo", 16), ValueError, "model"),
    ("predicted_p_c-m-missing", lambda: predicted_p_c("two-layer", 16), ValueError, "m"),
    # --- solvers ------------------------------------------------------------------------------
    ("inverse_p_log_p-c-neg", lambda: inverse_p_log_p(-1.0), ValueError, "c"),
    ("inverse_p_log_p-c-str", lambda: inverse_p_log_p("1"), TypeError, "c"),
    ("brent-f-not-callable", lambda: brent(None, 0.0, 1.0), TypeError, "f"),
    ("brent-xtol-neg", lambda: brent(lambda x: x - 0.5, 0.0, 1.0, xtol=-1.0), ValueError, "xtol"),
    ("integer_regula_falsi-lo-float", lambda: integer_regula_falsi(lambda k: k - 3, 0.5, 9), ValueError, "lo"),
    # --- simulate: instances and tasks ---------------------------------------------------------
    ("make_instance-model", lambda: make_instance("foo", 4, 6), ValueError, "model"),
    ("make_instance-model-int", lambda: make_instance(1, 4, 6), TypeError, "model"),
    ("make_instance-d-zero", lambda: make_instance("decoupled", 0, 6), ValueError, "d"),
    ("make_instance-p-one", lambda: make_instance("decoupled", 4, 1), ValueError, "p"),
    ("make_instance-p-huge", lambda: make_instance("decoupled", 4, 2_000_000), ValueError, "p"),
    ("make_instance-K-zero", lambda: make_instance("decoupled", 4, 6, K=0), ValueError, "K"),
    ("make_instance-embedding", lambda: make_instance("decoupled", 4, 6, embedding="cube"), ValueError,
     "embedding"),
    ("make_instance-seed-neg", lambda: make_instance("decoupled", 4, 6, seed=-1), ValueError, "seed"),
    ("make_nested_instance-trial-str", lambda: make_nested_instance("decoupled", 4, 6, trial="0"), TypeError,
     "trial"),
    ("make_task-experiment", lambda: make_task("fit", "decoupled", 4, 6, trial=0, seed=0), ValueError,
     "experiment"),
    ("make_task-model", lambda: make_task("feasibility", "foo", 4, 6, trial=0, seed=0), ValueError, "model"),
    ("make_task-d-float", lambda: make_task("feasibility", "decoupled", 4.5, 6, trial=0, seed=0), ValueError,
     "d"),
    ("make_task-method", lambda: make_task("feasibility", "decoupled", 4, 6, trial=0, seed=0, method="x"),
     ValueError, "method"),
    ("make_task-m-missing", lambda: make_task("two-layer", "decoupled", 4, 6, trial=0, seed=0), ValueError, "m"),
    ("run_trial-empty", lambda: run_trial({}), ValueError, "task"),
    ("run_trial-not-dict", lambda: run_trial(None), TypeError, "task"),
    ("run_trial-missing-model", lambda: run_trial(_without("model")), ValueError, "task"),
    ("run_trial-d-str", lambda: run_trial(_task(d="4")), TypeError, "d"),
    ("run_trial-p-zero", lambda: run_trial(_task(p=0)), ValueError, "p"),
    ("run_trial-method", lambda: run_trial(_task(method="simplex")), ValueError, "method"),
    ("run_trial-experiment", lambda: run_trial(_task(experiment="fit")), ValueError, "experiment"),
    ("run_trial-unknown-key", lambda: run_trial(_task(colour="red")), ValueError, "task"),
    ("run_trial-device-not-torch", lambda: run_trial(TASK, device="cpu"), ValueError, "device"),
    ("run_trial-device-str", lambda: run_trial(_task(method="torch"), device="tpu"), ValueError, "device"),
    ("run_trial-device-int", lambda: run_trial(_task(method="torch"), device=1), TypeError, "device"),
    ("run_trial-device-hebbian", lambda: run_trial(make_task("hebbian", "decoupled", 4, 6, trial=0, seed=1),
                                                   device="cpu"), ValueError, "device"),
    # --- simulate: solvers on one instance -------------------------------------------------------
    ("solve_feasibility-none", lambda: solve_feasibility(None), TypeError, "inst"),
    ("solve_feasibility-str", lambda: solve_feasibility("x"), TypeError, "inst"),
    ("solve_feasibility-cert_tol-neg", lambda: solve_feasibility(INST, cert_tol=-1), ValueError, "cert_tol"),
    ("solve_feasibility-cert_tol-nan", lambda: solve_feasibility(INST, cert_tol=NAN), ValueError, "cert_tol"),
    ("solve_feasibility-method", lambda: solve_feasibility(INST, method="x"), ValueError, "method"),
    ("solve_feasibility-method-int", lambda: solve_feasibility(INST, method=1), TypeError, "method"),
    ("solve_feasibility-max_rounds-zero", lambda: solve_feasibility(INST, max_rounds=0), ValueError,
     "max_rounds"),
    ("solve_feasibility-add_per_input-float", lambda: solve_feasibility(INST, add_per_input=1.5), ValueError,
     "add_per_input"),
    ("solve_feasibility-initial_per_input-str", lambda: solve_feasibility(INST, initial_per_input="4"),
     TypeError, "initial_per_input"),
    ("solve_feasibility-initial_pairs-negative",
     lambda: solve_feasibility(INST, method="gram", initial_pairs=np.array([[0, 1], [-1, 2]])), ValueError,
     "initial_pairs"),
    ("solve_feasibility-initial_pairs-shape",
     lambda: solve_feasibility(INST, method="gram", initial_pairs=np.array([0, 1, 2])), ValueError,
     "initial_pairs"),
    ("solve_feasibility-initial_pairs-ldp",
     lambda: solve_feasibility(INST, initial_pairs=np.array([[0, 1]])), ValueError, "initial_pairs"),
    ("solve_feasibility-initial_pairs-highs",
     lambda: solve_feasibility(INST, method="highs", initial_pairs=np.array([[0, 1]])), ValueError, "initial_pairs"),
    ("solve_feasibility-device-not-torch", lambda: solve_feasibility(INST, method="gram", device="cuda"), ValueError,
     "device"),
    ("solve_feasibility-device-default-method", lambda: solve_feasibility(INST, device="cpu"), ValueError, "device"),
    ("solve_feasibility-device-gpu", lambda: solve_feasibility(INST, method="torch", device="gpu"), ValueError,
     "device"),
    ("solve_feasibility-device-int", lambda: solve_feasibility(INST, method="torch", device=0), TypeError, "device"),
    ("solve_feasibility-max_memory-neg", lambda: solve_feasibility(INST, max_memory=-1), ValueError,
     "max_memory"),
    ("solve_feasibility-max_memory-str", lambda: solve_feasibility(INST, max_memory="8G"), TypeError,
     "max_memory"),
    ("solve_max_margin-str", lambda: solve_max_margin("x"), TypeError, "inst"),
    ("solve_max_margin-max_rounds-neg", lambda: solve_max_margin(INST, max_rounds=-2), ValueError, "max_rounds"),
    ("solve_max_margin-active_tol-neg", lambda: solve_max_margin(INST, active_tol=-1e-6), ValueError,
     "active_tol"),
    ("solve_max_margin-max_memory-tiny", lambda: solve_max_margin(INST, max_memory=1000), ResourceLimitError,
     "max_memory"),
    ("hebbian_recall-none", lambda: hebbian_recall(None), TypeError, "inst"),
    ("hebbian_recall-dict", lambda: hebbian_recall({"x": 1}), TypeError, "inst"),
    ("solve_two_layer-none", lambda: solve_two_layer(None, 2), TypeError, "inst"),
    ("solve_two_layer-m-zero", lambda: solve_two_layer(INST, 0), ValueError, "m"),
    ("solve_two_layer-trained-int", lambda: solve_two_layer(INST, 2, trained=1), TypeError, "trained"),
    ("solve_two_layer-C_schedule-empty", lambda: solve_two_layer(INST, 2, trained=True, C_schedule=()),
     ValueError, "C_schedule"),
    ("solve_two_layer-cert_tol-neg", lambda: solve_two_layer(INST, 2, cert_tol=-1.0), ValueError, "cert_tol"),
    # --- simulate: sweeps -------------------------------------------------------------------
    ("simulate_capacity-model", _sim(model="foo"), ValueError, "model"),
    ("simulate_capacity-device-not-torch", _sim(device="cpu"), ValueError, "device"),
    ("simulate_capacity-device-str", _sim(method="torch", device="tpu"), ValueError, "device"),
    ("simulate_capacity-model-none", _sim(model=None), TypeError, "model"),
    ("simulate_capacity-d-zero", _sim(d=0), ValueError, "d"),
    ("simulate_capacity-d-str", _sim(d="16"), TypeError, "d"),
    ("simulate_capacity-method", _sim(method="x"), ValueError, "method"),
    ("simulate_capacity-experiment", _sim(experiment="fit"), ValueError, "experiment"),
    ("simulate_capacity-embedding", _sim(embedding="cube"), ValueError, "embedding"),
    ("simulate_capacity-trials-zero", _sim(trials=0), ValueError, "trials"),
    ("simulate_capacity-trials-float", _sim(trials=2.5), ValueError, "trials"),
    ("simulate_capacity-trials-absurd", _sim(trials=10**9), ResourceLimitError, "trials"),
    ("simulate_capacity-ps-empty", _sim(ps=[]), ValueError, "ps"),
    ("simulate_capacity-ps-none", _sim(ps=None), TypeError, "ps"),
    ("simulate_capacity-ps-str", _sim(ps="6"), TypeError, "ps"),
    ("simulate_capacity-p-one", _sim(ps=[6, 1]), ValueError, "p"),
    ("simulate_capacity-p-huge", _sim(ps=[2_000_000]), ValueError, "p"),
    ("simulate_capacity-p-float", _sim(ps=[6.5]), ValueError, "p"),
    ("simulate_capacity-seed-neg", _sim(seed=-1), ValueError, "seed"),
    ("simulate_capacity-K-zero", _sim(K=0), ValueError, "K"),
    ("simulate_capacity-K-coupled", _sim(model="coupled", K=3), ValueError, "K"),
    ("simulate_capacity-m-missing", _sim(experiment="two-layer-frozen"), ValueError, "m"),
    ("simulate_capacity-m-not-used", _sim(m=3), ValueError, "m"),
    ("simulate_capacity-jobs-zero", _sim(jobs=0), ValueError, "jobs"),
    ("simulate_capacity-n_boot-neg", _sim(n_boot=-1), ValueError, "n_boot"),
    ("simulate_capacity-undecided_threshold", _sim(undecided_threshold=1.5), ValueError, "undecided_threshold"),
    ("simulate_capacity-max_memory-zero", _sim(max_memory=0), ValueError, "max_memory"),
    ("simulate_capacity-memory", _sim(d=16, ps=[40000]), ResourceLimitError, "max_memory"),
    ("estimate_thresholds-instances-zero",
     lambda: estimate_thresholds("decoupled", 4, instances=0, progress=False), ValueError, "instances"),
    ("estimate_thresholds-model",
     lambda: estimate_thresholds("foo", 4, instances=1, progress=False), ValueError, "model"),
    ("estimate_thresholds-max_memory-bool",
     lambda: estimate_thresholds("decoupled", 4, instances=1, progress=False, max_memory=True), TypeError,
     "max_memory"),
    ("estimate_thresholds-memory",
     lambda: estimate_thresholds("decoupled", 64, instances=1, progress=False, max_memory=10**6),
     ResourceLimitError, "max_memory"),
    ("find_threshold-warm_start", lambda: find_threshold("decoupled", 4, warm_start="yes"), TypeError,
     "warm_start"),
    ("find_threshold-method", lambda: find_threshold("decoupled", 4, method="simplex"), ValueError, "method"),
    ("find_threshold-p_start-neg", lambda: find_threshold("decoupled", 4, p_start=-5), ValueError, "p_start"),
    ("find_threshold-max_solves-zero", lambda: find_threshold("decoupled", 4, max_solves=0), ValueError,
     "max_solves"),
    ("find_threshold-device-not-torch", lambda: find_threshold("decoupled", 4, device="cpu"), ValueError, "device"),
    ("find_threshold-device-gpu", lambda: find_threshold("decoupled", 4, method="torch", device="gpu"), ValueError,
     "device"),
    ("estimate_thresholds-device-not-torch",
     lambda: estimate_thresholds("decoupled", 4, instances=1, progress=False, method="ldp", device="auto"),
     ValueError, "device"),
    ("estimate_thresholds-device-none-str",
     lambda: estimate_thresholds("decoupled", 4, instances=1, progress=False, method="torch", device=["cpu"]),
     TypeError, "device"),
    # --- simulate: estimation ---------------------------------------------------------------
    ("binomial_ci-k-gt-n", lambda: binomial_ci(5, 3), ValueError, "k"),
    ("binomial_ci-level", lambda: binomial_ci(1, 3, level=1.5), ValueError, "level"),
    ("summarize_points-empty", lambda: summarize_points([]), ValueError, "records"),
    ("summarize_points-str", lambda: summarize_points("abc"), TypeError, "records"),
    ("summarize_points-verdict", lambda: summarize_points([{"p": 3, "verdict": "maybe"}]), ValueError,
     "records[0]['verdict']"),
    ("fit_p50-n_boot-neg", lambda: fit_p50(summarize_points(RECORDS), n_boot=-1), ValueError, "n_boot"),
    ("fit_p50-points-none", lambda: fit_p50(None), TypeError, "points"),
    ("p50_lower_bound-empty", lambda: p50_lower_bound([]), ValueError, "records"),
    ("summarize_margins-empty", lambda: summarize_margins([], d=4), ValueError, "records"),
    ("summarize_margins-d-zero", lambda: summarize_margins([{"p": 3, "verdict": "undecided"}], d=0), ValueError,
     "d"),
    ("median_ci-level", lambda: median_ci([1, 2, 3], level=0.0), ValueError, "level"),
    ("median_ci-values-str", lambda: median_ci("abc"), TypeError, "values"),
]


def _torch_state():
    """(torch importable, a CUDA device visible)."""
    try:
        import torch
    except ImportError:
        return False, False
    return True, bool(torch.cuda.is_available())


TORCH_CALLS = [
    ("solve_feasibility", lambda dev: solve_feasibility(INST, method="torch", **dev)),
    ("run_trial", lambda dev: run_trial(_task(method="torch"), **dev)),
    ("find_threshold", lambda dev: find_threshold("decoupled", 4, method="torch", **dev)),
    ("estimate_thresholds",
     lambda dev: estimate_thresholds("decoupled", 4, instances=1, progress=False, method="torch", **dev)),
]


@pytest.mark.parametrize("call", [c[1] for c in TORCH_CALLS], ids=[c[0] for c in TORCH_CALLS])
def test_method_torch_without_torch_is_one_import_error(call, monkeypatch):
    """Without torch (blocked here as if not installed), method "torch" is an ImportError naming the method and
    the install command, raised before any work, whatever the device."""
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    for dev in ({}, {"device": "cpu"}, {"device": "cuda"}):
        with pytest.raises(ImportError) as info:
            call(dev)
        msg = str(info.value)
        assert "\n" not in msg and "`method` 'torch'" in msg and "pip install torch" in msg, msg


@pytest.mark.parametrize("call", [c[1] for c in TORCH_CALLS], ids=[c[0] for c in TORCH_CALLS])
def test_device_cuda_without_a_gpu_is_one_value_error(call):
    has_torch, has_gpu = _torch_state()
    if not has_torch or has_gpu:
        pytest.skip("needs torch and no visible GPU")
    with pytest.raises(ValueError) as info:
        call({"device": "cuda"})
    msg = str(info.value)
    assert "\n" not in msg and "`device`" in msg and "no CUDA device" in msg, msg


@pytest.mark.parametrize("call, exc, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line_naming_the_argument(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert f"`{name}`" in msg, msg


def test_the_matrix_is_large_enough():
    assert len(CASES) >= 80
    assert len({c[0] for c in CASES}) == len(CASES)
