"""Two-layer memories W2 W1 x: certified p50 / p_c(d) vs hidden width m/d, frozen and trained, theory, conjecture.

Data: the committed store ``benchmarks/results/two_layer.sqlite`` (decoupled model, kappa = 0,
N(0, I/d) embeddings, d = 12, 16, 24, m = d/4, d/2, 3d/4, d), p50 estimated exactly as
``benchmarks/results_two_layer.py`` does (1000 bootstrap replicates, seed 2026):

- **frozen** first layer (W1 random, only W2 trained; experiment ``two-layer-frozen``): exact
  certified verdicts, ``summarize_points`` + ``fit_p50``, 95 % bootstrap CI;
- **trained** (both layers; experiment ``two-layer``): a search that finds no product is not an
  infeasibility proof, so the estimate is ``p50_lower_bound`` (certified feasible / all trials),
  a certified *lower bound* on p50 (upward carets), 95 % bootstrap CI.  At m = d the trained
  verdict is the one-layer LP's, so there the value is exact.

Every p50 is divided by the one-layer exact capacity p_c(d) (docs/theory.md §2, eq. T3, N = d^2), which makes the
three d nearly collapse and puts the one-layer level at 1.  Curves, from ``capacity.theory`` on a
fine real-valued m/d grid: the frozen theory p_c(N = d m) (panel a; faint in b for reference),
the parameter-count conjecture p_c(N_eff = 2 d m - m^2) for trained layers (panel b), and the
one-layer level.  The certified results do not support that conjecture: the trained lower bounds lie
above it at every m < d.
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
X_MIN = 0.1  # smallest m/d of the theory curves (m >= 1.2 at d = 12)
COLUMNS = ("d", "m", "m_over_d", "p_c_one_layer", "frozen_p50", "frozen_lo", "frozen_hi", "trained_p50",
           "trained_lo", "trained_hi")


def parameters(quick):
    return {"store": STORE, "d_values": list(DS), "model": MODEL, "kappa": 0.0, "n_boot": N_BOOT,
            "bootstrap_seed": SEED, "x_min": X_MIN, "n_theory": 4 if quick else 37}


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


def compute(quick):
    from capacity.theory.two_layer import p_c_two_layer

    par = parameters(quick)
    x = np.linspace(par["x_min"], 1.0, par["n_theory"])
    one_layer = {d: capacity.p_c(d) for d in DS}
    data = {"x": x, "d_values": np.array(DS, dtype=float), "sim": simulated_p50(one_layer),
            "columns": np.array(COLUMNS)}
    for d in DS:
        one = one_layer[d]

        def ratio(xi, trained, d=d, one=one):
            # m = d: N = d^2 for both (frozen d m, trained the one-layer count), so p_c_two_layer(d, d) is
            # p_c(d) exactly (same solver, same N); reuse it instead of solving again
            return 1.0 if xi >= 1.0 else p_c_two_layer(d, xi * d, trained=trained).p_c / one

        data[f"p_c_one_layer_{d}"] = np.array(one)
        data[f"frozen_theory_{d}"] = np.array([ratio(xi, False) for xi in x])
        data[f"conjecture_{d}"] = np.array([ratio(xi, True) for xi in x])
    return data


def _err(y, lo, hi):
    """Error-bar lengths; a missing CI end draws no bar on that side."""
    return np.vstack([np.nan_to_num(y - lo, nan=0.0), np.nan_to_num(hi - y, nan=0.0)])


def plot(data):
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.markers import CARETUPBASE

    fig = Figure(figsize=(7.4, 3.9))
    ax, bx = fig.subplots(1, 2, sharey=True)
    ds = data["d_values"]
    cmap = matplotlib.colormaps["viridis"]
    colour = {d: cmap(i / (len(ds) - 0.4)) for i, d in enumerate(ds)}  # keep off the light yellow end
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
        y = r[:, col["trained_p50"]] / one
        bx.errorbar(xs, y, yerr=_err(y, r[:, col["trained_lo"]] / one, r[:, col["trained_hi"]] / one), color=c,
                    marker=CARETUPBASE, ms=8.5, mew=0, ls="none")
    for a in (ax, bx):
        a.axhline(1.0, color="black", ls=":", lw=1.3)
        a.set_xlabel(r"hidden width $m\,/\,d$")
        a.set_xlim(0.0, 1.06)
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
        Line2D([], [], color=grey, lw=1.3, ls="--", label=r"conjecture $p_c(2dm - m^2)$"),
        Line2D([], [], color="black", lw=1.3, ls=":", label=r"one layer $p_c(d^2)$"),
    ]
    bx.legend(handles=handles, loc="lower right", handlelength=2.0)
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
