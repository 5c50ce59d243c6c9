"""Gardner capacity alpha_c(K, kappa) versus the number of competitors K (1 to 1e15) for kappa = 0, 0.5, 1, 2.

Exact (docs/theory.md §2, eq. (T1): 1/alpha_c = E dist^2(z, C_kappa), ``capacity.alpha_c``) against the asymptotic
curves of ``capacity.theory.asymptotics``: the leading order 1/(2 ln K) (the same for every kappa)
and the explicit next order 1/E_next(K, kappa) (``dist2_next``; drawn where its level equation has
a solution, K >~ 60).  Panel a: alpha_c itself; panel b: alpha_c * 2 ln K, which tends to 1 only
like 1 + O(ln ln K / ln K).
"""
import math
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity import plotting  # noqa: E402
from capacity.theory import asymptotics  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
KAPPAS = (0.0, 0.5, 1.0, 2.0)
K_PLOT_MAX = 1e15


def parameters(quick):
    return {"kappas": list(KAPPAS), "K_min": 1.0, "K_max": K_PLOT_MAX, "n_K": 16 if quick else 61}


def _next(K, kappa):
    try:
        return 1.0 / asymptotics.dist2_next(K, kappa=kappa)
    except ValueError:  # K below the expansion's domain
        return math.nan


def compute(quick):
    par = parameters(quick)
    Ks = np.logspace(0.0, math.log10(par["K_max"]), par["n_K"])
    data = {"K": Ks, "kappa": np.array(KAPPAS)}
    data["alpha_exact"] = np.array([[capacity.alpha_c(K, kappa=kap) for K in Ks] for kap in KAPPAS])
    data["alpha_next"] = np.array([[_next(K, kap) for K in Ks] for kap in KAPPAS])
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 6.0))
    ax, bx = fig.subplots(2, 1, sharex=True, height_ratios=[1.4, 1])
    K = data["K"]
    big = K > 1.0
    lead = np.full_like(K, np.nan)
    lead[big] = 1.0 / (2.0 * np.log(K[big]))
    for i, kap in enumerate(data["kappa"]):
        color = f"C{i}"
        exact, nxt = data["alpha_exact"][i], data["alpha_next"][i]
        ax.plot(K, exact, color=color, label=rf"exact, $\kappa = {kap:g}$")
        ax.plot(K, nxt, color=color, ls="--", lw=1.2)
        bx.plot(K[big], exact[big] / lead[big], color=color)
        bx.plot(K[big], nxt[big] / lead[big], color=color, ls="--", lw=1.2)
    ax.plot(K[big], lead[big], color="black", ls=":", lw=1.4, label=r"leading order $1/(2\ln K)$")
    ax.plot([], [], color="0.3", ls="--", lw=1.2, label=r"next order $1/E_{\rm next}(K,\kappa)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel(r"Gardner capacity $\alpha_c(K,\kappa) = p/N$")
    ax.legend(loc="upper right", ncol=2)
    plotting.panel_label(ax, "a", loc="lower left")

    bx.axhline(1.0, color="black", ls=":", lw=1.4)
    bx.set_xscale("log")
    bx.set_xlabel(r"competitors per input $K$")
    bx.set_ylabel(r"$\alpha_c(K,\kappa)\cdot 2\ln K$")
    bx.set_ylim(0.0, None)
    plotting.panel_label(bx, "b", loc="lower right")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
