"""p_c ln p_c / d^2 versus d (4 to 1e6): exact finite-size theory, asymptotics, limit 1/2, simulation p50.

Top: the scaled capacity p ln p / d^2 of

- the exact finite-size theory p_c(d), the root of p = d^2 alpha_c(p - 1, 0) (docs/theory.md §2, eq. (T3));
- the next-order closed-form inversion (``asymptotics.p_c_next``, d >= 24);
- the implicit law-of-large-numbers form (``asymptotics.p_c_lln``, drawn where it returns a value);
- the leading order p ln p = d^2/2 (``asymptotics.p_c_leading``), which is the limit 1/2 itself;
- the certified simulations' p50 with 95 % bootstrap intervals (coupled and decoupled models,
  N(0, I/d) embeddings), from the committed store ``benchmarks/results/agreement.sqlite``,
  estimated exactly as ``benchmarks/agreement_table.py`` does (summarize_points, fit_p50 with
  1000 bootstrap replicates, seed 2026);
- the median certified threshold of nested instances plus 1/2 with its exact order-statistic 95 % CI
  [lo, hi + 1] (p* is the floor of an instance's continuous crossing; docs/simulator.md §8), from
  ``benchmarks/results/thresholds.sqlite`` as ``benchmarks/results_thresholds.py`` makes it (open
  triangles, to larger d).

Bottom: each approximation and each simulated p50 divided by the exact p_c(d).
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
STORE = "benchmarks/results/agreement.sqlite"
THRESHOLDS = "benchmarks/results/thresholds.sqlite"
INPUTS = (STORE, THRESHOLDS)
SEED = 2026  # the agreement table's bootstrap seed
N_BOOT = 1000
MODELS = ("decoupled", "coupled")


def parameters(quick):
    return {"d_min": 4, "d_max": 1e6, "n_d": 9 if quick else 49, "kappa": 0.0, "store": STORE,
            "thresholds": THRESHOLDS, "n_boot": N_BOOT, "bootstrap_seed": SEED}


def _safe(fn, *args):
    try:
        return float(fn(*args))
    except ValueError:  # outside the approximation's domain (small d)
        return math.nan


def simulated_p50():
    """p50 and its CI per (model, d) from the agreement store; dict of arrays per model."""
    from capacity.simulate import fit_p50, summarize_points

    groups = {}
    for task, res in plotting.read_store(STORE, experiment="feasibility"):
        key = (task["model"], task["d"])
        groups.setdefault(key, []).append({"p": task["p"], "verdict": res["verdict"], "d": task["d"],
                                           "model": task["model"]})
    out = {}
    for model in MODELS:
        ds = sorted(d for (m, d) in groups if m == model)
        rows = []
        for d in ds:
            fit = fit_p50(summarize_points(groups[(model, d)]), n_boot=N_BOOT, seed=SEED)
            rows.append((d, fit.p50, fit.ci_low, fit.ci_high))
        out[model] = np.array(rows, dtype=float).reshape(-1, 4)
    return out


def threshold_p50():
    """Median threshold and its exact 95 % CI per (model, d) of the nested-instance store (Gaussian, seed 2026)."""
    from capacity.simulate import median_ci

    groups = {}
    for task, res in plotting.read_store(THRESHOLDS, experiment="threshold"):
        if task["embedding"] == "gaussian" and task["seed"] == SEED and res["threshold"] is not None:
            groups.setdefault((task["model"], task["d"]), []).append(res["threshold"])
    out = {}
    for model in MODELS:
        rows = []
        for d in sorted(d for (m, d) in groups if m == model):
            t = groups[(model, d)]
            lo, hi, _ = median_ci(t)
            if math.isnan(lo):  # too few instances for an interval (a cell being filled): not a p50 yet
                continue
            # p* = floor of the instance's continuous crossing: compare median + 1/2, interval [lo, hi + 1]
            rows.append((d, float(np.median(t)) + 0.5, lo, hi + 1.0))
        out[model] = np.array(rows, dtype=float).reshape(-1, 4)
    return out


def compute(quick):
    par = parameters(quick)
    ds = np.logspace(math.log10(par["d_min"]), math.log10(par["d_max"]), par["n_d"])
    data = {"d": ds}
    data["p_exact"] = np.array([capacity.p_c(d) for d in ds])
    data["p_leading"] = np.array([_safe(asymptotics.p_c_leading, d) for d in ds])
    data["p_next"] = np.array([_safe(asymptotics.p_c_next, d) for d in ds])
    data["p_lln"] = np.array([_safe(asymptotics.p_c_lln, d) for d in ds])
    for model, rows in simulated_p50().items():
        data[f"sim_{model}_d"] = rows[:, 0]
        data[f"sim_{model}_p50"] = rows[:, 1]
        data[f"sim_{model}_lo"] = rows[:, 2]
        data[f"sim_{model}_hi"] = rows[:, 3]
        data[f"sim_{model}_p_c"] = np.array([capacity.p_c(d) for d in rows[:, 0]])
    for model, rows in threshold_p50().items():
        data[f"thr_{model}_d"] = rows[:, 0]
        data[f"thr_{model}_p50"] = rows[:, 1]
        data[f"thr_{model}_lo"] = rows[:, 2]
        data[f"thr_{model}_hi"] = rows[:, 3]
        data[f"thr_{model}_p_c"] = np.array([capacity.p_c(d) for d in rows[:, 0]])
    return data


def _scaled(p, d):
    p = np.asarray(p, dtype=float)
    return p * np.log(p) / np.asarray(d, dtype=float) ** 2


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 6.0))
    ax, bx = fig.subplots(2, 1, sharex=True, height_ratios=[1.5, 1])
    d = data["d"]
    c_exact, c_next, c_lln, c_lead = "black", "C0", "C2", "0.45"
    ax.plot(d, _scaled(data["p_exact"], d), color=c_exact, label=r"exact theory $p_c(d)$ (T3)")
    ax.plot(d, _scaled(data["p_lln"], d), color=c_lln, ls="-.", label="LLN form (implicit)")
    ax.plot(d, _scaled(data["p_next"], d), color=c_next, ls="--", label="next order (closed form)")
    ax.axhline(0.5, color=c_lead, ls=":", lw=1.4, label=r"leading order $p\ln p = d^2/2$ (limit 1/2)")
    sim_style = {"decoupled": dict(color="C1", marker="o", mfc="C1"),
                 "coupled": dict(color="C3", marker="s", mfc="white")}
    thr_style = {"decoupled": dict(color="C1", marker="^", mfc="white"),
                 "coupled": dict(color="C3", marker="v", mfc="white")}
    for prefix, styles, what in (("sim", sim_style, "fixed-p grid"), ("thr", thr_style, "nested thresholds")):
        for model, st in styles.items():
            if f"{prefix}_{model}_d" not in data or not len(data[f"{prefix}_{model}_d"]):
                continue
            ds = data[f"{prefix}_{model}_d"]
            p50, lo, hi = data[f"{prefix}_{model}_p50"], data[f"{prefix}_{model}_lo"], data[f"{prefix}_{model}_hi"]
            y = _scaled(p50, ds)
            err = np.vstack([y - _scaled(lo, ds), _scaled(hi, ds) - y])
            ax.errorbar(ds, y, yerr=err, ls="none", ms=4.5, label=f"$p_{{50}}$ {model}, {what} (95% CI)", **st)
            pc = data[f"{prefix}_{model}_p_c"]
            bx.errorbar(ds, p50 / pc, yerr=np.vstack([(p50 - lo) / pc, (hi - p50) / pc]), ls="none", ms=4.5, **st)
    ax.set_xscale("log")
    ax.set_ylabel(r"$p\,\ln p\;/\;d^2$")
    ax.set_ylim(0.4, None)
    ax.legend(loc="lower left", ncol=1)
    plotting.panel_label(ax, "a", loc="upper right")

    pe = data["p_exact"]
    bx.axhline(1.0, color=c_exact, lw=1.0)
    bx.plot(d, data["p_lln"] / pe, color=c_lln, ls="-.")
    bx.plot(d, data["p_next"] / pe, color=c_next, ls="--")
    bx.plot(d, data["p_leading"] / pe, color=c_lead, ls=":", lw=1.4)
    bx.set_xscale("log")
    bx.set_xlabel(r"embedding dimension $d$  ($N = d^2$ parameters)")
    bx.set_ylabel(r"$p\;/\;p_c(d)$ exact")
    plotting.panel_label(bx, "b", loc="upper right")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
