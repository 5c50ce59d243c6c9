"""Marked-token retrieval (N3): test accuracy vs N / V, N* fits, and the attention-only value path's d^2 limit.

Data: the committed store ``benchmarks/results/nets_n3.sqlite`` written by
``benchmarks/results_nets_n3.py`` (capacity.nets.models.retrieval: L tokens from a vocabulary of V with
fixed N(0, I/d) embeddings, one position marked by an added random trigger, label = pi(marked
token); one attention layer with a learned query, trainable W_V, optional residual ReLU MLP of
width m, fixed random unembedding; 1000 full-batch Adam steps, seed 0).

(a, b) test accuracy against N / V for every (V, d, L), with MLP (m = 64) and attention only
(m = 0), coloured by V / p_c(d); the black curve is the lookup-table coverage floor
1 - (1 - 1/V)^N (expected accuracy of a learner that knows exactly the tokens it has seen marked).
(c) measured N* (0.9 and 0.99) against the least-squares power law in V, L, d (fit per m and
threshold, as in nets_n3.md).  (d) value-path test: fraction of the V associations stored (map
accuracy) against V / p_c(d) for d = 8, 12, 16 at N = 16 V, 3000 steps: attention only (m = 0; three
instances, dots, and their mean, line) and with an MLP (m = 64, open diamonds, one instance).
"""
import math
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/nets_n3.sqlite"
INPUTS = (STORE,)
SEED = 0  # the benchmark's seed (nothing random is drawn here)
STEPS = 1000
VP_STEPS = 3000
N_TEST = 2000
RUN_COLUMNS = ("V", "d", "L", "m", "n_train", "test_acc", "p_c")
NSTAR_COLUMNS = ("V", "d", "L", "m", "threshold", "n_star", "n_fit")
VP_COLUMNS = ("d", "V", "m", "seed", "ratio", "map_acc", "test_acc")
VP_REPLICAS = 3  # m = 0 instances: seeds SEED, SEED + 1, SEED + 2


def parameters(quick):
    # quick and full read the same store (reading is cheap); quick only thins the coverage curve
    return {"store": STORE, "seed": SEED, "steps": STEPS, "vp_steps": VP_STEPS, "vp_replicas": VP_REPLICAS,
            "n_test": N_TEST,
            "n_curve": 40 if quick else 200}


def compute(quick):
    from capacity import p_c
    from capacity.nets.experiments.n3 import EXPERIMENT, THRESHOLDS, fit_power_law, minimal_n

    par = parameters(quick)
    records = plotting.read_store(STORE, experiment=EXPERIMENT)
    pcs = {}

    def pc(d):
        if d not in pcs:
            pcs[d] = float(p_c(d))
        return pcs[d]

    runs, vp = [], []
    for task, res in records:
        if task["n_test"] != N_TEST or task["device"] != "cpu":
            continue
        if task["kind"] == "grid" and task["steps"] == STEPS and task["seed"] == SEED:
            runs.append((task["V"], task["d"], task["L"], task["m"], task["n_train"], res["test_acc"], pc(task["d"])))
        elif task["kind"] == "value-path" and task["steps"] == VP_STEPS and SEED <= task["seed"] < SEED + VP_REPLICAS:
            vp.append((task["d"], task["V"], task["m"], task["seed"], task["V"] / pc(task["d"]), res["map_acc"],
                       res["test_acc"]))
    runs = np.array(sorted(runs), dtype=float).reshape(-1, len(RUN_COLUMNS))
    vp = np.array(sorted(vp), dtype=float).reshape(-1, len(VP_COLUMNS))
    configs = sorted({tuple(r[:4]) for r in runs})
    nstar = []
    for m in sorted({c[3] for c in configs}):
        for thr in THRESHOLDS:
            rows = []
            for c in (c for c in configs if c[3] == m):
                sel = runs[np.all(runs[:, :4] == c, axis=1)]
                sel = sel[np.argsort(sel[:, 4])]
                rows.append({"V": c[0], "d": c[1], "L": c[2], "n_star": minimal_n(sel[:, 4], sel[:, 5], thr)[0]})
            fit = fit_power_law(rows)
            k = fit["coef"]
            for r in rows:
                if math.isfinite(r["n_star"]):
                    pred = (math.exp(k["const"]) * r["V"] ** k["V"] * r["L"] ** k["L"] * r["d"] ** k["d"]
                            if math.isfinite(k["V"]) else math.nan)
                    nstar.append((r["V"], r["d"], r["L"], m, thr, r["n_star"], pred))
    x = np.geomspace(0.3, 20.0, par["n_curve"])
    return {"runs": runs, "run_columns": np.array(RUN_COLUMNS),
            "nstar": np.array(nstar, dtype=float).reshape(-1, len(NSTAR_COLUMNS)),
            "nstar_columns": np.array(NSTAR_COLUMNS),
            "vp": vp, "vp_columns": np.array(VP_COLUMNS), "x": x,
            # coverage floor at V = 64 (V = 32 and 128 differ by < 0.01 on this scale)
            "coverage": 1.0 - (1.0 - 1.0 / 64.0) ** (x * 64.0)}


def plot(data):
    import matplotlib
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(8.2, 6.6))
    (ax, bx), (cx, dx) = fig.subplots(2, 2)
    runs, col = data["runs"], {n: i for i, n in enumerate(data["run_columns"])}
    cmap = matplotlib.colormaps["viridis"]
    norm = LogNorm(0.15, 4.0)
    for panel, m_sel in ((ax, lambda m: m > 0), (bx, lambda m: m == 0)):
        configs = sorted({tuple(r[:4]) for r in runs if m_sel(r[col["m"]])})
        for c in configs:
            sel = runs[np.all(runs[:, :4] == c, axis=1)]
            sel = sel[np.argsort(sel[:, col["n_train"]])]
            ratio = c[0] / sel[0, col["p_c"]]
            panel.plot(sel[:, col["n_train"]] / c[0], sel[:, col["test_acc"]], color=cmap(norm(ratio)), lw=0.9,
                       marker="o", ms=2.5, alpha=0.85)
        panel.plot(data["x"], data["coverage"], color="black", lw=1.4, ls="--")
        for thr in (0.9, 0.99):
            panel.axhline(thr, color="0.5", lw=0.7, ls=":")
        panel.set_xscale("log")
        panel.set_xlabel(r"training sequences $N\,/\,V$")
        panel.set_ylim(0.0, 1.13)
    ax.set_ylabel("test accuracy")
    ms = sorted({int(m) for m in runs[:, col["m"]] if m > 0}) or [64]
    plotting.panel_label(ax, f"a  attention + MLP ($m = {ms[0]}$)", loc="upper left")
    plotting.panel_label(bx, "b  attention only ($m = 0$)", loc="upper left")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = fig.colorbar(sm, ax=bx, label=r"$V\,/\,p_c(d)$", pad=0.02)
    cb.set_ticks([0.25, 0.5, 1.0, 2.0, 4.0])
    cb.set_ticklabels(["0.25", "0.5", "1", "2", "4"])
    cb.minorticks_off()
    bx.legend(handles=[Line2D([], [], color="black", ls="--", label=r"coverage $1-(1-1/V)^N$")], loc="lower right")

    ns, nc = data["nstar"], {n: i for i, n in enumerate(data["nstar_columns"])}
    mlp_m = int(ns[ns[:, nc["m"]] > 0, nc["m"]][0]) if np.any(ns[:, nc["m"]] > 0) else 64
    styles = {(1, 0.9): ("o", "#0072B2"), (1, 0.99): ("s", "#D55E00"), (0, 0.9): ("^", "#009E73"),
              (0, 0.99): ("v", "#CC79A7")}
    for (has_mlp, thr), (mk, c) in styles.items():
        sel = ns[((ns[:, nc["m"]] > 0) == bool(has_mlp)) & (ns[:, nc["threshold"]] == thr)]
        if len(sel) == 0:
            continue
        ok = np.isfinite(sel[:, nc["n_fit"]])
        cx.loglog(np.where(ok, sel[:, nc["n_fit"]], np.nan), sel[:, nc["n_star"]], marker=mk, ls="none", color=c,
                  ms=4.5, label=f"{f'm = {mlp_m}' if has_mlp else 'm = 0'}, acc $\\geq$ {thr}")
    lim = np.array([np.nanmin(ns[:, 5:]) / 1.3, np.nanmax(ns[:, 5:]) * 1.3]) if len(ns) else np.array([10.0, 1e4])
    cx.plot(lim, lim, color="black", lw=0.8)
    cx.set_xscale("log")
    cx.set_yscale("log")
    cx.set_xlabel(r"power-law fit $c\,V^{a_V} L^{a_L} d^{a_d}$")
    cx.set_ylabel(r"measured $N^*$")
    if cx.get_legend_handles_labels()[0]:
        cx.legend(loc="lower right")
    plotting.panel_label(cx, "c  $N^*$ vs fit", loc="upper left")

    vp, vc = data["vp"], {n: i for i, n in enumerate(data["vp_columns"])}
    ds = sorted({int(d) for d in vp[:, vc["d"]]})
    for i, d in enumerate(ds):
        c = cmap(i / max(1, len(ds) - 0.4))
        sel = vp[(vp[:, vc["d"]] == d) & (vp[:, vc["m"]] == 0)]
        if len(sel):
            ratios = np.unique(sel[:, vc["ratio"]])
            mean = [sel[sel[:, vc["ratio"]] == r, vc["map_acc"]].mean() for r in ratios]
            dx.plot(ratios, mean, color=c, lw=1.2, label=f"$d = {d}$, $m = 0$ (mean)")
            dx.plot(sel[:, vc["ratio"]], sel[:, vc["map_acc"]], marker="o", ls="none", color=c, ms=3.5, alpha=0.7)
        sel = vp[(vp[:, vc["d"]] == d) & (vp[:, vc["m"]] > 0)]
        if len(sel):
            dx.plot(sel[:, vc["ratio"]], sel[:, vc["map_acc"]], marker="D", ls="none", color=c, mfc="none", ms=5,
                    label=f"$d = {d}$, $m = {int(sel[0, vc['m']])}$")
    dx.axvline(1.0, color="black", ls=":", lw=1.2)
    dx.set_xlim(0.4, 2.1)
    dx.set_xlabel(r"$V\,/\,p_c(d)$   ($p_c$: linear-memory capacity, $N = d^2$)")
    dx.set_ylabel("associations stored (map accuracy)")
    dx.set_ylim(0.0, 1.16)
    if dx.get_legend_handles_labels()[0]:
        dx.legend(loc="lower left", fontsize=7.5)
    plotting.panel_label(dx, "d  value path, $N = 16V$", loc="upper right")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
