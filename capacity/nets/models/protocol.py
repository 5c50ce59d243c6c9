r"""The "≥ 99 % accuracy" protocol of machine-learning papers, on a linear associative memory (docs/accuracy.md §5).

Setting (as in Nichani, Lee & Bietti, ICLR 2025, for the linear memory): N facts x_i -> y_i,
inputs and outputs uniform on the unit sphere of R^d; a memory W (d x d) answers input x_i with
argmax_j y_j^T W x_i over all N outputs (the *coupled* memory of :mod:`capacity.simulate`); W is
trained from 0 by full-batch cross-entropy over those N logits with Adam at a fixed learning rate;
N is stored when the top-1 accuracy reaches the target (0.99).

Instances are the simulator's **nested** coupled sphere instances
(:func:`capacity.simulate.make_nested_instance` with ``embedding="sphere"``): the instance at N is
the first N items of one infinite draw per (seed, d, trial), so the protocol's binary search over N,
the certified LP threshold p* (:func:`capacity.simulate.find_threshold`) and the certified
accuracy search all see *the same facts*.

Accuracy is checked on the training logits every ``check_every`` steps and training of a model stops
at the first check with accuracy >= target; the kept W (that snapshot, else the final W) is re-scored
in float64 over all N x (N - 1) margins (:meth:`capacity.simulate.Instance.margins`), and that
re-scored accuracy alone decides.

**Batching.**  Several models (different seeds, N or learning rates) train as one padded tensor
(B, N_max, d); padded rows carry no loss and padded columns are masked out of every softmax, so each
model's loss and gradient are its own.  Every model has its own Adam parameter group (its own lr);
a model that reached the target leaves the batch.  On CPU with one thread a call is deterministic.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result
from .._torch import require_torch, resolve_device, torch_threads

__all__ = ["TARGET", "STEPS", "CHECK_EVERY", "DTYPES", "TrainProtocol", "train_to_accuracy", "top1_accuracy"]

#: accuracy a fact set must reach to count as stored (the published protocol's rule)
TARGET = 0.99
#: default Adam step budget per training run
STEPS = 2000
CHECK_EVERY = 25
DTYPES = ("float32", "float64")


def top1_accuracy(inst, W):
    """Fraction of inputs whose own target has the largest logit, in float64 (all N - 1 margins > 0).

    Examples
    --------
    >>> import numpy as np
    >>> from capacity.simulate import make_nested_instance
    >>> inst = make_nested_instance("coupled", 8, 4, embedding="sphere", seed=0)
    >>> top1_accuracy(inst, inst.y.T @ inst.x)  # the Hebbian memory sum_i y_i x_i^T
    1.0
    """
    if getattr(inst, "model", None) != "coupled":
        raise ValueError(f"`inst` must be a coupled Instance; got {getattr(inst, 'model', type(inst).__name__)!r}")
    W = np.asarray(W, dtype=float)
    if W.shape != (inst.d, inst.d):
        raise ValueError(f"`W` must have shape {(inst.d, inst.d)}; got {W.shape}")
    return float((inst.margins(W).min(axis=1) > 0).mean())


@dataclass(frozen=True)
class TrainProtocol(Result):
    """Outcome of :func:`train_to_accuracy`, one entry per model (in order).

    Attributes
    ----------
    accuracy : ndarray of float
        Top-1 accuracy of the kept W, re-scored in float64 (the verdict).
    stored : ndarray of bool
        ``accuracy >= target``.
    step_reached : ndarray of int
        First checked step at which the training accuracy reached the target (-1: never).
    train_accuracy : ndarray of float
        Training-logit accuracy at the last check of the model.
    loss : ndarray of float
        Mean cross-entropy at the model's last check.
    steps_run : ndarray of int
        Steps the model took (fewer than the budget when it reached the target earlier).
    W : ndarray (n_models, d, d)
        The kept memories, float64.
    """

    accuracy: np.ndarray
    stored: np.ndarray
    step_reached: np.ndarray
    train_accuracy: np.ndarray
    loss: np.ndarray
    steps_run: np.ndarray
    W: np.ndarray


def _iv(instances, lr, steps, target, check_every, dtype):
    if isinstance(instances, (str, bytes, dict)) or not hasattr(instances, "__iter__"):
        raise TypeError(f"`instances` must be a list of coupled Instance objects; got {type(instances).__name__}")
    instances = list(instances)
    if not instances:
        raise ValueError("`instances` must hold at least one instance; got an empty list")
    for i, inst in enumerate(instances):
        if not all(hasattr(inst, a) for a in ("x", "y", "margins", "model", "d", "p")):
            raise TypeError(f"`instances[{i}]` must be an Instance; got {type(inst).__name__}")
        if inst.model != "coupled":
            raise ValueError(f"`instances[{i}]` must be a coupled instance; got model {inst.model!r}")
        if inst.d != instances[0].d:
            raise ValueError(f"`instances` must share d; instances[{i}] has d={inst.d}, instances[0] d={instances[0].d}")
    if np.ndim(lr) == 0:
        lrs = [check_real("lr", lr, low=0.0, low_open=True, high=100.0)] * len(instances)
    else:
        lrs = [check_real("lr", v, low=0.0, low_open=True, high=100.0) for v in lr]
        if len(lrs) != len(instances):
            raise ValueError(f"`lr` must be one float or one per instance ({len(instances)}); got {len(lrs)} values")
    steps = check_int("steps", steps, low=1, high=10**7)
    target = check_real("target", target, low=0.0, low_open=True, high=1.0)
    check_every = check_int("check_every", check_every, low=1)
    if dtype not in DTYPES:
        raise ValueError(f"`dtype` must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return instances, lrs, steps, target, check_every


def train_to_accuracy(instances, *, lr, steps=STEPS, target=TARGET, check_every=CHECK_EVERY, dtype="float32",
                      device="cpu", threads=1):
    r"""Train one coupled linear memory per instance by cross-entropy + Adam until top-1 accuracy >= target.

    Parameters
    ----------
    instances : list of Instance
        Coupled instances (any N each, one d), e.g. :func:`capacity.simulate.make_nested_instance`
        with ``embedding="sphere"``.
    lr : float or sequence of float
        Adam learning rate, one for all or one per instance.
    steps : int
        Step budget per model.
    target : float in (0, 1]
        Accuracy at which a model stops and counts as stored.
    check_every : int
        Training accuracy is checked every this many steps (and at the last one).
    dtype : {"float32", "float64"}
        Training precision (the verdict is re-scored in float64).
    device : {"cpu", "cuda", "auto"}
    threads : int
        torch intra-op threads.

    Returns
    -------
    TrainProtocol

    Notes
    -----
    Loss of model b: (1/N_b) sum_i -log softmax_j(y_j^T W_b x_i)|_{j = i}, j over the model's N_b
    outputs; W_b starts at 0.

    Examples
    --------
    >>> from capacity.simulate import make_nested_instance
    >>> insts = [make_nested_instance("coupled", 8, n, embedding="sphere", seed=0) for n in (10, 60)]
    >>> train_to_accuracy(insts, lr=0.05, steps=300).stored.tolist()
    [True, False]
    """
    instances, lrs, steps, target, check_every = _iv(instances, lr, steps, target, check_every, dtype)
    torch = require_torch()
    dev = resolve_device(device)
    threads = check_int("threads", threads, low=1)
    with torch_threads(threads):
        return _train(torch, instances, lrs, steps, target, check_every, dtype, dev)


def _train(torch, instances, lrs, steps, target, check_every, dtype, dev):
    tdt = getattr(torch, dtype)
    n, d = len(instances), instances[0].d
    sizes = np.array([inst.p for inst in instances])
    n_max = int(sizes.max())
    X = np.zeros((n, n_max, d))
    Y = np.zeros((n, n_max, d))
    for b, inst in enumerate(instances):
        X[b, :inst.p], Y[b, :inst.p] = inst.x, inst.y
    X, Y = torch.as_tensor(X, dtype=tdt, device=dev), torch.as_tensor(Y, dtype=tdt, device=dev)
    rows = torch.arange(n_max, device=dev)
    valid = rows[None, :] < torch.as_tensor(sizes, device=dev)[:, None]  # (n, n_max): row/column exists
    params = [torch.zeros((d, d), dtype=tdt, device=dev, requires_grad=True) for _ in range(n)]
    opt = torch.optim.Adam([{"params": [w], "lr": float(v)} for w, v in zip(params, lrs)])
    size_t = torch.as_tensor(sizes, dtype=tdt, device=dev)

    step_reached = np.full(n, -1, dtype=np.int64)
    steps_run = np.zeros(n, dtype=np.int64)
    train_acc = np.zeros(n)
    loss_out = np.full(n, np.nan)
    snap = [None] * n
    active = np.arange(n)
    def forward(active):
        idx = torch.as_tensor(active, device=dev)
        W = torch.stack([params[b] for b in active])  # (a, d, d)
        va = valid[idx]
        S = (X[idx] @ W.transpose(1, 2)) @ Y[idx].transpose(1, 2)  # S[b, i, j] = y_j^T W x_i
        S = S.masked_fill(~va[:, None, :], -math.inf)
        own = torch.diagonal(torch.log_softmax(S, dim=2), dim1=1, dim2=2).masked_fill(~va, 0.0)
        return W, S, va, -own.sum(1) / size_t[idx]  # padded rows carry no loss

    for step in range(steps + 1):
        W, S, va, per = forward(active)
        if step % check_every == 0 or step == steps:
            with torch.no_grad():
                hit = (S.argmax(2) == rows[None, :]) & va
                acc = (hit.sum(1).to(tdt) / size_t[torch.as_tensor(active, device=dev)]).cpu().numpy().astype(float)
                ls = per.detach().cpu().numpy().astype(float)
            done = set()
            for j, b in enumerate(active):
                train_acc[b], loss_out[b], steps_run[b] = acc[j], ls[j], step
                if acc[j] >= target or step == steps:
                    step_reached[b] = step if acc[j] >= target else -1
                    snap[b] = W[j].detach().cpu().numpy().astype(np.float64)
                    done.add(b)
            if done:
                active = np.array([b for b in active if b not in done], dtype=np.int64)
                if len(active) == 0:
                    break
                W, S, va, per = forward(active)  # the models still training take this step's update
        opt.zero_grad(set_to_none=True)
        per.sum().backward()
        opt.step()
    accuracy = np.array([top1_accuracy(inst, snap[b]) for b, inst in enumerate(instances)])
    return TrainProtocol(accuracy=accuracy, stored=accuracy >= target, step_reached=step_reached,
                         train_accuracy=train_acc, loss=loss_out, steps_run=steps_run, W=np.stack(snap))
