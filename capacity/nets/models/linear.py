r"""N1 model: linear and two-layer memories trained by gradient descent (docs/nets.md, N1).

A memory W (d x d) stores association mu when its logit y_mu^T W x_mu beats every
competitor's, y_nu^T W x_mu (coupled model: the other p - 1 targets; decoupled: K
fresh competitors).  Here W is *trained*: cross-entropy over the logits of each
input, full batch, Adam (or plain gradient descent) with a fixed learning rate for a
fixed step budget, on exactly the instances of the LP simulator
(:func:`capacity.simulate.make_instance`, same seeds), so that gradient training and
the certified LP (:func:`capacity.simulate.solve_feasibility`) are compared instance
by instance.

**Stored.**  A trained memory *stores the instance* when all p K margins
(y_mu - c)^T W x_mu are > 0 (100 % top-1 train accuracy).  Accuracy is checked
every ``check_every`` steps on the training logits; the first W that separates is
kept and then re-scored in float64 by :meth:`capacity.simulate.Instance.margins` over all p K
constraints, which alone decides (the final W is re-scored too, as a fallback).
An LP-infeasible instance can therefore never be "stored": GD can only do worse
than the LP.  Training stops early once every model of the batch is stored.

**Architectures** (``arch``):

- ``"linear"``: W trained from W = 0 (the problem is convex; no randomness beyond
  the instance);
- ``"frozen"``: W = W2 W1, W1 (m x d) the simulator's frozen first layer
  (:func:`capacity.simulate.two_layer.first_layer`, restart 0, N(0, 1/d) entries),
  only W2 (d x m, from 0) trained: the same model that ``run_trial`` decides exactly
  as experiment ``"two-layer-frozen"``;
- ``"trained"``: both layers trained, W1 starting at that frozen layer, W2 at 0.

**Batching.**  Many instances of one (model, d, p) are trained as one tensor
(n_models, d, d) (two-layer: (n_models, d, m) and (n_models, m, d)); the summed loss
makes every model's gradient its own, and Adam is elementwise, so a model trained in
a batch follows the same trajectory as alone (up to the floating-point order of the
batched matmuls).

Determinism: on CPU, with the default float64 and one thread, a call is
bit-reproducible (the only randomness is the instance and W1, both drawn by NumPy
from the instance's seed).

The experiment that compares these memories with the LP and the theory is
:func:`capacity.nets.experiments.n1.run_n1`.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result
from .._torch import require_torch, resolve_device, torch_threads

__all__ = ["ARCHS", "OPTIMIZERS", "DTYPES", "STEPS", "LR_SCALE", "CHECK_EVERY", "TrainN1", "train_memories",
           "train_instances"]

ARCHS = ("linear", "frozen", "trained")
OPTIMIZERS = ("adam", "gd")
DTYPES = ("float64", "float32")

#: default step budget of :func:`train_memories` and of the N1 experiment (Adam, fixed learning rate, full batch)
STEPS = 4000
#: default learning rate LR_SCALE / d: an Adam step changes a logit y^T W x by O(lr d)
LR_SCALE = 6.0
CHECK_EVERY = 25


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainN1(Result):
    """Outcome of training a batch of memories (one entry per instance, in order).

    Attributes
    ----------
    stored : ndarray of bool
        All p K margins of the kept W > 0, re-scored in float64.
    step_stored : ndarray of int
        First checked step at which the training logits separated (-1: never).
    min_margin : ndarray of float
        Smallest float64 margin of the kept W (the separating snapshot, else the final W).
    kappa_hat : ndarray of float
        Normalised margin min_margin / (||W||_F / d) (the LP engine's units).
    loss : ndarray of float
        Mean cross-entropy of each model at the last step taken.
    steps_run : int
        Steps taken (less than the budget when every model was stored earlier).
    checkpoint_steps : ndarray of int
        Steps at which ``checkpoint_kappa`` / ``checkpoint_loss`` were recorded.
    checkpoint_kappa, checkpoint_loss : ndarray (n_checkpoints, n_models)
        Normalised min margin and loss on the training logits (NaN: not reached,
        the batch stopped early).
    W : ndarray (n_models, d, d)
        The kept memories (two-layer: the product W2 W1), float64.
    """

    stored: np.ndarray
    step_stored: np.ndarray
    min_margin: np.ndarray
    kappa_hat: np.ndarray
    loss: np.ndarray
    steps_run: int
    checkpoint_steps: np.ndarray
    checkpoint_kappa: np.ndarray
    checkpoint_loss: np.ndarray
    W: np.ndarray


def _default_checkpoints(steps):
    return sorted({max(1, steps // 64), max(1, steps // 16), max(1, steps // 4), max(1, steps // 2), steps})


def _train_iv(instances, arch, m, steps, lr, optimizer, check_every, checkpoints, dtype):
    if isinstance(instances, (str, bytes, dict)) or not hasattr(instances, "__iter__"):
        raise TypeError(f"`instances` must be a list of Instance objects; got {type(instances).__name__}")
    instances = list(instances)
    if not instances:
        raise ValueError("`instances` must hold at least one instance; got an empty list")
    first = instances[0]
    for i, inst in enumerate(instances):
        if not all(hasattr(inst, a) for a in ("x", "y", "margins", "model", "d", "p", "K")):
            raise TypeError(f"`instances[{i}]` must be an Instance (make_instance); got {type(inst).__name__}")
        if (inst.model, inst.d, inst.p, inst.K) != (first.model, first.d, first.p, first.K):
            raise ValueError(
                f"`instances` must share model, d, p and K; instances[{i}] has {(inst.model, inst.d, inst.p, inst.K)}"
                f", instances[0] {(first.model, first.d, first.p, first.K)}")
    if arch not in ARCHS:
        raise ValueError(f"`arch` must be one of {', '.join(ARCHS)}; got {arch!r}")
    if arch == "linear":
        if m is not None:
            raise ValueError(f"`m` is only used by the two-layer archs 'frozen' and 'trained'; "
                             f"got m={m!r} for 'linear'")
    else:
        if m is None:
            raise ValueError(f"`m` (hidden width, an int >= 1) is required for arch {arch!r}; got None")
        m = check_int("m", m, low=1, high=4096)
    steps = check_int("steps", steps, low=1, high=10**7)
    lr = LR_SCALE / first.d if lr is None else check_real("lr", lr, low=0.0, low_open=True)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    check_every = check_int("check_every", check_every, low=1)
    if checkpoints is None:
        checkpoints = _default_checkpoints(steps)
    else:
        checkpoints = sorted({check_int("checkpoints", c, low=1, high=steps) for c in checkpoints})
    if dtype not in DTYPES:
        raise ValueError(f"`dtype` must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return instances, m, steps, lr, check_every, checkpoints


def _candidates(inst):
    """Decoupled: [y_mu, z_mu1..z_muK] per input, array (p, K + 1, d)."""
    comps = np.concatenate([inst.competitor_block(b) for b in range(inst.n_blocks())], axis=0)
    return np.concatenate([inst.y[:, None, :], comps], axis=1)


def train_memories(instances, *, arch="linear", m=None, steps=STEPS, lr=None, optimizer="adam",
                   check_every=CHECK_EVERY, checkpoints=None, device="cpu", dtype="float64", threads=1):
    r"""Train one memory per instance, all in one batch, by full-batch cross-entropy.

    Parameters
    ----------
    instances : list of Instance
        From :func:`capacity.simulate.make_instance`; all with the same model, d, p, K.
    arch : {"linear", "frozen", "trained"}
        See the module docstring.
    m : int, optional
        Hidden width of the two-layer archs (required there, not allowed for "linear").
    steps : int
        Step budget.
    lr : float, optional
        Learning rate (fixed); default LR_SCALE / d = 6 / d.
    optimizer : {"adam", "gd"}
        ``torch.optim.Adam`` (default betas) or plain gradient descent.
    check_every : int
        Accuracy is checked (and separating snapshots kept) every this many steps
        and at the last step.
    checkpoints : sequence of int, optional
        Steps at which the normalised margin and loss are recorded; default
        steps / 64, / 16, / 4, / 2 and steps.
    device : {"cpu", "cuda", "auto"}
    dtype : {"float64", "float32"}
        Training precision; the verdict is always re-scored in float64.
    threads : int
        torch intra-op threads during training.

    Returns
    -------
    TrainN1

    Notes
    -----
    Loss of model b: (1/p) sum_mu -log softmax_c(s_c)|_{c = y_mu}, with logits
    s_c = c^T W_b x_mu over the p targets (coupled) or over y_mu and its K
    competitors (decoupled).  Stored = every margin > 0 (docs/nets.md, N1).

    Examples
    --------
    >>> from capacity.simulate import make_instance
    >>> insts = [make_instance("coupled", 8, 6, seed=0, trial=t) for t in range(3)]
    >>> train_memories(insts, steps=200).stored.tolist()
    [True, True, True]
    """
    instances, m, steps, lr, check_every, checkpoints = _train_iv(
        instances, arch, m, steps, lr, optimizer, check_every, checkpoints, dtype)
    torch = require_torch()
    dev = resolve_device(device)
    threads = check_int("threads", threads, low=1)
    with torch_threads(threads):
        return _train(torch, instances, arch, m, steps, lr, optimizer, check_every, checkpoints, dev, dtype)


def _train(torch, instances, arch, m, steps, lr, optimizer, check_every, checkpoints, dev, dtype):
    from ...simulate.two_layer import first_layer

    tdt = getattr(torch, dtype)
    first = instances[0]
    n, d, p, model = len(instances), first.d, first.p, first.model

    def tens(a):
        return torch.as_tensor(np.asarray(a), dtype=tdt, device=dev)

    X = tens(np.stack([inst.x for inst in instances]))  # (n, p, d)
    if model == "coupled":
        C = tens(np.stack([inst.y for inst in instances]))  # (n, p, d): logits over the p targets
        target = torch.arange(p, device=dev).repeat(n)
    else:
        C = tens(np.stack([_candidates(inst) for inst in instances]))  # (n, p, K + 1, d)
        target = torch.zeros(n * p, dtype=torch.long, device=dev)
    n_cls = p if model == "coupled" else first.K + 1

    if arch == "linear":
        W = torch.zeros((n, d, d), dtype=tdt, device=dev, requires_grad=True)
        params = [W]

        def product():
            return W
    else:
        W1_init = tens(np.stack([first_layer(inst, m) for inst in instances]))  # (n, m, d)
        W2 = torch.zeros((n, d, m), dtype=tdt, device=dev, requires_grad=True)
        W1 = W1_init.clone().requires_grad_(arch == "trained")
        params = [W2, W1] if arch == "trained" else [W2]

        def product():
            return W2 @ W1

    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)

    def logits_of(Wt):
        V = X @ Wt.transpose(1, 2)  # (n, p, d): rows W x_mu
        if model == "coupled":
            return V @ C.transpose(1, 2)  # (n, p, p): [mu, nu] = y_nu^T W x_mu
        return torch.einsum("npkd,npd->npk", C, V)  # (n, p, K + 1)

    eye = torch.eye(n_cls, dtype=torch.bool, device=dev) if model == "coupled" else None
    stored_step = np.full(n, -1, dtype=np.int64)
    snap = [None] * n
    ck_index = {s: i for i, s in enumerate(checkpoints)}
    ck_kappa = np.full((len(checkpoints), n), np.nan)
    ck_loss = np.full((len(checkpoints), n), np.nan)
    losses = np.full(n, np.nan)
    steps_run = 0
    for step in range(steps + 1):  # step = number of updates taken so far
        opt.zero_grad(set_to_none=True)
        Wt = product()
        S = logits_of(Wt)
        per = torch.nn.functional.cross_entropy(S.reshape(n * p, n_cls), target, reduction="none").view(n, p).mean(1)
        check = step % check_every == 0 or step == steps or step in ck_index
        if check:
            with torch.no_grad():
                if model == "coupled":
                    correct = torch.diagonal(S, dim1=1, dim2=2)
                    other = S.masked_fill(eye, -math.inf).amax(2)
                else:
                    correct, other = S[..., 0], S[..., 1:].amax(2)
                mmin = (correct - other).amin(1)
                norm = torch.linalg.matrix_norm(Wt)
                mm = mmin.cpu().numpy().astype(float)
                nrm = norm.cpu().numpy().astype(float)
                losses = per.detach().cpu().numpy().astype(float)
                if step in ck_index:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ck_kappa[ck_index[step]] = np.where(nrm > 0, mm * d / nrm, np.nan)
                    ck_loss[ck_index[step]] = losses
                new = np.flatnonzero((mm > 0) & (stored_step < 0))
                if len(new):
                    Wc = Wt.detach().cpu().numpy().astype(np.float64)
                    for b in new:
                        stored_step[b] = step
                        snap[b] = Wc[b].copy()
            steps_run = step
            if step == steps or np.all(stored_step >= 0):
                break
        per.sum().backward()
        opt.step()
    W_final = product().detach().cpu().numpy().astype(np.float64)
    stored = np.zeros(n, dtype=bool)
    min_margin = np.empty(n)
    kappa_hat = np.empty(n)
    W_kept = np.empty((n, d, d))
    for b, inst in enumerate(instances):
        candidates = ([snap[b]] if snap[b] is not None else []) + [W_final[b]]
        for Wb in candidates:  # the separating snapshot, then the final W
            mg = float(inst.margins(Wb).min())
            if mg > 0 or Wb is candidates[-1]:
                break
        stored[b] = mg > 0
        min_margin[b] = mg
        nrm = float(np.linalg.norm(Wb))
        kappa_hat[b] = mg * d / nrm if nrm > 0 else math.nan
        W_kept[b] = Wb
    return TrainN1(stored=stored, step_stored=stored_step, min_margin=min_margin, kappa_hat=kappa_hat,
                       loss=losses, steps_run=int(steps_run), checkpoint_steps=np.array(checkpoints),
                       checkpoint_kappa=ck_kappa, checkpoint_loss=ck_loss, W=W_kept)


def train_instances(model, d, p, trials, *, seed=0, **kwargs):
    """Make the simulator's instances ``trials`` (an iterable of trial indices) and train them in one batch.

    Examples
    --------
    >>> train_instances("coupled", 8, 40, range(2), seed=0, steps=100).stored.tolist()
    [False, False]
    """
    from ...simulate.instances import make_instance

    insts = [make_instance(model, d, p, seed=seed, trial=t) for t in trials]
    return train_memories(insts, **kwargs)

