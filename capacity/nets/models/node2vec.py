r"""N5 model: spectral bias of Node2Vec-style embeddings on small graphs (docs/nets.md, N5).

After Noroozizadeh et al., arXiv:2510.26745 (only the abstract was available when this
was written): embeddings trained with a Node2Vec objective are claimed to align with
the "Fiedler-like" eigenvectors of L = (I - D^-1 A) + (I - D^-1 A)^T even though
nothing in the objective asks for a low-rank or spectral solution.  This module
measures that claim on three small graphs.  Every modelling choice below is ours.

**Graphs** (:data:`GRAPHS`): the 15-cycle, the 4 x 4 grid and a path-star (3 arms
of 4 nodes each hanging off a centre, n = 13).  Unweighted, undirected, connected.

**Objective.**  Node2Vec with return/in-out parameters p = q = 1 (uniform random
walks, i.e. DeepWalk), skip-gram with a *full* softmax over nodes, and the walk
pairs replaced by their expectation so training is deterministic: for a stationary
walk and window w, the joint distribution of (centre, context) pairs is

    C = (1 / 2w) sum_{t=1..w} (Pi P^t + (Pi P^t)^T),   P = D^-1 A,  Pi = diag(pi),

(both directions of the window; C is symmetric, sums to 1, row sums pi).  With one
embedding matrix V (n x k, shared by centre and context, logits S = V V^T, k = n
by default so the rank is not a bottleneck) the loss is

    loss(V) = - sum_ij C_ij log softmax(S_i)_j,

and its analytic gradient (:func:`node2vec_grad`) is

    G = diag(pi) softmax(S) - C   (= dloss/dS),   dloss/dV = (G + G^T) V.

The infimum of the loss is the conditional entropy H(context | centre)
(:func:`entropy_floor`); it is reached only in the limit because C has zeros
(pairs further apart than w) and V V^T must be symmetric positive semidefinite.

**Training**: plain full-batch gradient descent (default, fixed learning rate) or
Adam (default betas), in NumPy float64 on the CPU, from V_0 with i.i.d. N(0,
init_scale^2) entries (default init_scale = 1e-3: S_0 ~ 1e-5, the small-init regime).

**Alignment** (:func:`subspace_alignment`): mean squared cosine of the principal
angles between two r-dimensional subspaces, ||Q_a^T Q_b||_F^2 / r (1 for identical
subspaces, 0 for orthogonal ones, r/n in expectation for a uniformly random one).
Tracked at checkpoints between

- U_r: the top-r left singular vectors of V (V's dominant column space, in node space),
- the *Fiedler-like* subspace: eigenvectors 2 .. r + 1 of L in ascending eigenvalue order
  (the first, "trivial", one is the constant vector when the graph is regular and
  close to it otherwise; L need not be positive semidefinite for irregular graphs),
- the *top* subspace: the r eigenvectors of L with the largest eigenvalues (control),
- the *linearised* subspace (our addition): the top-r eigenvectors of
  M = 2C - (pi 1^T + 1 pi^T) / n, which drives GD at V ~ 0 (dV/dt = M V), i.e. what
  small-init gradient flow must pick up first.  For regular graphs (P symmetric,
  pi = 1/n) M = (2/(wn)) sum_t P^t - (2/n^2) 1 1^T shares its eigenvectors with
  L = 2(I - P), so "linearised" and "Fiedler" coincide whenever sum_t lambda^t is
  largest for the largest nontrivial eigenvalue lambda of P (true on the 15-cycle).

r defaults to 2 for all three graphs: the Fiedler-like eigenvalue is exactly twofold
degenerate on each of them (cycle: cos/sin pair; grid: x/y modes; 3-arm path-star: the
2-D representation of the arm permutations), so an r that splits a degenerate
eigenspace is rejected.

Determinism: one training run is a pure function of its task (NumPy, float64, the
initial V from ``np.random.default_rng(seed)``).  The experiment over graphs and seeds is
:func:`capacity.nets.experiments.n5.run_n5`.  NumPy only: no torch.
"""
from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_real
from ...results import Result

__all__ = [
    "GRAPHS", "OPTIMIZERS", "WINDOW", "R", "INIT_SCALE", "LR_SCALE", "ADAM_LR", "STEPS", "cycle_graph", "grid_graph",
    "path_star_graph", "make_graph", "transition_laplacian", "spectral_subspaces", "cooccurrence", "node2vec_loss",
    "node2vec_grad", "entropy_floor", "linearised_operator", "subspace_alignment", "top_left_singular",
    "default_checkpoints", "TrainN5", "train_node2vec",
]

OPTIMIZERS = ("gd", "adam")
#: the default graphs (of the N5 experiment): name -> (constructor, kwargs)
GRAPHS = {
    "cycle": ("cycle_graph", {"n": 15}),
    "grid": ("grid_graph", {"rows": 4, "cols": 4}),
    "path-star": ("path_star_graph", {"arms": 3, "length": 4}),
}
WINDOW = 5
R = 2
INIT_SCALE = 1e-3
#: default GD learning rate LR_SCALE * n (the loss gradient is O(1/n) per entry of V)
LR_SCALE = 0.05
#: default Adam learning rate
ADAM_LR = 1e-2
STEPS = 20000
_EIG_TOL = 1e-8


# --------------------------------------------------------------------------------------
# Graphs and spectra
# --------------------------------------------------------------------------------------
def _adjacency(n, edges):
    A = np.zeros((n, n))
    for i, j in edges:
        A[i, j] = A[j, i] = 1.0
    return A


def cycle_graph(n=15):
    """Adjacency matrix (n x n float64) of the n-cycle, n >= 3."""
    n = check_int("n", n, low=3, high=4096)
    return _adjacency(n, [(i, (i + 1) % n) for i in range(n)])


def grid_graph(rows=4, cols=4):
    """Adjacency of the rows x cols grid (4-neighbour lattice); node (i, j) is i * cols + j."""
    rows = check_int("rows", rows, low=1, high=512)
    cols = check_int("cols", cols, low=1, high=512)
    if rows * cols < 2:
        raise ValueError(f"`rows` * `cols` must be >= 2 nodes; got {rows} x {cols}")
    edges = [(i * cols + j, i * cols + j + 1) for i in range(rows) for j in range(cols - 1)]
    edges += [(i * cols + j, (i + 1) * cols + j) for i in range(rows - 1) for j in range(cols)]
    return _adjacency(rows * cols, edges)


def path_star_graph(arms=3, length=4):
    """Adjacency of a path-star: centre node 0 and ``arms`` paths of ``length`` nodes each.

    Arm a holds nodes 1 + a * length ... (a + 1) * length, the first one joined to the centre.
    """
    arms = check_int("arms", arms, low=1, high=256)
    length = check_int("length", length, low=1, high=256)
    edges = []
    for a in range(arms):
        first = 1 + a * length
        edges.append((0, first))
        edges += [(first + i, first + i + 1) for i in range(length - 1)]
    return _adjacency(1 + arms * length, edges)


def make_graph(name):
    """Adjacency matrix of a named default graph (:data:`GRAPHS`)."""
    if name not in GRAPHS:
        raise ValueError(f"`graph` must be one of {', '.join(GRAPHS)}; got {name!r}")
    ctor, kwargs = GRAPHS[name]
    return globals()[ctor](**kwargs)


def _check_adjacency(A):
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 2:
        raise ValueError(f"`A` must be a square adjacency matrix with n >= 2; got shape {A.shape}")
    if not np.all(np.isfinite(A)) or np.any(A < 0) or not np.array_equal(A, A.T):
        raise ValueError("`A` must be symmetric with finite entries >= 0; got a matrix that is not")
    if np.any(A.sum(1) == 0):
        raise ValueError(f"`A` must have no isolated node; got degree 0 at node {int(np.argmin(A.sum(1)))}")
    return A


def transition_laplacian(A):
    """L = (I - D^-1 A) + (I - D^-1 A)^T (symmetric; L 1 = 0 exactly when the graph is regular)."""
    A = _check_adjacency(A)
    P = A / A.sum(1, keepdims=True)
    eye = np.eye(len(A))
    return (eye - P) + (eye - P).T


def _eig_split(values, lo, hi, name):
    """Reject a subspace [lo, hi) of ascending ``values`` that splits a degenerate eigenspace."""
    scale = max(1.0, float(np.max(np.abs(values))))
    if lo > 0 and values[lo] - values[lo - 1] <= _EIG_TOL * scale:
        return f"{name} subspace starts inside a degenerate eigenspace (eigenvalues {values[lo - 1]:.6g}, " \
               f"{values[lo]:.6g})"
    if hi < len(values) and values[hi] - values[hi - 1] <= _EIG_TOL * scale:
        return f"{name} subspace ends inside a degenerate eigenspace (eigenvalues {values[hi - 1]:.6g}, " \
               f"{values[hi]:.6g})"
    return None


def spectral_subspaces(A, r=R):
    """Eigenvalues of L (ascending) and its Fiedler-like (2 .. r+1) and top-r eigenvector bases.

    Returns
    -------
    dict with ``eigenvalues`` (n,), ``fiedler`` (n, r), ``top`` (n, r), ``trivial`` (n,)
    and ``constant_overlap`` (squared cosine of the trivial eigenvector with the constant vector).

    Raises ValueError when r splits a degenerate eigenspace (the subspace would be ill-defined).
    """
    A = _check_adjacency(A)
    n = len(A)
    r = check_int("r", r, low=1, high=max(1, (n - 1) // 2))
    lam, vec = np.linalg.eigh(transition_laplacian(A))
    for msg in (_eig_split(lam, 1, r + 1, "Fiedler-like"), _eig_split(lam, 0, 1, "trivial")):
        if msg:
            raise ValueError(f"`r` must not split a degenerate eigenspace of L; got r={r}: {msg}")
    r_top = r
    while r_top < n - 1 - r and _eig_split(lam, n - r_top, n, "top"):
        r_top += 1
    triv = vec[:, 0]
    return {"eigenvalues": lam, "fiedler": vec[:, 1:r + 1], "top": vec[:, n - r_top:], "trivial": triv,
            "constant_overlap": float(triv.sum() ** 2 / n)}


def cooccurrence(A, window=WINDOW):
    """Expected (centre, context) pair distribution C of stationary uniform random walks, window ``window``.

    C = (1/2w) sum_{t=1..w} (Pi P^t + (Pi P^t)^T); symmetric, entries >= 0, sums to 1,
    row sums = the stationary distribution pi = deg / sum(deg).
    """
    A = _check_adjacency(A)
    window = check_int("window", window, low=1, high=10**4)
    deg = A.sum(1)
    P = A / deg[:, None]
    pi = deg / deg.sum()
    acc = np.zeros_like(A)
    Pt = np.eye(len(A))
    for _ in range(window):
        Pt = Pt @ P
        acc += Pt
    J = pi[:, None] * acc / window
    return 0.5 * (J + J.T)


def _softmax_rows(S):
    Z = S - S.max(1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(1, keepdims=True), Z - np.log(E.sum(1, keepdims=True))


def node2vec_loss(V, C):
    """- sum_ij C_ij log softmax(V V^T)_ij (full softmax over nodes)."""
    _, logp = _softmax_rows(V @ V.T)
    return float(-(C * logp).sum())


def node2vec_grad(V, C):
    """Analytic gradient of :func:`node2vec_loss`: (G + G^T) V with G = diag(pi) softmax(V V^T) - C."""
    sm, _ = _softmax_rows(V @ V.T)
    G = C.sum(1, keepdims=True) * sm - C
    return (G + G.T) @ V


def _loss_and_grad(V, C, pi):
    sm, logp = _softmax_rows(V @ V.T)
    G = pi[:, None] * sm - C
    return float(-(C * logp).sum()), (G + G.T) @ V


def entropy_floor(C):
    """Infimum of the loss: the conditional entropy - sum_ij C_ij log(C_ij / pi_i)."""
    pi = C.sum(1, keepdims=True)
    m = C > 0
    return float(-(C[m] * np.log((C / pi)[m])).sum())


def linearised_operator(C):
    """M with dV/dt = M V at V = 0 under gradient flow: M = 2C - (pi 1^T + 1 pi^T) / n (C symmetric)."""
    n = len(C)
    pi = C.sum(1)
    one = np.ones(n)
    return C + C.T - (np.outer(pi, one) + np.outer(one, pi)) / n


def _orthonormal(X, name):
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] < 1 or X.shape[1] > X.shape[0] or not np.all(np.isfinite(X)):
        raise ValueError(f"`{name}` must be a finite (n, r) array with 1 <= r <= n; got shape {X.shape}")
    Q, R_ = np.linalg.qr(X)
    d = np.abs(np.diag(R_))
    if d.min() <= 1e-12 * max(1.0, d.max()):
        raise ValueError(f"`{name}` must have linearly independent columns; got a rank-deficient (n, r) array")
    return Q


def subspace_alignment(a, b):
    """Mean squared cosine of the principal angles between span(a) and span(b) (column spaces).

    ||Q_a^T Q_b||_F^2 / min(r_a, r_b): 1 for identical subspaces, 0 for orthogonal ones,
    r/n in expectation when one of two r-dimensional subspaces of R^n is uniformly random.
    """
    qa, qb = _orthonormal(a, "a"), _orthonormal(b, "b")
    if qa.shape[0] != qb.shape[0]:
        raise ValueError(f"`b` must have as many rows as `a` ({qa.shape[0]}); got {qb.shape[0]}")
    return float(np.sum((qa.T @ qb) ** 2) / min(qa.shape[1], qb.shape[1]))


def top_left_singular(V, r):
    """The top-r left singular vectors (n, r) and all singular values of V."""
    U, s, _ = np.linalg.svd(V, full_matrices=False)
    return U[:, :r], s


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainN5(Result):
    """One Node2Vec training run (:func:`train_node2vec`).

    ``checkpoint_steps`` (n_ck,) and, per checkpoint, ``loss``, the alignments of V's
    top-r left singular space U_r with the Fiedler-like (``align_fiedler``), top
    (``align_top``: ||U_r^T Q_top||^2 / r, Q_top possibly wider than r, see
    :func:`spectral_subspaces`) and linearised (``align_linear``) subspaces;
    ``align_nontrivial``: the same as ``align_fiedler`` for (I - t t^T) V, t the trivial
    eigenvector of L (V with its trivial component projected out); ``trivial_overlap``:
    squared cosine of V's top left singular vector with t; ``sigma`` (n_ck, r + 2) the
    top r + 2 singular values of V; ``embedding`` (n, 2) the final U_2 diag(s_2) of the
    nontrivial part (I - t t^T) V; ``V`` the final embedding matrix.
    """

    checkpoint_steps: np.ndarray
    loss: np.ndarray
    align_fiedler: np.ndarray
    align_top: np.ndarray
    align_linear: np.ndarray
    align_nontrivial: np.ndarray
    trivial_overlap: np.ndarray
    sigma: np.ndarray
    embedding: np.ndarray
    V: np.ndarray
    entropy_floor: float


def default_checkpoints(steps):
    """0, steps and the quarter-decades round(10^(k/4)) = 1, 2, 3, 6, 10, 18, 32, 56, 100, ... below steps."""
    pts = {0, int(steps)}
    k = 0
    while round(10 ** (k / 4)) < steps:
        pts.add(int(round(10 ** (k / 4))))
        k += 1
    return sorted(pts)


def _train_iv(A, window, dim, steps, lr, optimizer, init_scale, r, checkpoints):
    A = _check_adjacency(A)
    n = len(A)
    r = check_int("r", r, low=1, high=max(1, (n - 1) // 2))
    window = check_int("window", window, low=1, high=10**4)
    dim = n if dim is None else check_int("dim", dim, low=r + 2, high=4096)
    steps = check_int("steps", steps, low=0, high=10**7)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    if lr is None:
        lr = LR_SCALE * n if optimizer == "gd" else ADAM_LR
    else:
        lr = check_real("lr", lr, low=0.0, low_open=True)
    init_scale = check_real("init_scale", init_scale, low=0.0, low_open=True)
    ck = default_checkpoints(steps) if checkpoints is None else sorted(
        {check_int("checkpoints", c, low=0, high=steps) for c in checkpoints})
    return A, r, window, dim, steps, lr, init_scale, ck


def train_node2vec(A, *, window=WINDOW, dim=None, steps=STEPS, lr=None, optimizer="gd", init_scale=INIT_SCALE,
                   r=R, seed=0, checkpoints=None):
    r"""Train V (n x dim) on the expected Node2Vec objective of graph ``A``; track spectral alignment.

    Parameters
    ----------
    A : (n, n) array
        Symmetric adjacency matrix, no isolated nodes.
    window : int
        Skip-gram window w (context = the w nodes before and after on a walk).
    dim : int, optional
        Embedding dimension k; default n (no rank bottleneck).
    steps : int
        Full-batch optimisation steps.
    lr : float, optional
        Learning rate; default 0.05 n for GD (the largest of 0.05 n, 0.1 n, 0.2 n for which the
        loss decreased monotonically on all three graphs over 20000 steps), 1e-2 for Adam.
    optimizer : {"gd", "adam"}
    init_scale : float
        Standard deviation of the i.i.d. Gaussian entries of V_0.
    r : int
        Dimension of the tracked subspaces.
    seed : int
        Seed of V_0 (``np.random.default_rng(seed)``).
    checkpoints : sequence of int, optional
        Steps at which the alignments are recorded; default 0, steps and round(10^(k/4)) in between.

    Returns
    -------
    TrainN5

    Examples
    --------
    >>> t = train_node2vec(cycle_graph(15), steps=300, seed=0)
    >>> bool(t.align_fiedler[-1] > 0.9 > 2 / 15)
    True
    """
    A, r, window, dim, steps, lr, init_scale, ck = _train_iv(A, window, dim, steps, lr, optimizer, init_scale, r,
                                                          checkpoints)
    seed = check_int("seed", seed, low=0)
    sub = spectral_subspaces(A, r)
    C = cooccurrence(A, window)
    pi = C.sum(1)
    lin_val, lin_vec = np.linalg.eigh(linearised_operator(C))
    lin = lin_vec[:, len(C) - r:]
    triv = sub["trivial"]
    n = len(A)
    V = np.random.default_rng(seed).normal(0.0, init_scale, size=(n, dim))
    m = np.zeros_like(V)
    v = np.zeros_like(V)
    b1, b2, eps = 0.9, 0.999, 1e-8
    ck_set = set(ck)
    rows = []
    for step in range(steps + 1):
        loss, g = _loss_and_grad(V, C, pi)
        if step in ck_set:
            U, s = top_left_singular(V, r)
            Un, _ = top_left_singular(V - np.outer(triv, triv @ V), r)
            rows.append((step, loss, subspace_alignment(U, sub["fiedler"]),
                         float(np.sum((U.T @ sub["top"]) ** 2) / r), subspace_alignment(U, lin),
                         subspace_alignment(Un, sub["fiedler"]), float((U[:, 0] @ triv) ** 2), *s[:r + 2]))
        if step == steps:
            break
        if optimizer == "gd":
            V = V - lr * g
        else:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            t = step + 1
            V = V - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    rows = np.array(rows, dtype=float)
    U, s = top_left_singular(V - np.outer(triv, triv @ V), 2)
    return TrainN5(checkpoint_steps=rows[:, 0].astype(int), loss=rows[:, 1], align_fiedler=rows[:, 2],
                   align_top=rows[:, 3], align_linear=rows[:, 4], align_nontrivial=rows[:, 5],
                   trivial_overlap=rows[:, 6], sigma=rows[:, 7:], embedding=U * s[:2], V=V,
                   entropy_floor=entropy_floor(C))
