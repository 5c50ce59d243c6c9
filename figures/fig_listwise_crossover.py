"""Listwise retrieval crossover: p_c ln p_c / d^2 and p_c / d^2 against d (16 to 256), fixed k versus k = ceil(r K).

The finite-size listwise capacity p_c(d) solves p = d^2 alpha_c(p - 1, k, 0) with the tail-average
margin h_0 - T_k(g)/k >= 0 (docs/theory.md §7, ``capacity.theory.listwise``):

- k = 1: the exact top-1 solver ``capacity.p_c`` (docs/theory.md §2, eq. (T3));
- k = 5 fixed and the ratio forms k = ceil(r (p - 1)), r = 0.1 and 0.5: ``listwise_p_c`` (Monte Carlo,
  exact in law, common random numbers, seed 0), with its delta-method standard error as error bars
  (one s.e.; mostly smaller than the markers).  The sample sizes are those of
  ``benchmarks/results_listwise.py``, so at d = 16, 32, 64, 128, 256 the points are table (b) of
  ``benchmarks/results/listwise.md``.

Panel a: p ln p / d^2, which for fixed k falls slowly towards the top-1 limit 1/2 (leading order
p ln p = d^2/2), while for the ratio forms it grows like alpha(r) ln(alpha(r) d^2) (dashed).
Panel b: p / d^2, which for the ratio forms flattens at Gardner's alpha_c(kappa_r)
(``listwise_limit_alpha(r)``, kappa_r = phi(Phi^{-1}(1 - r))/r; dashed), while for fixed k it falls
like 1/(2 ln p) (dotted: the leading order).  The crossover: load ~ d^2 / ln p for fixed k,
~ d^2 for k proportional to the number of competitors.
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
from capacity.theory.listwise import listwise_limit_alpha, listwise_p_c  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
SEED = 0  # listwise_p_c's Monte Carlo seed (the benchmark's)
K_FIXED = 5
RATIOS = (0.1, 0.5)


def parameters(quick):
    return {
        "d_min": 16, "d_max": 64 if quick else 256, "n_d": 5 if quick else 9,  # d = 16 * 2^(j/2)
        "n_d_exact": 9 if quick else 25, "kappa": 0.0, "k_fixed": K_FIXED, "ratios": list(RATIOS),
        "n_samples_fixed": 1000 if quick else 8000,
        # ratio forms: the cost per sample grows like k ~ r p, so fewer samples at large d (as in the benchmark)
        "n_samples_ratio_small_d": 300 if quick else 2000, "n_samples_ratio_large_d": 300 if quick else 1000,
        "large_d": 64, "seed": SEED,
    }


def _grid(d_min, d_max, n):
    return np.exp(np.linspace(math.log(d_min), math.log(d_max), n))


def compute(quick):
    par = parameters(quick)
    ds = _grid(par["d_min"], par["d_max"], par["n_d"])
    ds = np.where(np.abs(ds - np.round(ds)) < 1e-9, np.round(ds), ds)  # exact 16, 32, 64, ... (the table's d)
    d_ex = _grid(par["d_min"], par["d_max"], par["n_d_exact"])
    data = {"d": ds, "d_exact": d_ex, "ratios": np.array(RATIOS), "k_fixed": K_FIXED}
    data["p_exact"] = np.array([capacity.p_c(d) for d in d_ex])
    data["p_leading"] = np.array([asymptotics.p_c_leading(d) for d in d_ex])

    res = [listwise_p_c(float(d), k=K_FIXED, n_samples=par["n_samples_fixed"], seed=SEED) for d in ds]
    data["p_fixed"] = np.array([x.value for x in res])
    data["p_fixed_se"] = np.array([x.stderr for x in res])
    for r in RATIOS:
        tag = f"r{round(100 * r):03d}"
        res = [listwise_p_c(float(d), r=r, seed=SEED,
                            n_samples=par["n_samples_ratio_small_d"] if d <= par["large_d"]
                            else par["n_samples_ratio_large_d"]) for d in ds]
        data[f"p_{tag}"] = np.array([x.value for x in res])
        data[f"p_{tag}_se"] = np.array([x.stderr for x in res])
        data[f"k_{tag}"] = np.array([x.k for x in res])
        data[f"limit_{tag}"] = float(listwise_limit_alpha(r))
    return data


def plot(data):
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator, ScalarFormatter

    fig = Figure(figsize=(6.4, 6.4))
    ax, bx = fig.subplots(2, 1, sharex=True)
    d, d_ex = data["d"], data["d_exact"]
    ln_ex = np.log(data["p_exact"])

    def scaled(p, se):
        """(p ln p / d^2, its s.e.), (p / d^2, its s.e.)."""
        return (p * np.log(p) / d**2, se * (np.log(p) + 1.0) / d**2), (p / d**2, se / d**2)

    # k = 1: exact curve
    ax.plot(d_ex, data["p_exact"] * ln_ex / d_ex**2, color="C0", label=r"$k = 1$ (exact top-1)")
    bx.plot(d_ex, data["p_exact"] / d_ex**2, color="C0")
    # fixed k and ratio forms: Monte Carlo points with one-s.e. bars
    series = [(data["p_fixed"], data["p_fixed_se"], "C1", "s", rf"$k = {int(data['k_fixed'])}$ fixed")]
    for i, r in enumerate(data["ratios"]):
        tag = f"r{round(100 * r):03d}"
        series.append((data[f"p_{tag}"], data[f"p_{tag}_se"], f"C{2 + i}", "o",
                       rf"$k = \lceil {r:g}\,K\rceil$"))
    for p, se, color, marker, label in series:
        (ya, sa), (yb, sb) = scaled(p, se)
        kw = dict(color=color, marker=marker, ms=4.5, lw=1.1, elinewidth=1.0)
        ax.errorbar(d, ya, yerr=sa, label=label, **kw)
        bx.errorbar(d, yb, yerr=sb, **kw)

    # limits: fixed k -> p ln p / d^2 = 1/2 (leading order); ratio r -> p / d^2 = alpha_c(kappa_r)
    ax.axhline(0.5, color="black", ls=":", lw=1.4, label=r"fixed-$k$ limit $1/2$")
    bx.plot(d_ex, data["p_leading"] / d_ex**2, color="black", ls=":", lw=1.4,
            label=r"leading order $1/(2\ln p)$, $p\ln p = d^2/2$")
    for i, r in enumerate(data["ratios"]):
        lim = data[f"limit_r{round(100 * r):03d}"]
        color = f"C{2 + i}"
        ax.plot(d_ex, lim * np.log(lim * d_ex**2), color=color, ls="--", lw=1.0)
        bx.axhline(lim, color=color, ls="--", lw=1.0)
        bx.annotate(rf"$\alpha_c(\kappa_r) = {lim:.4f}$", (d_ex[-1], lim), xytext=(-2, 3),
                    textcoords="offset points", ha="right", va="bottom", fontsize=8, color=color)
    ax.plot([], [], color="0.3", ls="--", lw=1.0, label=r"ratio limit $\alpha_c(\kappa_r)\,\ln(\alpha_c d^2)$")

    ax.set_yscale("log")
    ax.set_ylabel(r"$p_c \ln p_c / d^2$")
    ticks = [0.5, 1, 2, 5, 10, 20]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(0.3, 30.0)  # headroom for the legend, room for the label below 1/2
    ax.legend(loc="upper left", ncol=2)
    plotting.panel_label(ax, "a", loc="lower right")

    bx.set_xscale("log")
    xt = [16, 32, 64, 128, 256] if d_ex[-1] > 100 else [16, 32, 64]
    bx.xaxis.set_major_locator(FixedLocator(xt))
    bx.xaxis.set_major_formatter(ScalarFormatter())
    bx.xaxis.set_minor_locator(NullLocator())
    bx.set_xlabel(r"embedding dimension $d$ ($N = d^2$ parameters, $\kappa = 0$)")
    bx.set_ylabel(r"load at capacity $p_c / d^2$")
    bx.set_ylim(0.0, None)
    bx.legend(loc="center right", bbox_to_anchor=(1.0, 0.62))
    plotting.panel_label(bx, "b", loc="lower left")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
