"""N4, learned subject embeddings: minimal width d* against R ln N; construction, frozen control, associative law.

Data: the committed store ``benchmarks/results/nets_n4.sqlite`` written by
``benchmarks/results_nets_n4.py`` (capacity.nets.models.geometric: logits = U W2 relu(W1 [e(s); e(r)] + b1),
U fixed N(0, I/d), MLP width h = 64, full-batch Adam lr 1e-2, at most 1000 steps, stored = >= 99 % of
the N R facts; d* by doubling from 16 then bisection; seed 0 everywhere, seed 1 where N^2 R <= 2^18).

(a) d against R ln N: learned d* (mean over the seeds run, bars = their range), the frozen-embedding
control d*, the construction d = R k_min (mean over seeds) and the associative prediction (smallest d
with p_c(d, n_params = d^2) >= N R), with the least-squares line of the learned d* against R ln N;
colour = R.  (b) narrow MLP (h = 16), seed 0, N = 64 and 128: learned and frozen-control d* against R,
with the associative d (P = d^2).  (c) readout variants (h = 64, N = 64 ... 512, R = 1 ... 8, seeds 0 and 1):
learned d* against R ln N with U rows scaled to unit norm (fixed) and with U trained, their frozen-embedding
controls (seed 0) and least-squares lines, next to the fixed-Gaussian-U d* of (a) and the construction d.
"""
import math
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/nets_n4.sqlite"
INPUTS = (STORE,)
SEED = 0  # the benchmark's first seed (nothing random is drawn here)
STEPS = 1000
WIDTH = 64
NARROW_WIDTH = 16
VARIANTS = ("normalised", "trained")  # the readout variants of panel c (h = 64)
COLUMNS = ("N", "R", "r_ln_n", "learned_mean", "learned_min", "learned_max", "frozen_mean", "construction_mean",
           "assoc_square", "assoc_params")


def parameters(quick):
    # quick and full read the same store (reading is cheap)
    return {"store": STORE, "seed": SEED, "steps": STEPS, "width": WIDTH, "narrow_width": NARROW_WIDTH}


def _table(records, width, unembedding="fixed"):
    """Rows (COLUMNS) for the searches run with MLP width ``width`` and readout ``unembedding``."""
    from capacity.nets.models.geometric import CONSTRUCTION_K_MAX, LR

    best = {}  # (kind, N, R, seed) -> smallest stored d
    k_min, assoc = {}, {}
    for task, res in records:
        kind = task["kind"]
        if kind in ("learned", "frozen"):
            if (task["steps"] != STEPS or task["width"] != width or task["lr"] != LR
                    or task.get("unembedding", "fixed") != unembedding):
                continue
            key = (kind, task["n_subjects"], task["n_relations"], task["seed"])
            best.setdefault(key, None)
            if res["stored"] and (best[key] is None or task["d"] < best[key]):
                best[key] = task["d"]
        elif kind == "construction" and task["k_max"] == CONSTRUCTION_K_MAX:
            k_min[(task["n_subjects"], task["n_relations"], task["seed"])] = res["k_min"]
        elif kind == "associative":
            assoc[(task["n_facts"], task["params"], task["width"], task["n_relations"])] = res["d"]
    points = sorted({(n, r) for kind, n, r, _ in best if kind == "learned"}, key=lambda p: (p[1], p[0]))

    def stat(vals):
        v = [x for x in vals if x is not None]
        if not v or len(v) < len(vals):
            return np.nan, np.nan, np.nan
        return float(np.mean(v)), float(min(v)), float(max(v))

    rows = []
    for n, r in points:
        learned = stat([d for (kind, nn, rr, _), d in best.items() if kind == "learned" and (nn, rr) == (n, r)])
        frozen = [d for (kind, nn, rr, _), d in best.items() if kind == "frozen" and (nn, rr) == (n, r)]
        ks = [k for (nn, rr, s), k in k_min.items() if (nn, rr) == (n, r) and ("learned", n, r, s) in best]
        cons = stat([None if k is None else r * k for k in ks])[0] if ks else np.nan
        rows.append((n, r, r * math.log(n), *learned, stat(frozen)[0] if frozen else np.nan, cons,
                     assoc.get((n * r, "square", None, 1), np.nan),
                     assoc.get((n * r, "frozen", width, r), np.nan)))
    return np.array(rows, dtype=float).reshape(-1, len(COLUMNS))


def compute(quick):
    from capacity.nets.experiments.n4 import EXPERIMENT, fit_line

    records = plotting.read_store(STORE, experiment=EXPERIMENT)
    table = _table(records, WIDTH)
    narrow = _table(records, NARROW_WIDTH)
    fit = fit_line(table[:, 2], table[:, 3])
    out = {"table": table, "narrow": narrow, "columns": np.array(COLUMNS),
           "fit": np.array([fit["slope"], fit["intercept"], fit["r2"], fit["n"]])}
    for u in VARIANTS:
        t = _table(records, WIDTH, u)
        f = fit_line(t[:, 2], t[:, 3]) if len(t) else {"slope": np.nan, "intercept": np.nan, "r2": np.nan, "n": 0}
        out[f"table_{u}"] = t
        out[f"fit_{u}"] = np.array([f["slope"], f["intercept"], f["r2"], f["n"]])
    return out


def plot(data):
    import matplotlib
    from matplotlib.figure import Figure

    col = {name: i for i, name in enumerate(data["columns"].tolist())}
    fig = Figure(figsize=(15.0, 4.2))
    ax, bx, cx = fig.subplots(1, 3)
    t = data["table"]
    Rs = sorted(set(t[:, col["R"]].astype(int)) | set(data["narrow"][:, col["R"]].astype(int)))
    cmap = matplotlib.colormaps["viridis"]
    colour = {R: cmap(i / max(1, len(Rs) - 0.6)) for i, R in enumerate(Rs)}
    x = t[:, col["r_ln_n"]]
    for R in Rs:
        m = t[:, col["R"]] == R
        if not m.any():
            continue
        y = t[m, col["learned_mean"]]
        err = np.vstack([y - t[m, col["learned_min"]], t[m, col["learned_max"]] - y])
        ax.errorbar(x[m], y, yerr=np.nan_to_num(err), color=colour[R], marker="o", ms=5, ls="none", capsize=2,
                    label=f"learned $d^*$, $R = {R}$")
        ax.plot(x[m], t[m, col["construction_mean"]], color=colour[R], marker="s", mfc="white", ms=5, ls="none")
        ax.plot(x[m], t[m, col["frozen_mean"]], color=colour[R], marker="^", ms=6, ls="none")
        ax.plot(x[m], t[m, col["assoc_square"]], color=colour[R], marker="x", ms=6, ls="none")
    slope, icpt, r2, _ = data["fit"]
    if np.isfinite(slope):
        xs = np.linspace(0, np.nanmax(x) * 1.05, 50)
        ax.plot(xs, slope * xs + icpt, color="black", lw=1.0, ls="--",
                label=f"fit ${slope:.2f}\\,R\\ln N {icpt:+.1f}$ ($R^2 = {r2:.2f}$)")
    for mk, mfc, lab in (("s", "white", "construction $d = R\\,k_{\\min}$"),
                         ("^", "0.4", "frozen-$e(s)$ control $d^*$"),
                         ("x", "0.4", "associative: $p_c(d, d^2) \\geq NR$")):
        ax.plot([], [], marker=mk, mfc=mfc, color="0.4", ls="none", label=lab)
    ax.set_yscale("log")
    ax.set_ylim(6, 3000)  # room for the legend above the data
    ax.set_xlabel(r"$R \ln N$   (MLP width $h = 64$)")
    ax.set_ylabel("embedding width $d$")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    plotting.panel_label(ax, "a", loc="lower right")
    t = data["narrow"]
    for n, mk in ((64, "o"), (128, "D")):
        m = t[:, col["N"]] == n
        if not m.any():
            continue
        R = t[m, col["R"]]
        bx.plot(R, t[m, col["learned_mean"]], color="C0", marker=mk, ms=5, lw=1.2, label=f"learned $d^*$, $N = {n}$")
        bx.plot(R, t[m, col["frozen_mean"]], color="C1", marker=mk, ms=5, lw=1.2, ls="--",
                label=f"frozen-$e(s)$ control, $N = {n}$")
        bx.plot(R, t[m, col["assoc_square"]], color="0.5", marker=mk, mfc="white", ms=5, lw=0.8, ls=":",
                label=f"associative ($P = d^2$), $N = {n}$")
    bx.set_xscale("log", base=2)
    bx.set_xticks([1, 2, 4, 8], labels=["1", "2", "4", "8"])
    bx.set_yscale("log")
    bx.set_ylim(6, 1000)
    bx.set_xlabel("relations $R$   (narrow MLP, $h = 16$)")
    bx.set_ylabel("embedding width $d$")
    bx.legend(loc="upper left", fontsize=7)
    plotting.panel_label(bx, "b", loc="lower right")
    # (c) readout variants: learned d* against R ln N with a unit-norm fixed U and a trained U (h = 64)
    for u, mk, c in zip(VARIANTS, ("o", "D"), ("C3", "C0")):
        t = data[f"table_{u}"]
        if not len(t):
            continue
        x = t[:, col["r_ln_n"]]
        y = t[:, col["learned_mean"]]
        err = np.vstack([y - t[:, col["learned_min"]], t[:, col["learned_max"]] - y])
        cx.errorbar(x, y, yerr=np.nan_to_num(err), color=c, marker=mk, ms=5, ls="none", capsize=2,
                    label=f"learned $d^*$, {u} $U$")
        fm = np.isfinite(t[:, col["frozen_mean"]])
        cx.plot(x[fm], t[fm, col["frozen_mean"]], color=c, marker="^", mfc="white", ms=6, ls="none",
                label=f"frozen-$e(s)$ control, {u} $U$")
        slope, icpt, r2, _ = data[f"fit_{u}"]
        if np.isfinite(slope):
            xs = np.linspace(0, np.nanmax(x) * 1.05, 50)
            cx.plot(xs, slope * xs + icpt, color=c, lw=1.0, ls="--",
                    label=f"fit ${slope:.2f}\\,R\\ln N {icpt:+.1f}$ ($R^2 = {r2:.2f}$)")
    t = data["table"]
    cx.plot(t[:, col["r_ln_n"]], t[:, col["learned_mean"]], color="0.55", marker="o", mfc="none", ms=5, ls="none",
            label="learned $d^*$, fixed Gaussian $U$ (panel a)")
    for R in Rs:
        m = t[:, col["R"]] == R
        if m.any():
            o = np.argsort(t[m, col["r_ln_n"]])
            cx.plot(t[m, col["r_ln_n"]][o], t[m, col["construction_mean"]][o], color="0.7", lw=0.8, ls=":")
    cx.plot([], [], color="0.7", lw=0.8, ls=":", label="construction $d = R\\,k_{\\min}$ (per $R$)")
    cx.set_yscale("log")
    cx.set_ylim(1.5, 3000)
    cx.set_xlabel(r"$R \ln N$   ($h = 64$, readout variants)")
    cx.set_ylabel("embedding width $d$")
    cx.legend(loc="upper left", fontsize=6.5, ncol=2)
    plotting.panel_label(cx, "c", loc="lower right")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
