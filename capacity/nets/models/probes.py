r"""Mechanism probes of the N4 geometric-recall model (docs/nets.md, N4).

After Ravfogel, Yehudai, Bruna, Bietti, "Geometric Factual Recall in Transformers",
arXiv:2605.12426 (only the abstract was available): a model with learned subject embeddings is
said to store facts *geometrically* — e(s) a superposition of the subject's attribute vectors,
an MLP that selects (gates) the queried relation, a mechanism that transfers to new facts.  The
probes below test each statement on the N4 model of :mod:`capacity.nets.models.geometric`
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


The experiment that trains the models and runs every probe is
:func:`capacity.nets.experiments.probes.run_probes`.
"""
import math

import numpy as np

from ..._validation import check_int, check_real
from .._torch import require_torch, seeded_generator
from .geometric import LR, fact_queries

__all__ = [
    "RIDGE_GRID", "N_FOLDS", "REFIT_STEPS", "REFIT_EVERY", "attribute_features", "fit_superposition", "heldout_r2",
    "jaccard", "gating_overlap", "active_units", "swap_test", "transfer_accuracy", "refit_embeddings", "new_facts",
]

#: ridge penalties tried, in units of the mean squared singular value of the centred features
RIDGE_GRID = (0.0, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
N_FOLDS = 5
REFIT_STEPS = 300
REFIT_EVERY = 10


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


def active_units(model, E, facts):
    """Active ReLU units of every query (s, r) of ``facts`` with subject embeddings ``E`` (rows per subject).

    Returns ``(active, subjects, relations)``: ``active`` an (N R, h) bool array (pre-activation > 0),
    the queries relation-major as in :func:`capacity.nets.models.facts.fact_queries`; the input of
    :func:`gating_overlap`.
    """
    s, r, _ = fact_queries(facts)
    torch = require_torch()
    with torch.no_grad():
        h = _parts(model, _tensor(model, E)[_index(model, s)], _index(model, r))[0]
    return h.cpu().numpy() > 0, s, r
