r"""Mechanism probes of the N4 geometric-recall model (spec/nets.md N4, issue 7 item 2).

After Ravfogel, Yehudai, Bruna, Bietti, "Geometric Factual Recall in Transformers",
arXiv:2605.12426 (only the abstract was available): a model with learned subject embeddings is
said to store facts *geometrically* — e(s) a superposition of the subject's attribute vectors,
an MLP that selects (gates) the queried relation, a mechanism that transfers to new facts.  The
probes below test each statement on the N4 model of :mod:`capacity.nets.geometric`
(logits = U W2 relu(W1 [e(s); e(r)] + b1), U fixed).  Every choice is ours.

Attribute vectors
    the attribute a is represented by the row U_a of the fixed unembedding (the vector the model
    must point its output at); the attribute features of subject s are the concatenation
    x(s) = [U_{pi_1(s)}; ...; U_{pi_R(s)}] in R^{R d} (:func:`attribute_features`).
1. Superposition (:func:`heldout_r2`)
    ridge regression e(s) ~ x(s) (with intercept; ridge penalty chosen inside each training fold
    by exact leave-one-out from the grid :data:`RIDGE_GRID` times the mean squared singular value),
    K-fold cross-validation over subjects (K = 5), held-out R^2 = 1 - SS_res / SS_tot pooled
    over folds and the d coordinates, SS_tot about the training-fold mean.  Controls: the same
    regression on the features of a random *other* subject (shuffled bijections: x(sigma(s)) with
    sigma a random derangement), on the initial (untrained) embeddings, and of the frozen-embedding
    model's e(s) on its own U (differs from the initial control only when U is trained).  Per relation: the
    same R^2 with only U_{pi_r(s)} as features.
2. MLP gating (:func:`gating_overlap`)
    active set of a query (s, r) = the ReLU units with positive pre-activation; mean Jaccard
    index of the active sets over query pairs with the same relation (different subjects),
    different relations (different subjects), and the same subject (different relations).
    Gating by relation shows as within >> between.  Controls: the initial model and the
    trained frozen-embedding model.
3. Causal swap (:func:`swap_test`)
    with the superposition fit e(s) ~ x(s) W + c on all subjects and W_r the (d x d) block of W
    acting on relation r's attribute, replace relation r's component:
    e' = e(s) + (U_{pi_r(s')} - U_{pi_r(s)}) W_r, s' = sigma(s) a random derangement.  Measured:
    the fraction of queries (e', r) answered pi_r(s') ("follows s'"), and of (e', r'), r' != r,
    still answered pi_{r'}(s) ("others kept").  Control: e(s) + a random direction of the same
    norm as the change.  Full swap: e' = e(s') (trivially the model's accuracy on s') against a
    random vector of the norm of e(s').
4. Zero-shot transfer (:func:`transfer_accuracy`, :func:`refit_embeddings`)
    freeze the trained MLP, relation embeddings and U; draw N *new* subjects with new bijections
    (stream ``(seed, N, R, 7)``); set their embeddings to the fitted superposition x_new(s) W + c
    (W, c fitted on the old subjects); accuracy on the new facts against chance 1/N and against
    the same procedure with the untrained (initial) MLP and with the trained frozen-embedding
    model.  Ceiling: the old subjects' own fitted embeddings on the old facts.  Refit curves:
    train only the new subjects' embeddings (Adam, the training lr), accuracy against step, from
    a N(0, I/d) start with the trained MLP, the untrained MLP and the MLP of the trained
    frozen-embedding model (a trained MLP that stored the facts without geometric embeddings),
    and from the fitted superposition with the trained MLP.

:func:`run_probes` trains, per setting (N, R, d, h) and seed, the learned model and the frozen
control (:func:`capacity.nets.geometric.train_facts`, the full step budget, no early stop) and
runs all probes as one task of :func:`capacity.sweeps.run_sweep` (persisted, resumable).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int, check_real
from ._torch import DEVICES, require_torch, resolve_device, seeded_generator, torch_threads
from .geometric import LR, build_model, fact_queries, train_facts

try:  # the unembedding option of the N4 model (a fixed random U unless asked otherwise)
    from .geometric import UNEMBEDDINGS
except ImportError:  # pragma: no cover - older geometric.py
    UNEMBEDDINGS = ("fixed",)

__all__ = [
    "RIDGE_GRID", "DEFAULT_SETTINGS", "attribute_features", "fit_superposition", "heldout_r2", "jaccard",
    "gating_overlap", "swap_test", "transfer_accuracy", "refit_embeddings", "new_facts", "probe_task",
    "run_probe_task", "METRICS", "REFIT_CURVES", "ProbesResult", "run_probes",
]

EXPERIMENT = "nets-probes"
#: ridge penalties tried, in units of the mean squared singular value of the centred features
RIDGE_GRID = (0.0, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
N_FOLDS = 5
STEPS = 1000
REFIT_STEPS = 300
REFIT_EVERY = 10
#: (N, R, d, h): narrow MLP (h = 16) where learned e(s) beat frozen ones in N4 (learned d* = 11, frozen d* = 34
#: at (128, 2), 25 at (64, 4); learned 21, frozen 61 at (128, 4)), d a bit above the learned d*; and the wide-MLP
#: contrast h = 64 at (128, 2), where N4 found learned and frozen e(s) equally good
DEFAULT_SETTINGS = ((128, 2, 16, 16), (64, 4, 16, 16), (128, 4, 24, 16), (128, 2, 16, 64))
QUICK_SETTINGS = ((16, 2, 8, 16),)
#: embedding-only refit curves: trained MLP, untrained MLP, frozen-e(s) trained MLP (N(0, I/d) start each) and
#: trained MLP from the fitted superposition
REFIT_CURVES = ("refit_trained", "refit_init", "refit_frozen", "refit_trained_fitted")


# --------------------------------------------------------------------------------------
# Regression
# --------------------------------------------------------------------------------------
def _as_matrix(name, a, n=None):
    a = np.asarray(a.detach().cpu().double().numpy() if hasattr(a, "detach") else a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1 or not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be a finite (n, k) array with n >= 2; got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"`{name}` must have one row per subject ({n}); got {a.shape[0]} rows")
    return a


def attribute_features(unembed, facts, relations=None):
    """x(s) = [U_{pi_r(s)} for r in relations] concatenated: an (N, len(relations) d) array.

    Examples
    --------
    >>> import numpy as np
    >>> attribute_features(np.eye(3), np.array([[2, 0, 1], [0, 1, 2]])).shape
    (3, 6)
    """
    U = _as_matrix("unembed", unembed)
    facts = np.asarray(facts)
    if facts.ndim != 2 or facts.min(initial=0) < 0 or facts.max(initial=0) >= len(U):
        raise ValueError(f"`facts` must be an (R, N) table of attribute indices < {len(U)}; got shape {facts.shape}")
    rels = range(facts.shape[0]) if relations is None else list(relations)
    return np.concatenate([U[facts[r]] for r in rels], axis=1)


def _ridge_path(X, Y, lambdas):
    """Centred ridge fits for every penalty; returns (coefs, loo_sse) (LOO residuals in closed form)."""
    xm, ym = X.mean(0), Y.mean(0)
    Xc, Yc = X - xm, Y - ym
    Us, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    n = len(X)
    scale = float(np.mean(S ** 2)) if S.size else 1.0
    tol = S.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    UtY = Us.T @ Yc
    coefs, sse = [], []
    for lam in lambdas:
        lam = lam * scale
        if lam == 0.0:
            shrink = np.where(S > tol, 1.0 / np.where(S > tol, S, 1.0), 0.0)
            lev = np.where(S > tol, 1.0, 0.0)
        else:
            shrink = S / (S ** 2 + lam)
            lev = S ** 2 / (S ** 2 + lam)
        coef = Vt.T @ (shrink[:, None] * UtY)
        h = (Us ** 2) @ lev + 1.0 / n
        res = Yc - Xc @ coef
        with np.errstate(divide="ignore", invalid="ignore"):
            loo = np.where((1.0 - h)[:, None] > 1e-9, res / (1.0 - h)[:, None], np.inf)
        coefs.append(coef)
        sse.append(float(np.sum(loo ** 2)))
    return coefs, sse, xm, ym


def fit_superposition(embeddings, attributes, *, lambdas=RIDGE_GRID):
    """Ridge fit e ~ x W + c, penalty chosen by exact leave-one-out; returns (W, c, penalty).

    ``W`` is (p, d), ``c`` (d,), ``penalty`` the chosen entry of ``lambdas`` (relative to the
    mean squared singular value of the centred ``attributes``).
    """
    Y = _as_matrix("embeddings", embeddings)
    X = _as_matrix("attributes", attributes, n=len(Y))
    lambdas = _lambdas_iv(lambdas)
    coefs, sse, xm, ym = _ridge_path(X, Y, lambdas)
    i = int(np.argmin(sse))
    W = coefs[i]
    return W, ym - xm @ W, lambdas[i]


def _lambdas_iv(lambdas):
    lam = [check_real("lambdas", v, low=0.0) for v in lambdas]
    if not lam:
        raise ValueError("`lambdas` must hold at least one penalty >= 0; got an empty sequence")
    return lam


def heldout_r2(embeddings, attributes, *, n_folds=N_FOLDS, seed=0, lambdas=RIDGE_GRID):
    r"""Cross-validated R^2 of the ridge regression e(s) ~ x(s) (subjects split into ``n_folds`` folds).

    R^2 = 1 - sum ||e - \hat e||^2 / sum ||e - \bar e_train||^2 over the held-out subjects of
    every fold (pooled over the d coordinates); the penalty is chosen inside each training fold
    by leave-one-out.  About 1 when e is a linear function of x, about 0 (or below) when e is
    unrelated to x.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> round(heldout_r2(X @ np.ones((4, 2)), X), 6)
    1.0
    """
    Y = _as_matrix("embeddings", embeddings)
    X = _as_matrix("attributes", attributes, n=len(Y))
    n = len(Y)
    n_folds = check_int("n_folds", n_folds, low=2, high=n // 2)
    seed = check_int("seed", seed, low=0)
    lambdas = _lambdas_iv(lambdas)
    order = np.random.default_rng([seed, n, 5]).permutation(n)
    ss_res = ss_tot = 0.0
    for fold in np.array_split(order, n_folds):
        train = np.setdiff1d(order, fold)
        coefs, sse, xm, ym = _ridge_path(X[train], Y[train], lambdas)
        W = coefs[int(np.argmin(sse))]
        pred = (X[fold] - xm) @ W + ym
        ss_res += float(np.sum((Y[fold] - pred) ** 2))
        ss_tot += float(np.sum((Y[fold] - ym) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


# --------------------------------------------------------------------------------------
# Gating
# --------------------------------------------------------------------------------------
def jaccard(a, b):
    """Jaccard index |a ∩ b| / |a ∪ b| of two boolean masks of the same length (1.0 when both are empty).

    Examples
    --------
    >>> jaccard([True, True, False], [True, False, True])
    0.3333333333333333
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != bool or b.dtype != bool or a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"`a` and `b` must be boolean 1-D masks of equal length; got {a.dtype} {a.shape} and "
                         f"{b.dtype} {b.shape}")
    union = int(np.sum(a | b))
    return 1.0 if union == 0 else int(np.sum(a & b)) / union


def gating_overlap(active, subjects, relations):
    """Mean Jaccard index of active-unit sets over query pairs, by relation and subject.

    Parameters
    ----------
    active : (Q, h) bool array
        Active ReLU units of each query.
    subjects, relations : (Q,) int arrays
        The query's subject and relation.

    Returns
    -------
    dict
        ``within`` (same relation, different subjects), ``between`` (different relations and
        subjects), ``same_subject`` (same subject, different relations; NaN when R = 1),
        ``active_fraction`` (mean fraction of active units), ``relation_selective``: the
        fraction of units whose firing rate differs by more than 0.5 between some two relations.
    """
    A = np.asarray(active)
    if A.dtype != bool or A.ndim != 2 or len(A) < 2:
        raise ValueError(f"`active` must be a (Q, h) boolean array with Q >= 2; got {A.dtype} {A.shape}")
    s, r = np.asarray(subjects), np.asarray(relations)
    if s.shape != (len(A),) or r.shape != (len(A),):
        raise ValueError(f"`subjects` and `relations` must have one entry per query ({len(A)}); got {s.shape}, "
                         f"{r.shape}")
    F = A.astype(float)
    inter = F @ F.T
    cnt = F.sum(1)
    union = cnt[:, None] + cnt[None, :] - inter
    J = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 1.0)
    same_r, same_s = r[:, None] == r[None, :], s[:, None] == s[None, :]

    def mean(mask):
        return float(J[mask].mean()) if mask.any() else float("nan")

    rates = np.stack([F[r == rr].mean(0) for rr in np.unique(r)])
    return {"within": mean(same_r & ~same_s), "between": mean(~same_r & ~same_s),
            "same_subject": mean(~same_r & same_s),
            "active_fraction": float(F.mean()), "relation_selective": float(np.mean(np.ptp(rates, axis=0) > 0.5))}


# --------------------------------------------------------------------------------------
# Forward pass with replaced subject embeddings
# --------------------------------------------------------------------------------------
def _parts(model, E, relations):
    """Hidden activations and logits of the N4 model for embedding rows ``E`` (one per query)."""
    torch = require_torch()
    x = torch.cat((E, model.emb_relation[relations]), dim=-1)
    h = torch.relu(x @ model.w1.T + model.b1)
    return h, (h @ model.w2.T) @ model.unembed.T


def _predict(model, E, relations):
    torch = require_torch()
    with torch.no_grad():
        return _parts(model, E, relations)[1].argmax(-1).cpu().numpy()


def _tensor(model, a):
    torch = require_torch()
    return torch.as_tensor(np.asarray(a), dtype=model.unembed.dtype, device=model.unembed.device)


def _index(model, a):
    torch = require_torch()
    return torch.as_tensor(np.asarray(a), dtype=torch.long, device=model.unembed.device)


def _model_arrays(model):
    U = model.unembed.detach().cpu().double().numpy()
    E = model.emb_subject.detach().cpu().double().numpy()
    return U, E


def _facts_iv(facts, model):
    facts = np.asarray(facts)
    n = model.unembed.shape[0]
    ok = facts.ndim == 2 and facts.shape[0] == model.emb_relation.shape[0] and facts.shape[1] == n
    if not ok or not all(np.array_equal(np.sort(f), np.arange(n)) for f in facts):
        raise ValueError(f"`facts` must be an (n_relations, n_subjects) table of bijections of 0..{n - 1} matching "
                         f"the model; got shape {facts.shape}")
    return facts.astype(np.int64)


def _derangement(rng, n):
    while True:
        p = rng.permutation(n)
        if not np.any(p == np.arange(n)):
            return p


def swap_test(model, facts, *, seed=0, lambdas=RIDGE_GRID):
    """Causal swap of relation r's superposition component (module docstring, probe 3).

    Returns a dict of fractions over all (s, r): ``component_follow`` / ``component_stay``
    (answer pi_r(s') / still pi_r(s)), ``component_others_kept`` (queries (e', r'), r' != r,
    still answered pi_{r'}(s); NaN when R = 1), the same three for the random-direction control
    (``random_*``), ``full_follow`` (e(s) -> e(s')) and ``full_random_follow`` (a random vector
    of the norm of e(s')), and ``fit_penalty``.
    """
    facts = _facts_iv(facts, model)
    seed = check_int("seed", seed, low=0)
    R, N = facts.shape
    U, E = _model_arrays(model)
    d = U.shape[1]
    X = attribute_features(U, facts)
    W, _, lam = fit_superposition(E, X, lambdas=lambdas)
    rng = np.random.default_rng([seed, N, R, d, 11])
    sp = _derangement(rng, N)
    out = {"fit_penalty": lam}
    acc = {k: [] for k in ("component_follow", "component_stay", "component_others_kept", "random_follow",
                           "random_stay", "random_others_kept")}
    subj = np.arange(N)
    for r in range(R):
        Wr = W[r * d:(r + 1) * d]
        delta = (U[facts[r, sp]] - U[facts[r]]) @ Wr
        g = rng.normal(size=delta.shape)
        rand = g / np.linalg.norm(g, axis=1, keepdims=True) * np.linalg.norm(delta, axis=1, keepdims=True)
        for name, dE in (("component", delta), ("random", rand)):
            Enew = _tensor(model, E + dE)
            pred = _predict(model, Enew, _index(model, np.full(N, r)))
            acc[f"{name}_follow"].append(np.mean(pred == facts[r, sp]))
            acc[f"{name}_stay"].append(np.mean(pred == facts[r]))
            for r2 in range(R):
                if r2 != r:
                    p2 = _predict(model, Enew, _index(model, np.full(N, r2)))
                    acc[f"{name}_others_kept"].append(np.mean(p2 == facts[r2, subj]))
    for k, v in acc.items():
        out[k] = float(np.mean(v)) if v else float("nan")
    # full swap: e(s) -> e(s'), and a random vector of the norm of e(s')
    g = rng.normal(size=E.shape)
    rand_full = g / np.linalg.norm(g, axis=1, keepdims=True) * np.linalg.norm(E[sp], axis=1, keepdims=True)
    full, rfull = [], []
    for r in range(R):
        rel = _index(model, np.full(N, r))
        full.append(np.mean(_predict(model, _tensor(model, E[sp]), rel) == facts[r, sp]))
        rfull.append(np.mean(_predict(model, _tensor(model, rand_full), rel) == facts[r, sp]))
    out["full_follow"], out["full_random_follow"] = float(np.mean(full)), float(np.mean(rfull))
    return out


# --------------------------------------------------------------------------------------
# Transfer
# --------------------------------------------------------------------------------------
def new_facts(n_subjects, n_relations, *, seed=0):
    """The new subjects' bijections for the transfer probe: stream ``(seed, N, R, 7)`` (independent of make_facts)."""
    n = check_int("n_subjects", n_subjects, low=2, high=10**6)
    r = check_int("n_relations", n_relations, low=1, high=10**4)
    seed = check_int("seed", seed, low=0)
    rng = np.random.default_rng([seed, n, r, 7])
    return np.stack([rng.permutation(n) for _ in range(r)]).astype(np.int64)


def _accuracy(model, E, facts):
    s, r, a = fact_queries(facts)
    pred = _predict(model, _tensor(model, np.asarray(E))[_index(model, s)], _index(model, r))
    return float(np.mean(pred == a))


def transfer_accuracy(model, facts, new, *, lambdas=RIDGE_GRID):
    """Zero-shot accuracy on the ``new`` facts of embeddings set to the superposition fitted on ``facts``.

    Returns dict(``new`` = accuracy on the new facts, ``fitted_old`` = accuracy of the old
    subjects' own fitted embeddings on the old facts (the linear fit's ceiling), ``penalty``).
    """
    facts = _facts_iv(facts, model)
    new = _facts_iv(new, model)
    U, E = _model_arrays(model)
    W, c, lam = fit_superposition(E, attribute_features(U, facts), lambdas=lambdas)
    E_new = attribute_features(U, new) @ W + c
    E_old = attribute_features(U, facts) @ W + c
    return {"new": _accuracy(model, E_new, new), "fitted_old": _accuracy(model, E_old, facts), "penalty": lam}


def refit_embeddings(model, facts, *, init=None, steps=REFIT_STEPS, lr=LR, check_every=REFIT_EVERY, seed=0):
    """Train only subject embeddings (everything else frozen) on ``facts``; return (check_steps, accuracies).

    ``init``: (N, d) starting embeddings; default N(0, I/d) drawn from ``seeded_generator((seed, N, R, d, 9))``.
    Full batch, Adam (``lr``), cross-entropy; the accuracy is checked every ``check_every`` steps and at the end.
    """
    facts = _facts_iv(facts, model)
    steps = check_int("steps", steps, low=0, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    check_every = check_int("check_every", check_every, low=1, high=10**7)
    seed = check_int("seed", seed, low=0)
    torch = require_torch()
    R, N = facts.shape
    d = model.unembed.shape[1]
    if init is None:
        g = seeded_generator((seed, N, R, d, 9))
        init = torch.randn(N, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    else:
        init = torch.as_tensor(_as_matrix("init", init, n=N))
        if init.shape[1] != d:
            raise ValueError(f"`init` must be (n_subjects, d) = ({N}, {d}); got {tuple(init.shape)}")
    E = torch.nn.Parameter(init.to(dtype=model.unembed.dtype, device=model.unembed.device).clone())
    s, r, a = (_index(model, v) for v in fact_queries(facts))
    opt = torch.optim.Adam([E], lr=lr)
    params = [p for p in model.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    ck, acc = [], []
    try:
        for step in range(steps + 1):
            logits = _parts(model, E[s], r)[1]
            if step % check_every == 0 or step == steps:
                ck.append(step)
                acc.append(float((logits.argmax(-1) == a).double().mean()))
            if step == steps:
                break
            loss = torch.nn.functional.cross_entropy(logits, a)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
    return ck, acc


# --------------------------------------------------------------------------------------
# One probe run (one task)
# --------------------------------------------------------------------------------------
def probe_task(n_subjects, n_relations, d, *, width, seed, steps=STEPS, lr=LR, refit_steps=REFIT_STEPS,
               n_folds=N_FOLDS, device="cpu", unembedding="fixed"):
    """The task dict of one (setting, seed) probe run; its JSON is the store key."""
    if unembedding not in UNEMBEDDINGS:
        raise ValueError(f"`unembedding` must be one of {', '.join(map(repr, UNEMBEDDINGS))}; got {unembedding!r}")
    extra = {} if unembedding == "fixed" else {"unembedding": unembedding}
    return {**extra, "experiment": EXPERIMENT, "kind": "probes",
            "n_subjects": check_int("n_subjects", n_subjects, low=2 * N_FOLDS, high=10**5),
            "n_relations": check_int("n_relations", n_relations, low=1, high=10**3),
            "d": check_int("d", d, low=1, high=10**4), "width": check_int("width", width, low=1, high=10**5),
            "seed": check_int("seed", seed, low=0), "steps": check_int("steps", steps, low=1, high=10**7),
            "lr": check_real("lr", lr, low=0.0, low_open=True, high=10.0),
            "refit_steps": check_int("refit_steps", refit_steps, low=0, high=10**7),
            "refit_every": REFIT_EVERY, "n_folds": check_int("n_folds", n_folds, low=2, high=100),
            "ridge_grid": list(RIDGE_GRID), "device": str(device)}


def _hidden_active(model, E, facts):
    s, r, _ = fact_queries(facts)
    torch = require_torch()
    with torch.no_grad():
        h = _parts(model, _tensor(model, E)[_index(model, s)], _index(model, r))[0]
    return h.cpu().numpy() > 0, s, r


def run_probe_task(task):
    """Train the learned and frozen models of one (setting, seed) and run every probe (picklable)."""
    require_torch()
    N, R, d, h, seed = task["n_subjects"], task["n_relations"], task["d"], task["width"], task["seed"]
    nf, grid = task["n_folds"], task["ridge_grid"]
    with torch_threads(1):
        ue = task.get("unembedding", "fixed")
        kw = dict(width=h, steps=task["steps"], lr=task["lr"], seed=seed, device=task["device"], stop_at=None)
        if ue != "fixed":
            kw["unembedding"] = ue
        t = train_facts(N, R, d, **kw)
        tf = train_facts(N, R, d, frozen_subjects=True, **kw)
        init = build_model(N, R, d, width=h, seed=seed, device=task["device"], **({} if ue == "fixed" else
                                                                                  {"unembedding": ue}))
        facts = t.facts
        U, E = _model_arrays(t.model)
        E0 = _model_arrays(init)[1]
        Uf, Ef = _model_arrays(tf.model)
        rng = np.random.default_rng([seed, N, R, d, 13])
        X = attribute_features(U, facts)
        Xs = X[_derangement(rng, N)]
        out = {"acc_learned": t.accuracy, "acc_frozen": tf.accuracy, "loss_learned": t.final_loss,
               "loss_frozen": tf.final_loss, "chance": 1.0 / N,
               "r2_trained": heldout_r2(E, X, n_folds=nf, seed=seed, lambdas=grid),
               "r2_shuffled": heldout_r2(E, Xs, n_folds=nf, seed=seed, lambdas=grid),
               "r2_init": heldout_r2(E0, X, n_folds=nf, seed=seed, lambdas=grid),
               "r2_frozen": heldout_r2(Ef, attribute_features(Uf, facts), n_folds=nf, seed=seed, lambdas=grid),
               "r2_per_relation": [heldout_r2(E, attribute_features(U, facts, [r]), n_folds=nf, seed=seed,
                                              lambdas=grid) for r in range(R)]}
        for name, m in (("trained", t.model), ("init", init), ("frozen", tf.model)):
            act, s, r = _hidden_active(m, _model_arrays(m)[1], facts)
            g = gating_overlap(act, s, r)
            g["gap"] = g["within"] - g["between"]
            for k, v in g.items():
                out[f"gate_{name}_{k}"] = v
        for k, v in swap_test(t.model, facts, seed=seed, lambdas=grid).items():
            out[f"swap_{k}"] = v
        new = new_facts(N, R, seed=seed)
        for name, m in (("trained", t.model), ("init", init), ("frozen", tf.model)):
            for k, v in transfer_accuracy(m, facts, new, lambdas=grid).items():
                out[f"transfer_{name}_{k}"] = v
        W, c, _ = fit_superposition(E, X, lambdas=grid)
        E_fit = attribute_features(U, new) @ W + c
        rs = task["refit_steps"]
        for name, m, start in (("trained", t.model, None), ("init", init, None), ("frozen", tf.model, None),
                               ("trained_fitted", t.model, E_fit)):
            ck, acc = refit_embeddings(m, new, init=start, steps=rs, lr=task["lr"], check_every=task["refit_every"],
                                       seed=seed)
            out[f"refit_{name}"] = acc
        out["refit_steps"] = ck
    return out


# --------------------------------------------------------------------------------------
# Experiment
# --------------------------------------------------------------------------------------
#: (key, label) of the scalar results summarised by :class:`ProbesResult`, in table order
METRICS = (
    ("acc_learned", "train accuracy, learned e(s)"),
    ("acc_frozen", "train accuracy, frozen-e(s) control"),
    ("r2_trained", "1 superposition: held-out R², trained e(s) ~ [U_π1(s); …; U_πR(s)]"),
    ("r2_shuffled", "1 control: shuffled bijections (attributes of another subject)"),
    ("r2_init", "1 control: initial (untrained) e(s)"),
    ("r2_frozen", "1 control: frozen-e(s) model, e(s) on its own U"),
    ("gate_trained_within", "2 gating: Jaccard same relation, trained"),
    ("gate_trained_between", "2 gating: Jaccard different relations, trained"),
    ("gate_trained_same_subject", "2 gating: Jaccard same subject, different relations, trained"),
    ("gate_trained_gap", "2 gating: Jaccard same − different relations, trained"),
    ("gate_trained_relation_selective", "2 gating: relation-selective units, trained"),
    ("gate_trained_active_fraction", "2 gating: active fraction, trained"),
    ("gate_init_within", "2 control: Jaccard same relation, initial model"),
    ("gate_init_between", "2 control: Jaccard different relations, initial model"),
    ("gate_init_gap", "2 control: Jaccard same − different relations, initial model"),
    ("gate_init_relation_selective", "2 control: relation-selective units, initial model"),
    ("gate_frozen_within", "2 control: Jaccard same relation, frozen-e(s) model"),
    ("gate_frozen_between", "2 control: Jaccard different relations, frozen-e(s) model"),
    ("gate_frozen_gap", "2 control: Jaccard same − different relations, frozen-e(s) model"),
    ("gate_frozen_relation_selective", "2 control: relation-selective units, frozen-e(s) model"),
    ("swap_component_follow", "3 swap relation-r component: answer follows s'"),
    ("swap_component_stay", "3 swap relation-r component: answer stays π_r(s)"),
    ("swap_component_others_kept", "3 swap relation-r component: other relations kept"),
    ("swap_random_follow", "3 control: random same-norm change, follows s'"),
    ("swap_random_stay", "3 control: random same-norm change, stays π_r(s)"),
    ("swap_random_others_kept", "3 control: random same-norm change, other relations kept"),
    ("swap_full_follow", "3 full swap e(s) → e(s'): follows s'"),
    ("swap_full_random_follow", "3 control: random vector of norm ‖e(s')‖, follows s'"),
    ("transfer_trained_new", "4 zero-shot, fitted superposition, trained MLP: new facts"),
    ("transfer_trained_fitted_old", "4 ceiling: fitted superposition of old subjects, old facts"),
    ("transfer_init_new", "4 control: same procedure, untrained MLP"),
    ("transfer_frozen_new", "4 control: same procedure, frozen-e(s) trained model"),
    ("chance", "4 chance 1/N"),
)


def _stat(values):
    v = np.asarray(values, dtype=float)
    return float(np.mean(v)), (float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)


@dataclass(frozen=True)
class ProbesResult:
    """Result of :func:`run_probes`.

    ``settings_list``: the (N, R, d, h) probed; ``runs``: per setting (same order) the list of
    per-seed task results (dicts, see :func:`run_probe_task`); ``summary``: per setting a dict
    metric -> [mean, sd over seeds] for :data:`METRICS`, plus ``r2_per_relation`` and the refit
    curves (``refit_*``: mean and sd per check step); ``settings``: everything else.
    """

    settings_list: list
    runs: list
    summary: list
    settings: dict
    warnings: list = field(default_factory=list)

    def to_dict(self):
        return {"settings_list": [list(s) for s in self.settings_list], "runs": [list(r) for r in self.runs],
                "summary": [dict(s) for s in self.summary], "settings": dict(self.settings),
                "warnings": list(self.warnings)}

    def format_table(self):
        """Markdown: one row per metric, one column per setting, mean ± sd over seeds."""
        cols = [f"N={n}, R={r}, d={d}, h={h}" for n, r, d, h in self.settings_list]
        lines = ["| probe / quantity | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
        for key, label in METRICS:
            cells = [f"{s[key][0]:.3f} ± {s[key][1]:.3f}" for s in self.summary]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        steps = self.summary[0]["refit_steps"] if self.summary else []
        marks = sorted({0, *(s for s in steps if s in (50, 100, 200)), steps[-1]} & set(steps)) if steps else []
        for name, label in (("refit_trained", "4 refit e(s) only, trained MLP, N(0, I/d) start"),
                            ("refit_init", "4 refit e(s) only, untrained MLP, N(0, I/d) start"),
                            ("refit_frozen", "4 refit e(s) only, frozen-e(s) trained MLP, N(0, I/d) start"),
                            ("refit_trained_fitted", "4 refit e(s) only, trained MLP, fitted-superposition start")):
            for st in marks:
                cells = []
                for sm in self.summary:
                    j = sm["refit_steps"].index(st) if st in sm["refit_steps"] else None
                    cells.append("-" if j is None else f"{sm[name + '_mean'][j]:.3f} ± {sm[name + '_sd'][j]:.3f}")
                lines.append(f"| {label}, step {st} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _settings_iv(settings):
    out = []
    for st in settings:
        ok = isinstance(st, (tuple, list)) and len(st) == 4 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in st)
        if not ok or not (2 * N_FOLDS <= st[0] <= 10**5 and 1 <= st[1] <= 10**3 and 1 <= st[2] <= 10**4
                          and 1 <= st[3] <= 10**5):
            raise ValueError(f"`settings` entries must be integer tuples (n_subjects >= {2 * N_FOLDS}, n_relations, "
                             f"d, width), all >= 1; got {st!r}")
        out.append(tuple(int(v) for v in st))
    out = list(dict.fromkeys(out))
    if not out:
        raise ValueError("`settings` must hold at least one (n_subjects, n_relations, d, width); got an empty sequence")
    return out


def run_probes(*, quick=False, device="cpu", seed=0, store=None, jobs=1, progress=None, settings=None, n_seeds=None,
               steps=None, refit_steps=None, lr=LR, n_folds=N_FOLDS, unembedding="fixed"):
    """Mechanism probes of the N4 model: superposition R², MLP gating, causal swap, zero-shot transfer.

    Parameters
    ----------
    quick : bool
        One tiny setting (16, 2, 8, 16), one seed, short budgets (seconds).
    device : {"cpu", "cuda", "auto"}
    seed, n_seeds : int
        Seeds seed ... seed + n_seeds - 1 (default 5; quick 1): independent facts, U,
        initialisation, new facts and probe randomness.
    store, jobs, progress
        Passed to :func:`capacity.sweeps.run_sweep`; each (setting, seed) is one task.
    settings : sequence of (N, R, d, h), optional
        Default :data:`DEFAULT_SETTINGS`.
    steps, refit_steps : int, optional
        Training steps of the learned and frozen models (default 1000, full budget, no early
        stop; quick 300) and of the embedding-only refits (default 300; quick 60).
    lr : float
        Adam learning rate (training and refits).
    n_folds : int
        Cross-validation folds of the R² probe.
    unembedding : str
        Readout of the N4 model (:func:`capacity.nets.geometric.build_model`): ``"fixed"``
        (default, U fixed N(0, I/d)) or another of its options, e.g. ``"trained"``; the attribute
        vectors are then the rows of the model's (trained) U.

    Returns
    -------
    ProbesResult

    Examples
    --------
    >>> res = run_probes(quick=True, progress=False)
    >>> res.settings_list
    [(16, 2, 8, 16)]
    """
    from ..sweeps.runner import run_sweep

    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"`device` must be one of {', '.join(DEVICES)}; got {device!r}")
    settings = _settings_iv(QUICK_SETTINGS if quick else DEFAULT_SETTINGS) if settings is None else \
        _settings_iv(settings)
    seed = check_int("seed", seed, low=0)
    n_seeds = (1 if quick else 5) if n_seeds is None else check_int("n_seeds", n_seeds, low=1, high=1000)
    steps = (300 if quick else STEPS) if steps is None else check_int("steps", steps, low=1, high=10**7)
    refit_steps = (60 if quick else REFIT_STEPS) if refit_steps is None else \
        check_int("refit_steps", refit_steps, low=0, high=10**7)
    lr = check_real("lr", lr, low=0.0, low_open=True, high=10.0)
    n_folds = check_int("n_folds", n_folds, low=2, high=min(s[0] for s in settings) // 2)
    resolve_device(device)
    keys = [(st, s) for st in settings for s in range(seed, seed + n_seeds)]
    tasks = [probe_task(n, r, d, width=h, seed=s, steps=steps, lr=lr, refit_steps=refit_steps, n_folds=n_folds,
                        device=device, unembedding=unembedding) for (n, r, d, h), s in keys]
    results = run_sweep(run_probe_task, tasks, store=store, jobs=jobs, progress=progress)
    runs, summary, warnings = [], [], []
    for st in settings:
        res = [x for (k, _), x in zip(keys, results) if k == st]
        runs.append(res)
        sm = {key: list(_stat([x[key] for x in res])) for key, _ in METRICS}
        per_rel = np.array([x["r2_per_relation"] for x in res])
        sm["r2_per_relation_mean"] = per_rel.mean(0).tolist()
        sm["refit_steps"] = list(res[0]["refit_steps"])
        for name in REFIT_CURVES:
            C = np.array([x[name] for x in res])
            sm[name + "_mean"] = C.mean(0).tolist()
            sm[name + "_sd"] = (C.std(0, ddof=1) if len(C) > 1 else np.zeros(C.shape[1])).tolist()
        summary.append(sm)
        if sm["acc_learned"][0] < 0.99:
            warnings.append(f"learned model below 99 % at {st} (mean accuracy {sm['acc_learned'][0]:.3f})")
    meta = {"seed": seed, "n_seeds": n_seeds, "steps": steps, "refit_steps": refit_steps, "refit_every": REFIT_EVERY,
            "lr": lr, "n_folds": n_folds, "ridge_grid": list(RIDGE_GRID), "device": str(device), "quick": bool(quick),
            "unembedding": unembedding,
            "model": "capacity.nets.geometric N4 model: logits = U W2 relu(W1 [e(s); e(r)] + b1), U fixed; trained "
                     "the full step budget (no early stop); frozen control: e(s) fixed at init",
            "attributes": "x(s) = [U_pi_1(s); ...; U_pi_R(s)] (rows of the fixed unembedding)"}
    return ProbesResult(settings_list=settings, runs=runs, summary=summary, settings=meta, warnings=warnings)
