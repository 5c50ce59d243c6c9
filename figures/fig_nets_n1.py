"""N1: GD-trained linear memories vs the certified LP and theory: P(all stored) vs p / p_c(d), p50 / p_c(d) vs d.

Data: the committed store ``benchmarks/results/nets_n1.sqlite`` written by
``benchmarks/results_nets_n1.py`` (coupled model; panel b also the decoupled one, K = p - 1;
kappa = 0, N(0, I/d) embeddings, instance seed 2026; GD = Adam, lr = 6/d, 4000 full-batch steps,
cross-entropy; stored = all margins > 0 re-scored in float64).  The LP verdicts are the certified
ones on the *same* instances.

(a) fraction of instances stored (GD, filled) / certified feasible (LP, open) against p / p_c(d),
Clopper-Pearson 95 % intervals, one colour per d (coupled).  (b) p50 / p_c(d) against d for GD and
LP (logistic MLE, 95 % bootstrap CI, 1000 replicates, seed 2026; isotonic interpolation and the
bracketing grid points when the data are separated), the theory at 1; coupled (circles / squares)
and, for the d whose decoupled GD and LP runs are complete in the store, the decoupled model
(triangles: GD filled, pointing up; LP open, pointing down).  (c) two layers at d = 12:
p50 / p_c(d) against m / d for the frozen random W1 (GD and the exact frozen LP) and both layers
trained (GD), with the frozen theory p_c(N = dm) and the conjecture p_c(N = 2dm - m^2).
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
STORE = "benchmarks/results/nets_n1.sqlite"
INPUTS = (STORE,)
SEED = 2026  # the benchmark's instance seed and bootstrap seed
STEPS = 4000  # the benchmark's training budget (budget-check reruns at 8000 are left out)
MODEL = "coupled"
DECOUPLED = "decoupled"  # panel b only (one layer)
TWO_LAYER_D = 12


def parameters(quick):
    return {"store": STORE, "model": MODEL, "panel_b_also": DECOUPLED, "seed": SEED, "steps": STEPS,
            "n_boot": 50 if quick else 1000,
            "bootstrap_seed": SEED, "two_layer_d": TWO_LAYER_D, "n_theory": 4 if quick else 30}


def _records(model=MODEL):
    """GD: {(d, arch, m): {p: [stored bools by trial]}}; LP: {(experiment, d, m, p, trial): verdict}."""
    gd, lp = {}, {}
    for task, res in plotting.read_store(STORE):
        if task.get("model") != model or task.get("seed") != SEED:
            continue
        if task.get("experiment") == "nets-n1":
            if task["steps"] != STEPS:
                continue
            cell = gd.setdefault((task["d"], task["arch"], task["m"]), {}).setdefault(task["p"], {})
            for tr in res["trials"]:
                cell[tr["trial"]] = tr["stored"]
        elif task.get("experiment") in ("feasibility", "two-layer-frozen"):
            lp[(task["experiment"], task["d"], task.get("m"), task["p"], task["trial"])] = res["verdict"]
    return gd, lp


def _fit(counts, n_boot):
    """P50Result from {p: (k_feasible, n_decided)}."""
    from capacity.simulate.estimate import fit_p50

    pts = [{"p": p, "n_feasible": k, "n_infeasible": n - k} for p, (k, n) in sorted(counts.items())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_p50(pts, n_boot=n_boot, seed=SEED)


def compute(quick):
    from capacity.simulate.estimate import binomial_ci
    from capacity.theory.two_layer import p_c_two_layer

    par = parameters(quick)
    gd, lp = _records()
    data = {}
    ds = sorted(d for (d, arch, m) in gd if arch == "linear")
    data["d_values"] = np.array(ds, dtype=float)
    p50 = []  # d, p_c, gd p50, lo, hi, lp p50, lo, hi
    for d in ds:
        pc = capacity.p_c(d)
        cells = gd[(d, "linear", None)]
        rows, gd_counts, lp_counts = [], {}, {}
        for p in sorted(cells):
            trials = sorted(cells[p])
            k = sum(cells[p][t] for t in trials)
            v = [lp.get(("feasibility", d, None, p, t)) for t in trials]
            kl, nl = v.count("feasible"), v.count("feasible") + v.count("infeasible")
            gd_counts[p] = (k, len(trials))
            if nl:
                lp_counts[p] = (kl, nl)
            lp_row = (kl / nl, *binomial_ci(kl, nl)) if nl else (np.nan,) * 3  # LP not (yet) in the store
            rows.append((p / pc, k / len(trials), *binomial_ci(k, len(trials)), *lp_row))
        data[f"curve_{d}"] = np.array(rows, dtype=float)
        g, lpf = _fit(gd_counts, par["n_boot"]), _fit(lp_counts, par["n_boot"])
        p50.append((d, pc, g.p50, g.ci_low, g.ci_high, lpf.p50, lpf.ci_low, lpf.ci_high))
    data["p50"] = np.array(p50, dtype=float).reshape(-1, 8)
    data["p50_decoupled"] = _p50_rows(*_records(DECOUPLED), par["n_boot"])
    # two layers
    d2 = par["two_layer_d"]
    one = capacity.p_c(d2)
    two = []  # m/d, frozen gd p50, lo, hi, frozen lp p50, lo, hi, trained gd p50, lo, hi
    for m in sorted(m for (d, arch, m) in gd if d == d2 and arch == "frozen"):
        out = [m / d2]
        fz = gd[(d2, "frozen", m)]
        out += _triple(_fit({p: (sum(fz[p].values()), len(fz[p])) for p in fz}, par["n_boot"]))
        lpc = {}
        for p in fz:
            v = [lp.get(("two-layer-frozen", d2, m, p, t)) for t in fz[p]]
            lpc[p] = (v.count("feasible"), v.count("feasible") + v.count("infeasible"))
        out += _triple(_fit(lpc, par["n_boot"]))
        tr = gd.get((d2, "trained", m), {})
        out += _triple(_fit({p: (sum(tr[p].values()), len(tr[p])) for p in tr}, par["n_boot"])) if tr else [np.nan] * 3
        two.append(out)
    data["two_layer"] = np.array(two, dtype=float).reshape(-1, 10) / np.array([1] + [one] * 9)
    x = np.linspace(0.15, 1.0, par["n_theory"])
    data["x"] = x
    data["frozen_theory"] = np.array([1.0 if xi >= 1 else p_c_two_layer(d2, xi * d2).p_c / one for xi in x])
    data["conjecture"] = np.array([1.0 if xi >= 1 else p_c_two_layer(d2, xi * d2, trained=True).p_c / one
                                   for xi in x])
    return data


def _p50_rows(gd, lp, n_boot):
    """(d, p_c, GD p50, lo, hi, LP p50, lo, hi) per d of the one-layer cells with LP verdicts for every trial."""
    out = []
    for d in sorted(d for (d, arch, m) in gd if arch == "linear"):
        cells = gd[(d, "linear", None)]
        gd_counts, lp_counts = {}, {}
        for p in sorted(cells):
            v = [lp.get(("feasibility", d, None, p, t)) for t in sorted(cells[p])]
            gd_counts[p] = (sum(cells[p].values()), len(cells[p]))
            lp_counts[p] = (v.count("feasible"), v.count("feasible") + v.count("infeasible"))
        if any(n < gd_counts[p][1] for p, (_, n) in lp_counts.items()):  # LP not (yet) complete: leave d out
            continue
        g, lpf = _fit(gd_counts, n_boot), _fit(lp_counts, n_boot)
        out.append((d, capacity.p_c(d), g.p50, g.ci_low, g.ci_high, lpf.p50, lpf.ci_low, lpf.ci_high))
    return np.array(out, dtype=float).reshape(-1, 8)


def _triple(r):
    return [r.p50, r.ci_low, r.ci_high]


def _err(y, lo, hi):
    return np.vstack([np.nan_to_num(y - lo, nan=0.0), np.nan_to_num(hi - y, nan=0.0)])


def plot(data):
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.5, 3.7))
    ax, bx, cx = fig.subplots(1, 3)
    ds = data["d_values"]
    cmap = matplotlib.colormaps["viridis"]
    colour = {d: cmap(i / max(1, len(ds) - 0.6)) for i, d in enumerate(ds)}
    for d in ds:
        c = data[f"curve_{int(d)}"]
        ax.errorbar(c[:, 0], c[:, 1], yerr=_err(c[:, 1], c[:, 2], c[:, 3]), color=colour[d], marker="o", ms=4,
                    lw=1.2, capsize=0, label=f"$d = {int(d)}$")
        ax.errorbar(c[:, 0] + 0.004, c[:, 4], yerr=_err(c[:, 4], c[:, 5], c[:, 6]), color=colour[d], marker="o",
                    ms=4, mfc="white", lw=1.0, ls="--", capsize=0)
    ax.axvline(1.0, color="black", ls=":", lw=1.2)
    ax.set_xlabel(r"$p\,/\,p_c(d)$")
    ax.set_ylabel("fraction of instances with all $p$ stored")
    ax.legend(loc="lower left", handlelength=1.5, fontsize=8)
    plotting.panel_label(ax, "a", loc="upper right")
    # (b)
    p = data["p50"]
    for col, lab, mk, mfc in ((2, "coupled GD (Adam, 4000 steps)", "o", None), (5, "coupled LP (certified)", "s", "white")):
        y = p[:, col] / p[:, 1]
        bx.errorbar(p[:, 0] + (0.25 if col == 5 else -0.25), y, yerr=_err(y, p[:, col + 1] / p[:, 1],
                    p[:, col + 2] / p[:, 1]), marker=mk, mfc=mfc, ms=5, ls="-", lw=1.0, capsize=2, label=lab)
    q = data.get("p50_decoupled", np.zeros((0, 8)))
    if len(q):
        for col, lab, mk, mfc, c in ((2, "decoupled GD", "^", None, "C2"), (5, "decoupled LP", "v", "white", "C3")):
            y = q[:, col] / q[:, 1]
            bx.errorbar(q[:, 0] + (0.75 if col == 5 else -0.75), y, yerr=_err(y, q[:, col + 1] / q[:, 1],
                        q[:, col + 2] / q[:, 1]), marker=mk, mfc=mfc, color=c, ms=5, ls="--", lw=0.8, capsize=2,
                        label=lab)
    bx.axhline(1.0, color="black", ls=":", lw=1.2, label="theory $p_c(d)$")
    bx.set_xlabel("$d$")
    bx.set_ylabel(r"$p_{50}\,/\,p_c(d)$")
    bx.set_ylim(0.7, 1.15)
    bx.legend(loc="lower right", fontsize=7.5 if len(q) else 8)
    plotting.panel_label(bx, "b", loc="upper left")
    # (c)
    t = data["two_layer"]
    if len(t):
        for k, lab, mk, mfc, dx in ((1, "frozen $W_1$: GD", "o", None, -0.008),
                                    (4, "frozen $W_1$: LP", "s", "white", 0.0),
                                    (7, "both trained: GD", "^", None, 0.008)):
            cx.errorbar(t[:, 0] + dx, t[:, k], yerr=_err(t[:, k], t[:, k + 1], t[:, k + 2]), marker=mk, mfc=mfc,
                        ms=5, ls="none", capsize=2, label=lab)
    cx.plot(data["x"], data["frozen_theory"], color="0.3", lw=1.2, label="theory $p_c(dm)$")
    cx.plot(data["x"], data["conjecture"], color="0.3", lw=1.2, ls="--", label="conjecture $p_c(2dm-m^2)$")
    cx.axhline(1.0, color="black", ls=":", lw=1.2)
    cx.set_xlabel(r"hidden width $m\,/\,d$  ($d = 12$)")
    cx.set_ylabel(r"$p_{50}\,/\,p_c(d)$")
    cx.set_xlim(0.0, 1.05)
    cx.legend(loc="lower right", fontsize=7.5)
    plotting.panel_label(cx, "c", loc="upper left")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
