"""P(feasible) versus p / p_c(d) for every d of the agreement store, coupled and decoupled (collapse plot).

Certified verdicts from the committed store ``benchmarks/results/agreement.sqlite`` (kappa = 0,
N(0, I/d) embeddings, d = 8 ... 32), P(feasible) on the decided trials with 95 % Clopper-Pearson
intervals (``capacity.simulate.binomial_ci``), p rescaled by the exact theory p_c(d) (docs/theory.md §2, eq. T3).
If the finite-size theory is right, the curves of every d cross 1/2 at p / p_c = 1 (vertical line)
and steepen with d; the coupled model's curves sit slightly to the right.
"""
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/agreement.sqlite"
INPUTS = (STORE,)
MODELS = ("decoupled", "coupled")
LEVEL = 0.95


def parameters(quick):
    return {"store": STORE, "level": LEVEL, "kappa": 0.0}


def compute(quick):
    from capacity.simulate import binomial_ci

    counts = {}  # (model, d, p) -> [feasible, infeasible, undecided]
    for task, res in plotting.read_store(STORE, experiment="feasibility"):
        c = counts.setdefault((task["model"], task["d"], task["p"]), [0, 0, 0])
        c[("feasible", "infeasible", "undecided").index(res["verdict"])] += 1
    ds = sorted({d for (_, d, _) in counts})
    pcs = {d: capacity.p_c(d) for d in ds}
    data = {"d_values": np.array(ds, dtype=float), "p_c": np.array([pcs[d] for d in ds])}
    for model in MODELS:
        rows = []
        for (m, d, p), (n_f, n_i, n_u) in sorted(counts.items()):
            if m != model or n_f + n_i == 0:
                continue
            lo, hi = binomial_ci(n_f, n_f + n_i, level=LEVEL)
            rows.append((d, p, p / pcs[d], n_f / (n_f + n_i), lo, hi, n_f + n_i, n_u))
        data[model] = np.array(rows, dtype=float).reshape(-1, 8)
    data["columns"] = np.array(["d", "p", "p_over_p_c", "p_feasible", "ci_low", "ci_high", "n_decided",
                                "n_undecided"])
    return data


def plot(data):
    import matplotlib
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 3.6))
    axes = fig.subplots(1, 2, sharey=True)
    ds = data["d_values"]
    cmap = matplotlib.colormaps["viridis"]
    norm = LogNorm(ds.min(), ds.max() * 1.5)  # keep the last colour off the light yellow end
    col = {name: i for i, name in enumerate(data["columns"])}
    for ax, model, tag in zip(axes, MODELS, "ab", strict=True):
        rows = data[model]
        for d in ds:
            r = rows[rows[:, col["d"]] == d]
            x, y = r[:, col["p_over_p_c"]], r[:, col["p_feasible"]]
            err = np.vstack([y - r[:, col["ci_low"]], r[:, col["ci_high"]] - y])
            ax.errorbar(x, y, yerr=err, color=cmap(norm(d)), marker="o", ms=3.5, lw=1.0, label=f"$d = {d:g}$")
        ax.axvline(1.0, color="black", ls="--", lw=1.0)
        ax.axhline(0.5, color="0.6", ls=":", lw=1.0)
        ax.set_xlabel(r"facts per exact capacity $p\,/\,p_c(d)$")
        ax.set_ylim(-0.03, 1.03)
        plotting.panel_label(ax, f"{tag}  {model}", loc="lower left")
    axes[0].set_ylabel("P(feasible)  (95% Clopper-Pearson)")
    axes[1].legend(loc="upper right", handlelength=1.5)
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
