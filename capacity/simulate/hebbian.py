"""Hebbian (correlation-matrix) baseline W_H = sum_mu y_mu x_mu^T (docs/simulator.md §4)."""
from dataclasses import dataclass

import numpy as np

from .._resources import check_memory, solve_memory
from .._validation import check_instance
from ..results import Result

__all__ = ["HebbianResult", "hebbian_recall"]


@dataclass(frozen=True, eq=False)
class HebbianResult(Result):
    """Recall of the Hebbian memory on one instance.

    :meth:`to_dict` deliberately summarises the per-input score arrays (means and
    std) instead of dumping them: it is what a sweep stores per trial.
    """

    fraction_recalled: float  # inputs whose target beats every competitor
    all_recalled: bool
    correct_scores: np.ndarray  # (p,), W_H normalised to ||W||_F = d
    max_competitor_scores: np.ndarray  # (p,)
    min_margin: float  # normalised

    def to_dict(self):
        """Scalars and summary statistics of the score arrays (JSON-ready)."""
        return {
            "fraction_recalled": float(self.fraction_recalled),
            "all_recalled": bool(self.all_recalled),
            "min_margin": float(self.min_margin),
            "mean_correct": float(self.correct_scores.mean()),
            "std_correct": float(self.correct_scores.std()),
            "mean_max_competitor": float(self.max_competitor_scores.mean()),
        }


def hebbian_recall(inst, *, max_memory=None):
    """Recall of the Hebbian memory on an instance: margins re-scored over all p K constraints.

    ``inst`` comes from :func:`~capacity.simulate.make_instance`; ``max_memory`` (bytes, default
    :func:`capacity._resources.default_memory_limit`) bounds the estimated peak, refused up front.
    """
    inst = check_instance("inst", inst)
    need = solve_memory(inst.d, inst.p, inst.K, model=getattr(inst, "model", "decoupled"), experiment="hebbian")
    check_memory(f"hebbian_recall at d = {inst.d}, p = {inst.p}, K = {inst.K}", need, max_memory)
    W = inst.y.T @ inst.x
    scale = inst.d / np.linalg.norm(W)
    m = inst.margins(W) * scale
    correct = np.einsum("pd,pd->p", inst.y, inst.x @ W.T) * scale
    recalled = (m > 0).all(axis=1)
    return HebbianResult(
        fraction_recalled=float(recalled.mean()),
        all_recalled=bool(recalled.all()),
        correct_scores=correct,
        max_competitor_scores=correct - m.min(axis=1),
        min_margin=float(m.min()),
    )
