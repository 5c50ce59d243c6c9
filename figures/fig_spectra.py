"""Singular values of the optimal (coupled, decoupled) and Hebbian memories at d = 32 against the quarter circle.

At the load alpha = 0.5 alpha_c.

From the committed store ``benchmarks/results/mechanism.sqlite`` (experiment "margin-detail",
``benchmarks/results_mechanism.py``): the Frobenius max-margin W of each certified instance and the
Hebbian W_H = sum_mu y_mu x_mu^T of the same instance (coupled and decoupled instances share x and
y, so one Hebbian spectrum per trial), all at ||W||_F = d, singular values divided by sqrt(d),
Gaussian N(0, I/d) embeddings, d = 32 and the load alpha = 0.5 alpha_c(p - 1, 0) (p = 105), pooled
over the stored trials.  Reference: the quarter-circle density sqrt(4 - s^2) / pi on [0, 2] of a
square Gaussian matrix.  Panel a: histograms (densities); panel b: empirical distribution functions.
"""
import math
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/mechanism.sqlite"
INPUTS = (STORE,)
D, LOAD, EMBEDDING = 32, 0.5, "gaussian"


def parameters(quick):
    return {"d": D, "load_fraction": LOAD, "embedding": EMBEDDING, "store": STORE}


def select_p(records, d, load):
    """The stored p at dimension d whose load p/d^2 E dist^2(p - 1) is closest to ``load`` alpha_c."""
    ps = sorted({t["p"] for t, _ in records if t["d"] == d})
    if not ps:
        raise ValueError(f"no stored cell at d = {d} in {STORE}")
    return min(ps, key=lambda p: abs(p / d**2 * capacity.expected_dist2(p - 1) - load))


def compute(quick):
    records = plotting.read_store(STORE, experiment="margin-detail")
    p = select_p(records, D, LOAD)
    data = {"d": D, "p": p, "load_fraction": p / D**2 * capacity.expected_dist2(p - 1)}
    hebbian = {}
    for model in ("coupled", "decoupled"):
        svs, n = [], 0
        for task, res in records:
            if (task["d"], task["p"], task["model"], task["embedding"]) != (D, p, model, EMBEDDING):
                continue
            if res["verdict"] != "feasible":
                continue
            n += 1
            svs.append(np.asarray(res["singular_values"]) / math.sqrt(D))
            hebbian.setdefault(task["trial"], np.asarray(res["hebbian_singular_values"]) / math.sqrt(D))
        data[f"sv_{model}"] = np.concatenate(svs)
        data[f"n_trials_{model}"] = n
    data["sv_hebbian"] = np.concatenate([hebbian[t] for t in sorted(hebbian)])
    data["n_trials_hebbian"] = len(hebbian)
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, 3.6))
    ax, bx = fig.subplots(1, 2)
    s = np.linspace(0.0, 2.0, 400)
    qc_pdf = np.sqrt(4.0 - s**2) / np.pi
    x = s / 2.0
    qc_cdf = (2.0 / np.pi) * (x * np.sqrt(1.0 - x * x) + np.arcsin(x))
    series = (("sv_coupled", "optimal, coupled", "C1"), ("sv_decoupled", "optimal, decoupled", "C0"),
              ("sv_hebbian", "Hebbian", "C2"))
    top = max(float(np.max(data[k])) for k, _, _ in series)
    bins = np.linspace(0.0, max(2.0, top) * 1.02, 16)
    for key, label, color in series:
        v = np.sort(data[key])
        n = int(data[f"n_trials_{key[3:]}"])
        ax.hist(v, bins=bins, density=True, histtype="step", color=color, lw=1.5,
                label=f"{label} ({n} × {int(data['d'])} values)")
        bx.step(v, np.arange(1, v.size + 1) / v.size, where="post", color=color, lw=1.4)
    ax.plot(s, qc_pdf, color="black", ls="--", lw=1.2, label=r"quarter circle $\sqrt{4-s^2}/\pi$")
    bx.plot(s, qc_cdf, color="black", ls="--", lw=1.2)
    for a in (ax, bx):
        a.set_xlabel(r"singular value $s\,/\sqrt{d}$  ($\|W\|_F = d$)")
        a.set_xlim(0.0, bins[-1])
    ax.set_ylabel("density")
    bx.set_ylabel("fraction of singular values below")
    bx.legend(*ax.get_legend_handles_labels(), loc="upper left", fontsize=7.5)
    plotting.panel_label(ax, f"a  d = {int(data['d'])}, p = {int(data['p'])}", loc="upper right")
    plotting.panel_label(bx, "b", loc="lower right")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
