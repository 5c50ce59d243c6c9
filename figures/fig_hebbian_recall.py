"""Hebbian memory recall curves: per-fact failure rate and P(all recalled) against p ln p / d^2, finite-d theory vs simulation.

The memory is W_H = sum_nu y_nu x_nu^T (coupled model: the competitors of input mu are the other
p - 1 targets), unit-sphere embeddings, d = 20, 50, 100, 200.  Abscissa x = p ln p / d^2, the
variable in which the two asymptotic thresholds are x = 1/2 (a typical fact is recalled with
probability 1/2) and x = 1/8 (all p facts are recalled with probability 1/2).

- curves: ``capacity.theory.hebbian`` in the conditional picture (the default method; exact score moments,
  competitor law conditioned on what the competitors of one input share), per-fact failure
  1 - P(recall) (panel a) and P(all recalled) (panel b); dashed: the plain Gaussian picture
  (``method="gaussian"``), which is far off at these d (see ``benchmarks/results/hebbian.md``);
- points: simulation, ``capacity.simulate.hebbian_recall`` on ``make_instance("coupled", d, p,
  embedding="sphere", seed=SEED, trial=t)``; panel a the mean failure fraction over the trials
  (+- 1 standard error across trials), panel b the all-recalled frequency with Clopper-Pearson
  95 % intervals.  Both sides are computed independently; nothing is fitted.
"""
import math
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
SEED = 2026
MODEL, EMBEDDING = "coupled", "sphere"
X_LO, X_HI = 0.04, 0.7  # range of p ln p / d^2 shown


def parameters(quick):
    return {"d_values": [20, 50] if quick else [20, 50, 100, 200], "model": MODEL, "embedding": EMBEDDING,
            "trials": 6 if quick else 40, "n_sim_points": 4 if quick else 9, "n_theory": 12 if quick else 60,
            "x_range": [X_LO, X_HI], "seed": SEED}


def p_of_x(x, d):
    """The p >= 2 solving p ln p = x d^2 (real-valued)."""
    from scipy.optimize import brentq

    target = x * d * d
    return brentq(lambda p: p * math.log(p) - target, 1.0 + 1e-12, max(4.0, 2 * target + 4))


def compute(quick):
    from scipy.stats import beta

    from capacity.simulate import hebbian_recall, make_instance
    from capacity.theory.hebbian import hebbian_all_recalled_prob, hebbian_recall_prob

    par = parameters(quick)
    data = {"d_values": np.array(par["d_values"], dtype=float)}
    xt = np.geomspace(X_LO, X_HI, par["n_theory"])
    for d in par["d_values"]:
        kw = {"model": MODEL, "embedding": EMBEDDING}
        pt = np.array([p_of_x(x, d) for x in xt])
        ok = pt >= 2
        data[f"theory_x_{d}"] = (pt[ok] * np.log(pt[ok])) / d**2
        data[f"theory_fail_{d}"] = np.array([1 - hebbian_recall_prob(d, p, **kw) for p in pt[ok]])
        data[f"theory_all_{d}"] = np.array([hebbian_all_recalled_prob(d, p, **kw) for p in pt[ok]])
        data[f"gauss_fail_{d}"] = np.array([1 - hebbian_recall_prob(d, p, method="gaussian", **kw) for p in pt[ok]])
        data[f"gauss_all_{d}"] = np.array([hebbian_all_recalled_prob(d, p, method="gaussian", **kw)
                                           for p in pt[ok]])
        # simulation at integer p spread over x in [0.06, 0.6]
        ps = sorted({max(2, int(round(p_of_x(x, d)))) for x in np.geomspace(0.06, 0.6, par["n_sim_points"])})
        rows = []
        for p in ps:
            fr, alls = [], 0
            for t in range(par["trials"]):
                r = hebbian_recall(make_instance(MODEL, d, p, embedding=EMBEDDING, seed=SEED, trial=t))
                fr.append(1.0 - r.fraction_recalled)
                alls += r.all_recalled
            n = par["trials"]
            lo = beta.ppf(0.025, alls, n - alls + 1) if alls > 0 else 0.0
            hi = beta.ppf(0.975, alls + 1, n - alls) if alls < n else 1.0
            rows.append((p, p * math.log(p) / d**2, np.mean(fr), np.std(fr, ddof=1) / math.sqrt(n), alls / n, lo, hi))
        data[f"sim_{d}"] = np.array(rows, dtype=float)
    data["sim_columns"] = np.array(["p", "x", "fail", "fail_se", "all", "all_lo", "all_hi"])
    return data


def plot(data):
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(7.4, 3.7))
    ax, bx = fig.subplots(1, 2)
    ds = data["d_values"]
    cmap = matplotlib.colormaps["viridis"]
    col = {name: i for i, name in enumerate(data["sim_columns"])}
    for i, d in enumerate(ds):
        dk = int(d)
        c = cmap(i / (len(ds) - 0.4))
        x = data[f"theory_x_{dk}"]
        s = data[f"sim_{dk}"]
        ax.plot(x, data[f"theory_fail_{dk}"], color=c, lw=1.4)
        ax.plot(x, data[f"gauss_fail_{dk}"], color=c, lw=0.9, ls="--", alpha=0.7)
        fail = s[:, col["fail"]]
        shown = fail > 0  # log axis: a trial set with no failure has no point
        ax.errorbar(s[shown, col["x"]], fail[shown], yerr=s[shown, col["fail_se"]], color=c, marker="o", ms=4,
                    ls="none", label=f"$d = {dk}$")
        bx.plot(x, data[f"theory_all_{dk}"], color=c, lw=1.4)
        bx.plot(x, data[f"gauss_all_{dk}"], color=c, lw=0.9, ls="--", alpha=0.7)
        y = s[:, col["all"]]
        bx.errorbar(s[:, col["x"]], y, yerr=np.vstack([y - s[:, col["all_lo"]], s[:, col["all_hi"]] - y]),
                    color=c, marker="o", ms=4, ls="none")
    ax.set_yscale("log")
    ax.set_ylim(1e-5, 1.0)
    ax.axvline(0.5, color="black", ls=":", lw=1.2)
    ax.set_ylabel(r"per-fact failure $1 - P(\mathrm{recall})$")
    bx.axvline(0.125, color="black", ls=":", lw=1.2)
    bx.axhline(0.5, color="0.6", lw=0.8)
    bx.set_ylabel(r"$P(\mathrm{all}\ p\ \mathrm{facts\ recalled})$")
    bx.set_ylim(-0.02, 1.02)
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

    for a in (ax, bx):
        a.set_xscale("log")
        a.set_xlim(X_LO, X_HI)
        a.xaxis.set_major_locator(FixedLocator([0.05, 0.1, 0.2, 0.5]))
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_locator(NullLocator())
        a.xaxis.set_minor_formatter(NullFormatter())
        a.set_xlabel(r"$p \ln p \,/\, d^2$")
    plotting.panel_label(ax, "a  one fact", loc="lower right")
    plotting.panel_label(bx, "b  all facts", loc="upper right")
    ax.legend(loc="upper left", handlelength=1.0, title="simulation", title_fontsize=8.5)
    grey = "0.3"
    bx.legend(handles=[
        Line2D([], [], color=grey, lw=1.4, label="theory"),
        Line2D([], [], color=grey, lw=0.9, ls="--", label="Gauss. picture"),
        Line2D([], [], color="black", ls=":", lw=1.2, label=r"$x = 1/8$"),
    ], loc="center right", bbox_to_anchor=(1.0, 0.45), handlelength=1.8)
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
