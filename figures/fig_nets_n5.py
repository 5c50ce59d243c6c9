"""N5, Node2Vec spectral bias: alignment of V's top-2 singular space with L's Fiedler-like eigenvectors vs step.

Data: the committed store ``benchmarks/results/nets_n5.sqlite`` written by
``benchmarks/results_nets_n5.py``, setting ``gd`` (expected skip-gram objective of uniform walks,
window 5, full softmax, logits V V^T with V n x n; plain GD, lr = 0.05 n, V_0 ~ N(0, 1e-6),
20000 steps, 10 seeds).

Top row, one panel per graph (15-cycle, 4 x 4 grid, 3-arm path-star): alignment (mean squared
cosine of the principal angles, mean ± sd over seeds) against training step + 1 of V's top-2
left singular space with the Fiedler-like eigenvectors of L = (I - D^-1 A) + (I - D^-1 A)^T
(solid), the same after projecting L's trivial eigenvector out of V (dashed), and with the top
eigenvectors of L (control, dotted); grey line: random-subspace expectation r/n.  Bottom row:
the learned 2-D embedding of each graph (top-2 singular directions of the final V with the
trivial direction projected out, seed 0), edges drawn.
"""
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/nets_n5.sqlite"
INPUTS = (STORE,)
GRAPH_NAMES = ("cycle", "grid", "path-star")
SETTING = {"optimizer": "gd", "init_scale": 1e-3, "steps": 20000, "window": 5, "r": 2}
EMBED_SEED = 0


def parameters(quick):
    return {"store": STORE, "graphs": list(GRAPH_NAMES), **SETTING, "embedding_seed": EMBED_SEED,
            "max_seeds": 3 if quick else None}


def compute(quick):
    from capacity.nets.models.node2vec import make_graph

    par = parameters(quick)
    runs = {g: {} for g in GRAPH_NAMES}
    for task, res in plotting.read_store(STORE, experiment="nets-n5"):
        if task["graph"] in runs and all(task[k] == v for k, v in SETTING.items()) and task["lr"] == 0.05 * len(
                make_graph(task["graph"])) and task["dim"] == len(make_graph(task["graph"])):
            runs[task["graph"]][task["seed"]] = res
    data = {}
    for g in GRAPH_NAMES:
        seeds = sorted(runs[g])
        if par["max_seeds"]:
            seeds = seeds[:par["max_seeds"]]
        if not seeds:
            raise ValueError(f"store {STORE} holds no {g!r} runs of the gd setting; run benchmarks/results_nets_n5.py")
        res = [runs[g][s] for s in seeds]
        steps = np.array(res[0]["checkpoint_steps"], dtype=float)
        cols = [steps]
        for key in ("align_fiedler", "align_nontrivial", "align_top"):
            X = np.array([r[key] for r in res])
            cols += [X.mean(0), X.std(0, ddof=1) if len(X) > 1 else np.zeros(len(steps))]
        key = g.replace("-", "_")
        data[f"curves_{key}"] = np.column_stack(cols)
        A = make_graph(g)
        data[f"baseline_{key}"] = SETTING["r"] / len(A)
        data[f"n_seeds_{key}"] = len(seeds)
        data[f"embedding_{key}"] = np.array(runs[g].get(EMBED_SEED, res[0])["embedding"], dtype=float)
        data[f"edges_{key}"] = np.argwhere(np.triu(A) > 0).astype(float)
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.5, 6.4))
    axes = fig.subplots(2, 3)
    labels = {"cycle": "15-cycle", "grid": r"$4\times 4$ grid", "path-star": "path-star, 3 arms of 4"}
    for j, g in enumerate(GRAPH_NAMES):
        key = g.replace("-", "_")
        c = data[f"curves_{key}"]
        x = c[:, 0] + 1
        ax = axes[0, j]
        for k, lab, ls, col in ((1, "Fiedler-like, $U_2(V)$", "-", "C0"),
                                (3, "Fiedler-like, $U_2((I-tt^\\top)V)$", "--", "C1"),
                                (5, "top eigenvectors of $L$", ":", "C2")):
            ax.plot(x, c[:, k], ls=ls, color=col, lw=1.6, label=lab)
            ax.fill_between(x, np.clip(c[:, k] - c[:, k + 1], 0, 1), np.clip(c[:, k] + c[:, k + 1], 0, 1),
                            color=col, alpha=0.2, lw=0)
        ax.axhline(data[f"baseline_{key}"], color="0.5", lw=1.2, label="random subspace $r/n$")
        ax.set_xscale("log")
        ax.set_ylim(-0.03, 1.05)
        ax.set_xlabel("training step + 1")
        if j == 0:
            ax.set_ylabel("alignment with subspace")
            ax.legend(loc="center right", fontsize=7.5)
        plotting.panel_label(ax, f"{'abc'[j]}  {labels[g]}", loc="center left" if j else "upper left")
        bx = axes[1, j]
        e = data[f"embedding_{key}"]
        for a, b in data[f"edges_{key}"].astype(int):
            bx.plot(e[[a, b], 0], e[[a, b], 1], color="0.6", lw=1.0, zorder=1)
        bx.scatter(e[:, 0], e[:, 1], s=22, color="C0", zorder=2)
        if g == "path-star":
            bx.scatter(e[:1, 0], e[:1, 1], s=40, color="C3", zorder=3, label="centre")
            bx.legend(loc="lower left", fontsize=7.5)
        bx.set_aspect("equal", adjustable="datalim")
        bx.set_xlabel("embedding direction 1")
        if j == 0:
            bx.set_ylabel("embedding direction 2")
        plotting.panel_label(bx, "def"[j], loc="upper left")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
