"""Multi-hop factual recall: minimal width against the number of hops k, with and without chain-of-thought.

Data: the committed store ``benchmarks/results/nets_multihop.sqlite`` written by
``benchmarks/results_nets_multihop.py`` (capacity.nets.models.multihop; docs/multihop.md).

(a) embedding width d against k (N = 64, R = 2): the exact constructions (chain-of-thought: the N4 gate
block at every step; composite relations: R^k code slots; depth-k stack) and gradient descent (h = 64,
seeds 0 and 1, mean and range): with chain-of-thought the smallest d with >= 99 % on the held-out k-hop
queries; without, the smallest d that fits the training queries (held-out >= 99 % is never reached up to
d = 64: open triangles).  (b) parameter counts against k: constructions and the GD models at their d*, with
the information bound R log2 N! / b (b = 32 and 2 bits per parameter), which does not grow with k.
(c) held-out k-hop accuracy at d = 32 (R = 2; N = 32, 64, 128) for the three modes, against chance 1/N.
(d) the constructions' smallest exact code length kc against ln N (k = 1 ... 4, R = 2, 3): d = R kc with
chain-of-thought, R^k kc for composite relations.
"""
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/nets_multihop.sqlite"
INPUTS = (STORE,)
SEED = 0  # nothing random is drawn here
STEPS = 1500
WIDTH = 64
N_MAIN, R_MAIN = 64, 2
D_PROBE = 32
HELD_OUT = 0.2
MODES = ("cot", "composite", "stack")
COLOUR = {"cot": "C0", "composite": "C1", "stack": "C2"}
LABEL = {"cot": "chain-of-thought", "composite": "direct: composite relations", "stack": "direct: depth-$k$ stack"}
BITS = (32, 2)


def parameters(quick):
    # quick and full read the same store (reading is cheap)
    return {"store": STORE, "steps": STEPS, "width": WIDTH, "n": N_MAIN, "r": R_MAIN, "d_probe": D_PROBE,
            "held_out": HELD_OUT}


def compute(quick):
    from capacity.nets.experiments.multihop import EXPERIMENT
    from capacity.nets.models.multihop import fact_bits, min_params

    records = plotting.read_store(STORE, experiment=EXPERIMENT)
    cons = []  # N, R, k, mode, seed, kc, d, params
    runs = {}  # (criterion, N, R, k, mode, seed) -> list of (d, met, n_params)
    probe = {}  # (N, R, k, mode, seed) -> heldout
    for task, res in records:
        m = MODES.index(task["mode"])
        if task["kind"] == "construction":
            cons.append((task["n_entities"], task["n_relations"], task["hops"], m, task["seed"],
                         np.nan if res["code_length"] is None else res["code_length"],
                         np.nan if res["d"] is None else res["d"], np.nan if res["n_params"] is None
                         else res["n_params"]))
            continue
        if (task["width"] != WIDTH or task["steps"] != STEPS or task["stop_at"] != 1.0
                or task["held_out"] != HELD_OUT):  # the data-dependence runs vary the held-out fraction
            continue
        key = (task["n_entities"], task["n_relations"], task["hops"], m, task["seed"])
        if task["d"] == D_PROBE:  # fixed-width runs (probe runs, longer words, search steps at d_probe)
            probe[key] = np.nan if res["heldout_accuracy"] is None else res["heldout_accuracy"]
        if task["kind"] == "probes":
            continue
        for crit in ("stored", "fit"):
            runs.setdefault((crit, *key), []).append((task["d"], bool(res[crit]), res["n_params"], task["d"]))
    gd = []  # N, R, k, mode, seed, criterion(0 stored, 1 fit), d*, params at d*, d_max tried
    for (crit, *key), lst in sorted(runs.items()):
        met = [(d, p) for d, ok, p, _ in lst if ok]
        dmax = max(d for d, *_ in lst)
        best = min(met) if met else (np.nan, np.nan)
        gd.append((*key, 0 if crit == "stored" else 1, best[0], best[1], dmax))
    Ns = sorted({c[0] for c in cons if c[1] == R_MAIN})
    bound = np.array([[n, R_MAIN, fact_bits(n, R_MAIN)] + [min_params(n, R_MAIN, bits_per_param=b) for b in BITS]
                      for n in Ns], dtype=float).reshape(-1, 3 + len(BITS))
    return {"cons": np.array(cons, dtype=float).reshape(-1, 8), "gd": np.array(gd, dtype=float).reshape(-1, 9),
            "probe": np.array([(*key, v) for key, v in sorted(probe.items())], dtype=float).reshape(-1, 6),
            "bound": bound}


def _agg(rows, col):
    """Mean, min, max of column ``col`` over seeds (NaN if any seed is NaN)."""
    v = rows[:, col]
    if not len(v) or np.any(np.isnan(v)):
        return np.nan, np.nan, np.nan
    return float(v.mean()), float(v.min()), float(v.max())


def plot(data):
    from matplotlib.figure import Figure

    cons, gd, probe, bound = data["cons"], data["gd"], data["probe"], data["bound"]
    fig = Figure(figsize=(12.0, 8.4))
    (ax, bx), (cx, dx) = fig.subplots(2, 2)
    ks = sorted(set(cons[:, 2].astype(int)))  # the searched k (runs at longer k are fixed-width only: panel c)
    main = (cons[:, 0] == N_MAIN) & (cons[:, 1] == R_MAIN)
    gmain = (gd[:, 0] == N_MAIN) & (gd[:, 1] == R_MAIN)
    for m, mode in enumerate(MODES):
        c = COLOUR[mode]
        # constructions
        y = [_agg(cons[main & (cons[:, 2] == k) & (cons[:, 3] == m)], 6)[0] for k in ks]
        p = [_agg(cons[main & (cons[:, 2] == k) & (cons[:, 3] == m)], 7)[0] for k in ks]
        mk, lw = ("D", 2.4) if mode == "stack" else ("s", 1.2)  # stack: the same d as chain-of-thought
        ax.plot(ks, y, color=c, marker=mk, mfc="white", lw=lw, ls="--", label=f"construction, {LABEL[mode]}",
                zorder=1 if mode == "stack" else 2)
        bx.plot(ks, p, color=c, marker=mk, mfc="white", lw=1.2, ls="--", label=f"construction, {LABEL[mode]}")
        # gradient descent: held-out criterion for cot, fit criterion for the direct modes
        crit = 0 if mode == "cot" else 1
        xs, ys, lo, hi, ps = [], [], [], [], []
        for k in ks:
            rows = gd[gmain & (gd[:, 2] == k) & (gd[:, 3] == m) & (gd[:, 5] == (0 if k == 1 else crit))]
            mean, mn, mx = _agg(rows, 6)
            if np.isfinite(mean):
                xs.append(k), ys.append(mean), lo.append(mean - mn), hi.append(mx - mean)
                ps.append(_agg(rows, 7)[0])
        lab = "GD, held-out ≥ 99 %" if mode == "cot" else "GD, training queries fitted ≥ 99 %"
        ax.errorbar(xs, ys, yerr=[lo, hi], color=c, marker="o", ms=5, lw=1.4, capsize=2, label=f"{lab}, {LABEL[mode]}")
        bx.plot(xs, ps, color=c, marker="o", ms=5, lw=1.4, label=f"GD at $d^*$, {LABEL[mode]}")
        if mode != "cot":  # held-out >= 99 % never reached: mark the largest d tried
            for k in ks:
                rows = gd[gmain & (gd[:, 2] == k) & (gd[:, 3] == m) & (gd[:, 5] == 0)]
                if k > 1 and len(rows) and np.all(np.isnan(rows[:, 6])):
                    ax.plot(k + 0.06 * (m - 1), rows[:, 8].max(), color=c, marker="^", mfc="white", ms=8, ls="none")
    ax.plot([], [], color="0.4", marker="^", mfc="white", ls="none",
            label="direct GD: held-out ≥ 99 % not reached up to this $d$")
    ax.set_yscale("log")
    ax.set_xticks(ks)
    ax.set_xlabel(f"hops $k$   ($N = {N_MAIN}$, $R = {R_MAIN}$, MLP width $h = {WIDTH}$)")
    ax.set_ylabel("embedding width $d$")
    ax.legend(loc="upper left", fontsize=6.5)
    plotting.panel_label(ax, "a", loc="lower right")
    b = bound[bound[:, 0] == N_MAIN]
    if len(b):
        for j, bits in enumerate(BITS):
            bx.axhline(b[0, 3 + j], color="0.3", lw=1.0, ls=[":", "-."][j],
                       label=f"information bound $R\\log_2 N!/b$, $b = {bits}$ bits/parameter")
    bx.set_yscale("log")
    bx.set_xticks(ks)
    bx.set_xlabel(f"hops $k$   ($N = {N_MAIN}$, $R = {R_MAIN}$)")
    bx.set_ylabel("parameters (U fixed, not counted)")
    bx.legend(loc="upper left", fontsize=6.5)
    plotting.panel_label(bx, "b", loc="lower right")
    Ns = sorted(set(probe[probe[:, 1] == R_MAIN, 0].astype(int)))
    for m, mode in enumerate(MODES):
        for n, mk in zip(Ns, ("o", "D", "v", "s")):
            rows = probe[(probe[:, 0] == n) & (probe[:, 1] == R_MAIN) & (probe[:, 3] == m) & (probe[:, 2] > 1)]
            kk = sorted(set(rows[:, 2].astype(int)))
            y = [100 * np.mean(rows[rows[:, 2] == k, 5]) for k in kk]
            cx.plot(kk, y, color=COLOUR[mode], marker=mk, ms=5, lw=1.2, label=f"{LABEL[mode]}, $N = {n}$")
    for n, ls in zip(Ns, (":", "-.", "--", "-")):
        cx.axhline(100 / n, color="0.5", lw=0.8, ls=ls, label=f"chance $1/N$, $N = {n}$")
    cx.set_ylim(-3, 112)
    cx.set_xticks(sorted(set(probe[:, 2].astype(int)) - {1}))
    cx.set_xlabel(f"hops $k$   (GD, $R = {R_MAIN}$, $d = {D_PROBE}$, $h = {WIDTH}$, mean over seeds)")
    cx.set_ylabel("held-out $k$-hop accuracy (%)")
    cx.legend(loc="center left", fontsize=6.5)
    plotting.panel_label(cx, "c", loc="upper right")
    for R, mk in ((2, "o"), (3, "D")):
        for k in ks:
            for m, mode in enumerate(("cot", "composite")):
                rows = cons[(cons[:, 1] == R) & (cons[:, 2] == k) & (cons[:, 3] == MODES.index(mode))]
                if (mode == "cot" and k > 1) or (mode == "composite" and k == 1) or not len(rows):
                    continue  # the cot construction does not depend on k; composite at k = 1 is the cot one
                Ns_ = sorted(set(rows[:, 0].astype(int)))
                y = [np.nanmean(rows[rows[:, 0] == n, 5]) for n in Ns_]
                colour = COLOUR[mode] if mode == "cot" else plotting_colour(k, len(ks))
                lab = (f"cot (any $k$), $R = {R}$" if mode == "cot" else f"composite, $k = {k}$, $R = {R}$")
                dx.plot(np.log(Ns_), y, color=colour, marker=mk, ms=4, lw=1.0, ls="-" if R == 2 else "--",
                        label=lab)
    dx.set_xlabel(r"$\ln N$   (constructions, seeds 0 and 1)")
    dx.set_ylabel("smallest exact code length $k_c$ per slot")
    dx.legend(loc="upper left", fontsize=6, ncol=2)
    plotting.panel_label(dx, "d", loc="lower right")
    return fig


def plotting_colour(k, n):
    import matplotlib

    return matplotlib.colormaps["viridis"](min(0.9, (k - 1) / max(1, n - 1)))


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
