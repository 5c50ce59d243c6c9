"""N2 transformer with frozen random embeddings: largest stored fact set vs trainable parameters, linear law beside.

Data: the committed store ``benchmarks/results/nets_n2.sqlite`` written by
``benchmarks/results_nets_n2.py`` (one-layer transformer of capacity/nets/models/transformer.py, R = 4
relations, Adam lr 1e-2, at most 3000 steps per run, stored = accuracy >= 0.99 over all N R facts).
For every (d, m, seed) the marker is the largest fact set found stored at the 3000-step budget and
the bar reaches up to the smallest one found not stored (the search's bracket); a star marks a
chain whose first unstored set *was* stored when retrained with 6000 steps (budget check); an open
circle is the largest set stored by the whole search repeated at 6000 steps (seed 0 only).

Panel a: against all trainable parameters P = 4 d^2 + 2 d m + m; panel b: against the MLP's
parameters only, 2 d m + m.  Curves (``capacity.nets.models.transformer.facts_law``): the linear-memory
law (T3), facts p solving p = P alpha_c(p - 1) (solid), and its variant with N - 1 = p/R - 1
competitors per fact, p = P alpha_c(p/R - 1) (dashed).
"""
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/nets_n2.sqlite"
INPUTS = (STORE,)
EXPERIMENT = "nets-n2"
STEPS = 3000  # the benchmark's step budget (its budget check uses 2 * STEPS)
LONG_SEED = 0  # the benchmark's second budget check: the whole search at 2 * STEPS for this seed
N_RELATIONS = 4
COLUMNS = ("d", "m", "seed", "n_params", "n_params_mlp", "max_facts", "min_unstored_facts", "budget_stored",
           "max_facts_long")


def parameters(quick):
    return {"store": STORE, "steps": STEPS, "long_seed": LONG_SEED, "n_relations": N_RELATIONS, "n_theory": 6 if quick else 40}


def chains():
    """Rows of COLUMNS, one per (d, m, seed): the search bracket at STEPS and the 2 x STEPS check."""
    from capacity.nets.models.transformer import count_params

    runs = {}
    for task, res in plotting.read_store(STORE, experiment=EXPERIMENT):
        if task["n_relations"] != N_RELATIONS:
            continue
        key = (task["d"], task["m"], task["seed"])
        runs.setdefault(key, []).append((task["steps"], task["n_subjects"], res["stored"]))
    rows = []
    for (d, m, seed), rs in sorted(runs.items()):
        stored = [n for s, n, ok in rs if s == STEPS and ok]
        unstored = [n for s, n, ok in rs if s == STEPS and not ok]
        lo = max(stored) if stored else 0
        hi = min((n for n in unstored if n > lo), default=None)
        check = [ok for s, n, ok in rs if s == 2 * STEPS and n == hi]
        long = [n for s, n, ok in rs if s == 2 * STEPS and ok]
        long = N_RELATIONS * max(long) if long and seed == LONG_SEED else np.nan
        rows.append((d, m, seed, count_params(d, m), count_params(d, m, part="mlp"), N_RELATIONS * lo,
                     np.nan if hi is None else N_RELATIONS * hi, float(check[0]) if check else np.nan, long))
    return np.array(rows, dtype=float).reshape(-1, len(COLUMNS))


def compute(quick):
    from capacity.nets.models.transformer import facts_law

    par = parameters(quick)
    sim = chains()
    col = {name: i for i, name in enumerate(COLUMNS)}
    lo = 0.7 * min(sim[:, col["n_params_mlp"]].min(), sim[:, col["n_params"]].min())
    hi = 1.4 * sim[:, col["n_params"]].max()
    p = np.geomspace(lo, hi, par["n_theory"])
    return {"sim": sim, "columns": np.array(COLUMNS), "p": p,
            "law": np.array([facts_law(x) for x in p]),
            "law_r": np.array([facts_law(x, N_RELATIONS) for x in p])}


def plot(data):
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(7.4, 3.8))
    ax, bx = fig.subplots(1, 2, sharey=True)
    col = {name: i for i, name in enumerate(data["columns"])}
    sim = data["sim"]
    configs = sorted({(int(r[col["d"]]), int(r[col["m"]])) for r in sim})
    cmap = matplotlib.colormaps["viridis"]
    colour = {c: cmap(i / max(1, len(configs) - 0.6)) for i, c in enumerate(configs)}
    for a, xname in ((ax, "n_params"), (bx, "n_params_mlp")):
        a.plot(data["p"], data["law"], color="black", lw=1.3)
        a.plot(data["p"], data["law_r"], color="black", lw=1.1, ls="--")
        for c in configs:
            rs = sim[(sim[:, col["d"]] == c[0]) & (sim[:, col["m"]] == c[1])]
            label = f"$d = {c[0]},\\ m = {c[1]}$"
            for k, r in enumerate(rs):
                x = r[col[xname]] * (1.0 + 0.03 * (k - (len(rs) - 1) / 2))
                y, top = r[col["max_facts"]], r[col["min_unstored_facts"]]
                if y <= 0:  # nothing stored in this chain: no point on a log axis
                    continue
                a.plot([x], [y], marker="o", ms=5, color=colour[c], ls="none", label=label)
                label = None
                if np.isfinite(top):
                    a.plot([x, x], [y, top], color=colour[c], lw=1.2)
                if r[col["budget_stored"]] == 1.0:
                    a.plot([x], [top], marker="*", ms=8, color=colour[c], ls="none")
                if np.isfinite(r[col["max_facts_long"]]):
                    a.plot([x * 1.06], [r[col["max_facts_long"]]], marker="o", ms=6, mfc="none", mew=1.2,
                           color=colour[c], ls="none")
        a.set_xscale("log")
        a.set_yscale("log")
    ax.set_xlabel(r"trainable parameters $P = 4d^2 + 2dm + m$")
    bx.set_xlabel(r"MLP parameters $2dm + m$")
    ax.set_ylabel(r"facts stored at $\geq 99\,\%$ accuracy")
    plotting.panel_label(ax, "a  all trainable", loc="upper left")
    plotting.panel_label(bx, "b  MLP only", loc="upper left")
    ax.legend(loc="lower right", handlelength=1.0, fontsize=8)
    handles = [
        Line2D([], [], color="black", lw=1.3, label=r"linear law (T3): $p = P\,\alpha_c(p-1)$"),
        Line2D([], [], color="black", lw=1.1, ls="--", label=r"$p = P\,\alpha_c(p/R-1)$, $R = 4$"),
        Line2D([], [], color="0.3", lw=1.2, marker="o", ms=5, label="max stored .. first unstored"),
        Line2D([], [], color="0.3", marker="*", ms=8, ls="none", label="stored with 2x steps"),
        Line2D([], [], color="0.3", marker="o", ms=6, mfc="none", mew=1.2, ls="none",
               label=f"max stored, 2x steps (seed {LONG_SEED})"),
    ]
    bx.legend(handles=handles, loc="lower right", fontsize=7.5, handlelength=2.0)
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
