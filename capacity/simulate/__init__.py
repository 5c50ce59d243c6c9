"""Finite-size simulator: an independent, certified check of the theory (docs/simulator.md).

Depends only on NumPy, SciPy, HiGHS and the package's bottom layer — never on
:mod:`capacity.theory` — so that it can contradict it.

- :mod:`.instances` — coupled / decoupled instances, reproducible from a seed (§1);
- :mod:`.feasibility` — certified verdicts (feasible / infeasible / undecided) (§2);
- :mod:`.margin` — the Frobenius max-margin memory, its scores and spectrum (§3);
- :mod:`.hebbian` — the correlation-matrix baseline (§4);
- :mod:`.two_layer` — two-layer memories W2 W1: frozen W1 (exact), both trained (certified when found) (§5);
- :mod:`.estimate` — binomial intervals and p50 with a bootstrap CI (§6);
- :mod:`.trial` — one trial as a function of a JSON task (what sweeps run) (§7);
- :mod:`.sweep` — capacity sweeps over a grid of p, persisted and resumable, and the
  per-p max-margin summary (§6-7).
"""
from .estimate import P50Result, PointSummary, binomial_ci, fit_p50, summarize_points
from .feasibility import FeasibilityResult, solve_feasibility
from .hebbian import HebbianResult, hebbian_recall
from .instances import EMBEDDINGS, MODELS, Instance, make_instance
from .margin import MaxMarginResult, solve_max_margin
from .nested import NestedInstance, make_nested_instance
from .sweep import CapacitySweepResult, MarginPoint, MarginSummary, simulate_capacity, summarize_margins
from .threshold import (PairedDifference, ThresholdEstimate, ThresholdSearch, estimate_thresholds, find_threshold,
                        fit_excess, median_ci, paired_difference)
from .trial import EXPERIMENTS, make_task, run_trial
from .two_layer import LowerBoundEstimate, ProjectedInstance, TwoLayerResult, p50_lower_bound, solve_two_layer

__all__ = [
    "EMBEDDINGS", "EXPERIMENTS", "MODELS",
    "FeasibilityResult", "HebbianResult", "Instance", "MaxMarginResult", "P50Result", "PointSummary",
    "binomial_ci", "fit_p50", "hebbian_recall", "make_instance", "make_task", "run_trial",
    "solve_feasibility", "solve_max_margin", "summarize_points",
    "LowerBoundEstimate", "ProjectedInstance", "TwoLayerResult", "p50_lower_bound", "solve_two_layer",
    "CapacitySweepResult", "MarginPoint", "MarginSummary", "simulate_capacity", "summarize_margins",
    "NestedInstance", "ThresholdEstimate", "ThresholdSearch", "estimate_thresholds", "find_threshold",
    "make_nested_instance", "median_ci", "PairedDifference", "paired_difference", "fit_excess",
]
