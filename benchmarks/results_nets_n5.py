"""N5: spectral bias of Node2Vec-style embeddings on small graphs (alignment with Fiedler-like eigenvectors).

Setting: docs/nets.md, N5, after Noroozizadeh et al., arXiv:2510.26745 (abstract only; the
choices below are ours, see the docstring of ``capacity.nets.models.node2vec``).

Graphs: 15-cycle, 4 x 4 grid, path-star with 3 arms of 4 nodes (n = 13).  Expected skip-gram
objective of stationary uniform random walks (Node2Vec p = q = 1), window 5, full softmax over
nodes, logits V V^T, V n x n (no rank bottleneck), V_0 i.i.d. N(0, init_scale^2).  Tracked: the
top-2 left singular space U_2 of V against the Fiedler-like eigenvectors (2nd and 3rd smallest)
of L = (I - D^-1 A) + (I - D^-1 A)^T, the top eigenvectors of L (control), and the linearised
small-init operator; random baseline r/n.

Settings (10 seeds each, seeds 0..9, 20000 full-batch steps):
- ``gd``: plain GD, lr = 0.05 n, init_scale = 1e-3 (the main run);
- ``adam``: Adam (default betas), lr = 1e-2, init_scale = 1e-3;
- ``gd-large-init``: plain GD, lr = 0.05 n, init_scale = 0.3 (logits O(1) at init).

Every finished (graph, seed, setting) run is committed to benchmarks/results/nets_n5.sqlite
(rerunning resumes).  NumPy float64, single thread.

Run:  python benchmarks/results_nets_n5.py [--seeds 10] [--steps 20000]
Writes benchmarks/results/nets_n5.md (and prints it).  With a complete store nothing is recomputed
and the file is rewritten unchanged (the invocation's wall time is printed on stdout only).
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from capacity import __version__  # noqa: E402
from capacity.nets.experiments.n5 import run_n5  # noqa: E402
from capacity.nets.models.node2vec import (  # noqa: E402
    WINDOW, cooccurrence, make_graph, node2vec_loss, spectral_subspaces, train_node2vec,
)
from capacity.sweeps import ResultsStore  # noqa: E402

STORE = ROOT / "benchmarks" / "results" / "nets_n5.sqlite"
OUT = ROOT / "benchmarks" / "results" / "nets_n5.md"
SETTINGS = {
    "gd": {"optimizer": "gd", "init_scale": 1e-3},
    "adam": {"optimizer": "adam", "init_scale": 1e-3},
    "gd-large-init": {"optimizer": "gd", "init_scale": 0.3},
}
SHORT_STEPS = (0, 3, 10, 32, 100, 316, 1000, 3162, 10000, 20000)  # rows of the md (all are stored)


def _store_seconds():
    with ResultsStore(STORE) as store:
        return sum(rec.seconds or 0.0 for rec in store.records())


def _ms(row, name, i):
    return f"{getattr(row, name + '_mean')[i]:.3f} ± {getattr(row, name + '_sd')[i]:.3f}"


def graph_facts(res):
    lines = ["| graph | n | r | eigenvalues of L (ascending, first 5) | largest 3 | trivial eigvec vs constant "
             "(cos²) | linearised vs Fiedler-like subspace | random r/n | r/(n-1) | top-control dim r_top, "
             "r_top/n | entropy floor H(context given centre) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in res.rows:
        ev = row.eigenvalues
        lines.append(f"| {row.graph} | {row.n} | {row.r} | {', '.join(f'{v:.4f}' for v in ev[:5])} | "
                     f"{', '.join(f'{v:.4f}' for v in ev[-3:])} | {row.constant_overlap:.4f} | "
                     f"{row.linear_vs_fiedler:.4f} | {row.baseline:.4f} | {row.baseline_nontrivial:.4f} | "
                     f"{row.r_top}, {row.baseline_top:.4f} | {row.entropy_floor:.4f} |")
    return lines


def trajectory(res, steps):
    head = ("| graph | step | Fiedler-like: U_2 of V | Fiedler-like: U_2 of (I - tt^T)V | top eigvecs of L | "
            "linearised | cos²(u_1, t) | loss |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in res.rows:
        for i, s in enumerate(row.checkpoint_steps):
            if s not in steps:
                continue
            lines.append(f"| {row.graph} | {s} | {_ms(row, 'fiedler', i)} | {_ms(row, 'nontrivial', i)} | "
                         f"{_ms(row, 'top', i)} | {_ms(row, 'linear', i)} | {_ms(row, 'trivial', i)} | "
                         f"{row.loss_mean[i]:.4f} |")
    return lines


def summary(res):
    lines = ["| graph | random r/n | init | max of mean (at step) | first step with mean >= 0.9 | end | "
             "end, trivial part removed | end, top control | final singular values s_1..s_4 (mean) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in res.rows:
        f = np.array(row.fiedler_mean)
        k = int(np.argmax(f))
        hit = np.flatnonzero(f >= 0.9)
        first = row.checkpoint_steps[hit[0]] if len(hit) else "never"
        lines.append(f"| {row.graph} | {row.baseline:.3f} | {_ms(row, 'fiedler', 0)} | {f[k]:.3f} "
                     f"({row.checkpoint_steps[k]}) | {first} | {_ms(row, 'fiedler', -1)} | "
                     f"{_ms(row, 'nontrivial', -1)} | "
                     f"{_ms(row, 'top', -1)} (baseline {row.baseline_top:.3f}) | "
                     f"{', '.join(f'{v:.3f}' for v in row.sigma_final_mean)} |")
    return lines


def reading(res, large):
    """What the main setting shows, with its numbers (written for the committed run; check before reusing)."""
    rows = {row.graph: row for row in res.rows}
    out = ["## Reading (main setting `gd`)", ""]

    def at(row, name, step):
        i = row.checkpoint_steps.index(step)
        return getattr(row, name + "_mean")[i]

    def first(row, level):
        f = np.array(row.fiedler_mean)
        hit = np.flatnonzero(f >= level)
        return row.checkpoint_steps[hit[0]] if len(hit) else None

    for g, row in rows.items():
        f = np.array(row.fiedler_mean)
        k = int(np.argmax(f))
        out.append(
            f"- **{g}** (n = {row.n}, random r/n = {row.baseline:.3f}): alignment of U_2(V) with the Fiedler-like "
            f"pair {row.fiedler_mean[0]:.3f} ± {row.fiedler_sd[0]:.3f} at init, >= 0.9 from step {first(row, 0.9)}, "
            f"max {f[k]:.3f} (step {row.checkpoint_steps[k]}), {row.fiedler_mean[-1]:.3f} ± {row.fiedler_sd[-1]:.3f} "
            f"at step {row.checkpoint_steps[-1]}; with the trivial direction projected out "
            f"{row.nontrivial_mean[-1]:.3f} ± {row.nontrivial_sd[-1]:.3f}; top-eigenvector control "
            f"{row.top_mean[-1]:.3f} (its random baseline {row.baseline_top:.3f}); final singular values "
            f"{', '.join(f'{v:.3f}' for v in row.sigma_final_mean)}; cos²(u_1, t) at the end "
            f"{row.trivial_mean[-1]:.3f}.")
    out.append("")
    out.append(
        "So in this setup the spectral bias is clear and reproducible (sd over seeds ~0 after the first few hundred "
        "steps): the first directions small-init GD grows are the Fiedler-like pair (the linearised operator M "
        "shares them exactly on the regular cycle and almost exactly on the others, see *Graph facts*), and the top "
        "eigenvectors of L are suppressed below their random baseline. On the regular 15-cycle V stays (nearly) "
        "rank 2 and its top-2 space *is* the Fiedler pair to the end. On the irregular grid and path-star the "
        "alignment of the top-2 space peaks near 1 and then falls to ~0.5: a third direction, almost exactly L's "
        "trivial (near-constant) eigenvector t, grows to the largest singular value. Our reading: t deviates from "
        "the constant vector along the degrees, so a large t component adds roughly degree-dependent per-context "
        "biases to the logits, which irregular graphs need (context frequency is proportional to degree) and a "
        "symmetric V V^T has no other way to carry; "
        "so U_2 = {t, one Fiedler direction}. The Fiedler pair is not lost: after projecting t out, the alignment "
        "stays at ~0.98, and the final V is numerically rank 3 (t plus the Fiedler pair). Whether the top-r "
        "alignment \"holds\" therefore depends on counting that trivial direction; we report both.")
    out.append("")
    out.append("The t direction does work: seed 0 of this setting retrained (same task), loss of the final V and of "
               "(I - tt^T)V, and the correlation of t with the node degrees:")
    out.append("")
    out += ["| graph | loss, final V | loss, t projected out | loss at V = 0 (ln n) | corr(t, degree) |",
            "|---|---|---|---|---|"]
    for g, row in rows.items():
        A = make_graph(g)
        st = res.settings
        tr = train_node2vec(A, steps=st["steps"], optimizer=st["optimizer"], init_scale=st["init_scale"],
                            seed=st["seed"], checkpoints=[st["steps"]])
        t = spectral_subspaces(A, row.r)["trivial"]
        C = cooccurrence(A, WINDOW)
        deg = A.sum(1)
        corr = "- (regular)" if np.ptp(deg) == 0 else f"{abs(np.corrcoef(t, deg)[0, 1]):.3f} (sign-free)"
        out.append(f"| {g} | {node2vec_loss(tr.V, C):.4f} | {node2vec_loss(tr.V - np.outer(t, t @ tr.V), C):.4f} | "
                   f"{np.log(row.n):.4f} | {corr} |")
    if large is not None:
        cyc = {row.graph: row for row in large.rows}.get("cycle")
        if cyc is not None:
            out.append("")
            out.append(
                f"Large init (init_scale = 0.3) gives the same picture. On the cycle the final s_3 = "
                f"{cyc.sigma_final_mean[2]:.3f} is V's component along the constant vector (checked by hand on seed 0: "
                "the third left singular vector is the constant vector), left over from the initial noise: on a "
                "regular graph a constant added to all logits does not change the softmax, so the loss does not "
                "remove it.")
    out.append("")
    out.append(
        "Not established here: whether the paper's claim concerns this exact objective (we had only the "
        "abstract), sampled walks (we use the expected pair distribution), negative sampling instead of a full "
        "softmax, separate centre/context embeddings, or larger graphs. The loss ends above the entropy floor (an "
        "infimum, unreachable: C has zeros and V V^T is symmetric PSD).")
    return out


def report(results, args, argv):
    """The markdown report from the results and the store (no timing of the invocation)."""
    lines = ["# N5: spectral bias of Node2Vec embeddings on small graphs", ""]
    lines.append(
        f"Made by `python benchmarks/results_nets_n5.py{(' ' + ' '.join(argv)) if argv else ''}` (capacity "
        f"{__version__}, NumPy float64, 1 thread); store `benchmarks/results/nets_n5.sqlite` holding "
        f"{_store_seconds():.0f} s of task time; stored runs are reused.")
    lines.append("")
    lines.append(
        "**Setup** (our choices; the paper, arXiv:2510.26745, was available as an abstract only). Graphs: "
        "15-cycle, 4 x 4 grid, path-star with 3 arms of 4 nodes (n = 13). Objective: the *expected* skip-gram "
        f"loss of stationary uniform random walks (Node2Vec p = q = 1), window w = {WINDOW} in both directions, "
        "full softmax over all nodes, logits V V^T with one shared V of size n x n (no rank bottleneck): "
        "loss = - sum_ij C_ij log softmax(V V^T)_ij, C = (1/2w) sum_t (Pi P^t + (Pi P^t)^T). Training "
        "is deterministic given the seed of V_0 (i.i.d. N(0, init_scale²)). Gradient: analytic, "
        "(G + G^T) V with G = diag(pi) softmax(VV^T) - C, checked against central finite differences and "
        "torch autograd in `tests/test_nets_node2vec.py`.")
    lines.append("")
    lines.append(
        "**Metric**: alignment = mean squared cosine of the principal angles between V's top-r left singular "
        "space U_r (r = 2) and a reference r-subspace, ||U_r^T Q||_F² / r: 1 = identical, 0 = orthogonal, "
        "r/n = expectation for a uniformly random subspace. References: *Fiedler-like* = eigenvectors 2 and 3 "
        "of L = (I - D^-1 A) + (I - D^-1 A)^T in ascending order (a degenerate pair on all three graphs; the "
        "first, *trivial*, eigenvector t is the constant vector on the cycle and close to it on the others); "
        "*top* = the largest eigenvectors of L (control; widened to r_top = 3 on grid and path-star so as not "
        "to split a degenerate eigenspace; its random baseline is r_top/n); *linearised* = the top-2 "
        "eigenvectors of M = 2C - (pi 1^T + 1 pi^T)/n, the operator of small-init gradient flow dV/dt = M V "
        "(our addition). \"(I - tt^T)V\" = the same alignment after projecting the trivial direction t out of V "
        "(random baseline r/(n - 1)); cos²(u_1, t) = overlap of V's top singular vector with t. All values "
        "mean ± sd over seeds.")
    lines.append("")
    lines += ["## Graph facts", ""] + graph_facts(results["gd"]) + [""]
    lines += reading(results["gd"], results.get("gd-large-init")) + [""]
    for name, res in results.items():
        st = res.settings
        lines += [f"## Setting `{name}`: {st['optimizer']}, lr = {st['lr']}, init_scale = {st['init_scale']}, "
                  f"{st['steps']} steps, {st['n_seeds']} seeds (seeds {st['seed']}..{st['seed'] + st['n_seeds'] - 1})",
                  ""]
        lines += summary(res) + [""]
        lines += trajectory(res, set(SHORT_STEPS)) + [""]
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def prog(done, total):
        print(f"  {done}/{total}", file=sys.stderr, flush=True)

    results = {}
    for name, kw in SETTINGS.items():
        print(name, file=sys.stderr, flush=True)
        results[name] = run_n5(seed=0, n_seeds=args.seeds, steps=args.steps, store=STORE, progress=prog, **kw)
    text = report(results, args, list(argv if argv is not None else sys.argv[1:]))
    OUT.write_text(text)
    print(text)
    print(f"results_nets_n5: this invocation took {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
