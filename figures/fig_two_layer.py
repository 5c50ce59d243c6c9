"""Two-layer memories W2 W1 x: certified p50 / p_c(d) vs hidden width m/d, theory, hypothesis and conjecture.

Data: the committed store ``benchmarks/results/two_layer.sqlite`` (kappa = 0, N(0, I/d) embeddings),
p50 estimated exactly as ``benchmarks/results_two_layer.py`` does (1000 bootstrap replicates, seed 2026):

- **frozen** first layer (W1 random, only W2 trained; experiment ``two-layer-frozen``, decoupled,
  d = 12, 16, 24): exact certified verdicts, ``summarize_points`` + ``fit_p50``, 95 % bootstrap CI;
- **trained** (both layers; experiment ``two-layer``): a search that finds no product is not an
  infeasibility proof, so the estimate is ``p50_lower_bound`` (certified feasible / all trials),
  a certified *lower bound* on p50 (upward carets), 95 % bootstrap CI.  At m = d the trained
  verdict is the one-layer LP's, so there the value is exact;
- **rank one, exact** (experiment ``two-layer-rank1``, ``solve_rank_one``): certified both ways, so an
  estimate of p50 (squares), not a bound.

Every p50 is divided by the one-layer exact capacity p_c(d) (docs/theory.md §2, eq. T3, N = d^2), which makes the
d nearly collapse and puts the one-layer level at 1.  Curves, from ``capacity.theory``: the frozen theory
p_c(N = d m) on a fine m/d grid (panel a; faint in b), and for trained layers (panel b) the Gaussian-width
hypothesis p_c(N_eff), N_eff = E sum_{i<=m} sigma_i(G)^2 (solid, at integer m, ``p_c_two_layer_width``) and the
parameter-count conjecture p_c(2 d m - m^2) (dashed), which the certified lower bounds refute.  Panel c: every
decoupled trained cell (d = 8 ... 32, m/d = 1/8 ... 3/4) and the exact rank-one cells as p50 / hypothesis p_c.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/two_layer.sqlite"
INPUTS = (STORE,)
SEED = 2026  # the benchmark's task seed and bootstrap seed (benchmarks/results_two_layer.py)
N_BOOT = 1000
MODEL = "decoupled"
DS = (12, 16, 24)
DS_C = (8, 12, 16, 24, 32)  # panel c: every decoupled trained cell of the store
X_MIN = 0.1  # smallest m/d of the theory curves (m >= 1.2 at d = 12)
COLUMNS = ("d", "m", "m_over_d", "p_c_one_layer", "frozen_p50", "frozen_lo", "frozen_hi", "trained_p50",
           "trained_lo", "trained_hi")
#: panel c rows: kind 0 = trained lower bound, 1 = exact rank one
COLUMNS_C = ("d", "m", "m_over_d", "kind", "hypothesis", "p50", "lo", "hi", "p_c_one_layer")


def parameters(quick):
    return {"store": STORE, "d_values": list(DS), "d_values_c": list(DS_C), "model": MODEL, "kappa": 0.0,
            "n_boot": N_BOOT, "bootstrap_seed": SEED, "x_min": X_MIN, "n_theory": 4 if quick else 37,
            "hypothesis_every_m": not quick}


def simulated_p50(one_layer):
    """Rows of COLUMNS, one per (d, m), estimated as benchmarks/results_two_layer.py does.

    ``one_layer``: {d: one-layer p_c(d)}, recorded beside each row.
    """
    from capacity.simulate.estimate import fit_p50, summarize_points
    from capacity.simulate.two_layer import p50_lower_bound

    groups = {}  # (experiment, d, m) -> records
    for exp in ("two-layer-frozen", "two-layer"):
        for task, res in plotting.read_store(STORE, experiment=exp):
            if task["model"] != MODEL or task["seed"] != SEED:
                continue
            groups.setdefault((exp, task["d"], task["m"]), []).append(
                {"p": task["p"], "verdict": res["verdict"], "d": task["d"], "model": MODEL})
    rows = []
    for d in DS:
        one = one_layer[d]
        for m in sorted(m for (e, dd, m) in groups if e == "two-layer-frozen" and dd == d):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # one undecided frozen trial at d = m = 24 (see two_layer.md)
                fz = fit_p50(summarize_points(groups[("two-layer-frozen", d, m)]), n_boot=N_BOOT, seed=SEED)
                tr = p50_lower_bound(groups[("two-layer", d, m)], n_boot=N_BOOT, seed=SEED).p50_lower
            rows.append((d, m, m / d, one, fz.p50, fz.ci_low, fz.ci_high, tr.p50, tr.ci_low, tr.ci_high))
    return np.array(rows, dtype=float).reshape(-1, len(COLUMNS))


def hypothesis_cells():
    """Panel c: every decoupled trained cell with 1 <= m < d (lower bounds) and the exact rank-one cells."""
    from capacity.simulate.two_layer import p50_lower_bound
    from capacity.theory.two_layer import p_c_two_layer_width

    groups = {}
    for exp, kind in (("two-layer", 0), ("two-layer-rank1", 1)):
        for task, res in plotting.read_store(STORE, experiment=exp):
            if task["model"] != MODEL or task["seed"] != SEED or task["m"] >= task["d"] or task["d"] not in DS_C:
                continue
            groups.setdefault((kind, task["d"], task["m"]), []).append({"p": task["p"], "verdict": res["verdict"]})
    rows = []
    for (kind, d, m), recs in sorted(groups.items()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = p50_lower_bound(recs, n_boot=N_BOOT, seed=SEED).p50_lower
        rows.append((d, m, m / d, kind, p_c_two_layer_width(d, m).p_c, fit.p50, fit.ci_low, fit.ci_high,
                     capacity.p_c(d)))
    return np.array(rows, dtype=float).reshape(-1, len(COLUMNS_C))


def compute(quick):
    from capacity.theory.two_layer import p_c_two_layer, p_c_two_layer_width

    par = parameters(quick)
    x = np.linspace(par["x_min"], 1.0, par["n_theory"])
    one_layer = {d: capacity.p_c(d) for d in DS}
    data = {"x": x, "d_values": np.array(DS, dtype=float), "sim": simulated_p50(one_layer),
            "columns": np.array(COLUMNS), "cells": hypothesis_cells(), "columns_c": np.array(COLUMNS_C)}
    for d in DS:
        one = one_layer[d]

        def ratio(xi, trained, d=d, one=one):
            # m = d: N = d^2 for both (frozen d m, trained the one-layer count), so p_c_two_layer(d, d) is
            # p_c(d) exactly (same solver, same N); reuse it instead of solving again
            return 1.0 if xi >= 1.0 else p_c_two_layer(d, xi * d, trained=trained).p_c / one

        data[f"p_c_one_layer_{d}"] = np.array(one)
        data[f"frozen_theory_{d}"] = np.array([ratio(xi, False) for xi in x])
        data[f"conjecture_{d}"] = np.array([ratio(xi, True) for xi in x])
        ms = np.arange(1, d + 1) if par["hypothesis_every_m"] else np.array([d // 4, d // 2, 3 * d // 4, d])
        data[f"hyp_m_{d}"] = ms / d
        data[f"hypothesis_{d}"] = np.array([p_c_two_layer_width(d, int(mm)).p_c / one for mm in ms])
    return data


def _err(y, lo, hi):
    """Error-bar lengths; a missing CI end draws no bar on that side."""
    return np.vstack([np.nan_to_num(y - lo, nan=0.0), np.nan_to_num(hi - y, nan=0.0)])


def plot(data):
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.markers import CARETUPBASE

    fig = Figure(figsize=(10.8, 3.9))
    ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": (1.0, 1.0, 0.95)})
    bx.sharey(ax)
    ds = data["d_values"]
    cmap = matplotlib.colormaps["viridis"]
    # one colour per d across the three panels, off the light yellow end
    colour = {float(d): cmap(i / (len(DS_C) - 0.6)) for i, d in enumerate(DS_C)}
    offset = {d: (i - (len(ds) - 1) / 2) * 0.014 for i, d in enumerate(ds)}  # separate the error bars
    col = {name: i for i, name in enumerate(data["columns"])}
    sim, x = data["sim"], data["x"]
    for d in ds:
        dk = int(d)
        c = colour[d]
        r = sim[sim[:, col["d"]] == d]
        xs = r[:, col["m_over_d"]] + offset[d]
        one = r[:, col["p_c_one_layer"]]
        # (a) frozen W1
        ax.plot(x, data[f"frozen_theory_{dk}"], color=c, lw=1.3)
        y = r[:, col["frozen_p50"]] / one
        ax.errorbar(xs, y, yerr=_err(y, r[:, col["frozen_lo"]] / one, r[:, col["frozen_hi"]] / one), color=c,
                    marker="o", ms=4.5, ls="none", label=f"$d = {dk}$")
        # (b) both layers trained
        bx.plot(x, data[f"frozen_theory_{dk}"], color=c, lw=0.9, alpha=0.3)
        bx.plot(x, data[f"conjecture_{dk}"], color=c, lw=1.3, ls="--")
        bx.plot(data[f"hyp_m_{dk}"], data[f"hypothesis_{dk}"], color=c, lw=1.3, marker=".", ms=3.5)
        y = r[:, col["trained_p50"]] / one
        bx.errorbar(xs, y, yerr=_err(y, r[:, col["trained_lo"]] / one, r[:, col["trained_hi"]] / one), color=c,
                    marker=CARETUPBASE, ms=8.5, mew=0, ls="none")
    for a in (ax, bx):
        a.axhline(1.0, color="black", ls=":", lw=1.3)
        a.set_xlabel(r"hidden width $m\,/\,d$")
        a.set_xlim(0.0, 1.06)
    # (b) the exact rank-one cells at the panel's d
    cells, cc = data["cells"], {name: i for i, name in enumerate(data["columns_c"])}
    for row in cells:
        if int(row[cc["kind"]]) == 1 and row[cc["d"]] in colour and row[cc["d"]] in set(ds):
            one = row[cc["p_c_one_layer"]]
            y = row[cc["p50"]] / one
            bx.errorbar([row[cc["m_over_d"]]], [y], yerr=_err(np.array([y]), np.array([row[cc["lo"]] / one]),
                                                               np.array([row[cc["hi"]] / one])),
                        color=colour[row[cc["d"]]], marker="s", ms=4.5, mew=0, ls="none")
    # (c) every decoupled trained cell against the hypothesis
    dsc = sorted({int(v) for v in cells[:, cc["d"]]}) if len(cells) else []
    ccol = {d: colour[float(d)] for d in dsc}
    for row in cells:
        d, kind = int(row[cc["d"]]), int(row[cc["kind"]])
        h = row[cc["hypothesis"]]
        y, lo, hi = row[cc["p50"]] / h, row[cc["lo"]] / h, row[cc["hi"]] / h
        xs = row[cc["m_over_d"]] + (dsc.index(d) - (len(dsc) - 1) / 2) * 0.008 + 0.012 * kind  # separate the bars
        cx.errorbar([xs], [y], yerr=_err(np.array([y]), np.array([lo]), np.array([hi])), color=ccol[d],
                    marker="s" if kind else CARETUPBASE, ms=5.0 if kind else 8.5, mew=0, ls="none")
    cx.axhline(1.0, color="black", lw=1.3)
    cx.set_xlabel(r"hidden width $m\,/\,d$")
    cx.set_ylabel(r"$p_{50}\;/\;p_c(N_{\rm eff})$   (Gaussian-width hypothesis)")
    cx.set_xlim(0.0, 0.82)
    plotting.panel_label(cx, "c  trained / hypothesis", loc="upper right")
    chandles = [Line2D([], [], color=ccol[d], marker="o", ms=4.5, ls="none", label=f"$d = {d}$") for d in dsc]
    chandles += [Line2D([], [], color="0.3", marker=CARETUPBASE, ms=8.5, mew=0, ls="none",
                        label="search (lower bound)"),
                 Line2D([], [], color="0.3", marker="s", ms=5.0, mew=0, ls="none", label="rank one, exact")]
    cx.legend(handles=chandles, loc="lower right", handlelength=1.0, fontsize=7.5)
    ax.set_ylim(0.0, 1.12)
    ax.set_ylabel(r"$p_{50}\;/\;p_c(d)$   (one-layer capacity, $N = d^2$)")
    plotting.panel_label(ax, "a  frozen random $W_1$", loc="upper left")
    plotting.panel_label(bx, "b  $W_1$, $W_2$ trained", loc="upper left")
    ax.legend(loc="lower right", handlelength=1.2, title="certified $p_{50}$, 95% CI", title_fontsize=8.5)
    grey = "0.3"
    handles = [
        Line2D([], [], color=grey, marker="o", ms=4.5, ls="none", label=r"frozen $p_{50}$ (exact)"),
        Line2D([], [], color=grey, marker=CARETUPBASE, ms=8.5, mew=0, ls="none",
               label=r"trained $p_{50} \geq$ (lower bound)"),
        Line2D([], [], color=grey, lw=1.3, label=r"frozen theory $p_c(dm)$"),
        Line2D([], [], color=grey, marker="s", ms=4.5, mew=0, ls="none", label=r"rank one $p_{50}$ (exact)"),
        Line2D([], [], color=grey, lw=1.3, marker=".", ms=3.5, label=r"hypothesis $p_c(N_{\rm eff})$"),
        Line2D([], [], color=grey, lw=1.3, ls="--", label=r"conjecture $p_c(2dm - m^2)$"),
        Line2D([], [], color="black", lw=1.3, ls=":", label=r"one layer $p_c(d^2)$"),
    ]
    bx.legend(handles=handles, loc="lower right", handlelength=2.0)
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
