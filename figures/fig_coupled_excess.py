"""Coupled minus decoupled threshold per nested instance pair, / p_c(d), against d, with the three extrapolations.

From the committed store ``benchmarks/results/thresholds.sqlite`` (Gaussian embeddings, seed 2026,
as ``benchmarks/results_thresholds.py`` makes it). Trial i of the two models shares its inputs and
targets, so each trial gives one paired difference (p*_coupled - p*_decoupled) / p_c(d)
(docs/simulator.md §8); the trials used are the leading ones stored for both models, as in the report.

(a) The mean paired difference with its Student-t 95 % interval (``paired_difference``) against d,
and the weighted least-squares fits a + b x(d) for x = 1/d, 1/sqrt(d), 1/ln d (``fit_excess``, weights
1 / se^2) drawn out to d = 10^4, each with its d -> infinity limit a ± se at the right edge: the data
decide between "the excess vanishes" and "it persists" only where the curves separate by more than
the error bars.  (b) Every trial's difference (jittered in d), the positive, zero and negative ones
in separate colours.
"""
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
THRESHOLDS = "benchmarks/results/thresholds.sqlite"
INPUTS = (THRESHOLDS,)
SEED = 2026  # the store's instance seed
MIN_PAIRS = 6  # as the report: fewer pairs give no row
D_MAX = 1e4  # extrapolation range of the fitted curves
TEX = {"1/d": r"1/d", "1/sqrt(d)": r"1/\sqrt{d}", "1/ln d": r"1/\ln d"}


def parameters(quick):
    return {"thresholds": THRESHOLDS, "seed": SEED, "embedding": "gaussian", "min_pairs": MIN_PAIRS,
            "level": 0.95, "d_max": D_MAX}


def _prefix(trials):
    n = 0
    while n in trials:
        n += 1
    return n


def paired_thresholds():
    """{d: (coupled, decoupled)} arrays of the decided thresholds of the leading trials stored for both."""
    t = {}
    for task, res in plotting.read_store(THRESHOLDS, experiment="threshold"):
        if task["embedding"] == "gaussian" and task["seed"] == SEED:
            t.setdefault((task["model"], task["d"]), {})[task["trial"]] = res["threshold"]
    out = {}
    for d in sorted({d for (_, d) in t}):
        c, u = t.get(("coupled", d), {}), t.get(("decoupled", d), {})
        n = min(_prefix(c), _prefix(u))
        pairs = [(c[i], u[i]) for i in range(n) if c[i] is not None and u[i] is not None]
        if len(pairs) >= MIN_PAIRS:
            out[d] = (np.array([a for a, _ in pairs], float), np.array([b for _, b in pairs], float))
    return out


def compute(quick):
    from capacity.simulate import fit_excess, paired_difference
    from capacity.simulate.threshold import EXCESS_FORMS

    pairs = paired_thresholds()
    ds = np.array(sorted(pairs), dtype=float)
    rows, scatter = [], []
    for d in sorted(pairs):
        c, u = pairs[d]
        pc = capacity.p_c(d)
        r = paired_difference(c, u, scale=pc)
        rows.append((d, r.mean, r.se, r.ci_low, r.ci_high, r.n, r.n_pos, r.n_zero, r.n_neg, r.p_sign))
        scatter += [(d, i, x) for i, x in enumerate((c - u) / pc)]
    data = {"summary": np.array(rows, dtype=float).reshape(-1, 10),
            "summary_columns": np.array(["d", "mean", "se", "ci_low", "ci_high", "n", "n_pos", "n_zero", "n_neg",
                                         "p_sign"]),
            "pairs": np.array(scatter, dtype=float).reshape(-1, 3)}
    grid = np.logspace(np.log10(max(ds.min(), 2.0)), np.log10(D_MAX), 200) if ds.size else np.zeros(0)
    data["grid"] = grid
    forms = list(EXCESS_FORMS)
    data["forms"] = np.array(forms)
    fits = []
    for form in forms:
        if ds.size >= 3:
            s = data["summary"]
            a, sa, b, sb, chi2, dof = fit_excess(s[:, 0], s[:, 1], s[:, 2], form)
            fits.append((a, sa, b, sb, chi2, dof))
            data[f"curve {form}"] = a + b * EXCESS_FORMS[form](grid)
        else:
            fits.append((np.nan,) * 6)
    data["fits"] = np.array(fits, dtype=float).reshape(-1, 6)
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, 3.8))
    ax, bx = fig.subplots(1, 2, width_ratios=[1.4, 1])
    s = data["summary"]
    colours = ("C0", "C2", "C4")
    for form, (a, sa, b, sb, chi2, dof), col in zip(data["forms"], data["fits"], colours, strict=True):
        if np.isnan(a):
            continue
        label = (f"$a + b\\,x$, $x = {TEX[form]}$: $a = {100 * a:+.2f} \\pm {100 * sa:.2f}$ %, "
                 f"$\\chi^2 = {chi2:.1f}/{int(dof)}$")
        ax.plot(data["grid"], 100 * data[f"curve {form}"], color=col, lw=1.2, label=label)
        ax.errorbar([data["grid"][-1] * 1.25], [100 * a], yerr=[[100 * sa]], color=col, marker="_", ms=8, capsize=2)
    if len(s):
        ax.errorbar(s[:, 0], 100 * s[:, 1], yerr=100 * np.vstack([s[:, 1] - s[:, 3], s[:, 4] - s[:, 1]]),
                    ls="none", color="black", marker="o", ms=4.5, capsize=2,
                    label="mean over trials (Student-t 95% CI)")
        for d, n in zip(s[:, 0], s[:, 5]):
            ax.annotate(f"{int(n)}", (d, 100 * (s[s[:, 0] == d, 4][0])), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=7, color="0.35")
    ax.axhline(0.0, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(r"embedding dimension $d$ (fits to $10^4$; their $d \to \infty$ limit $a$ at the edge)")
    ax.set_ylabel(r"$(p^*_{\rm coupled} - p^*_{\rm decoupled})\,/\,p_c(d)$  [%]")
    ax.legend(loc="upper right", fontsize=7)
    plotting.panel_label(ax, "a", loc="lower left")

    p = data["pairs"]
    if len(p):
        rng = np.random.default_rng(0)
        x = p[:, 0] * np.exp(rng.uniform(-0.08, 0.08, len(p)))
        y = 100 * p[:, 2]
        for mask, col, what in ((y > 0, "C3", "coupled stores more"), (y == 0, "0.5", "equal"),
                                (y < 0, "C1", "decoupled stores more")):
            bx.scatter(x[mask], y[mask], s=7, color=col, alpha=0.7, lw=0, label=f"{what} ({int(mask.sum())})")
    bx.axhline(0.0, color="0.5", lw=0.8, ls=":")
    bx.set_xscale("log")
    bx.set_xlabel(r"$d$ (one point per trial pair)")
    bx.set_ylabel("per trial  [%]")
    bx.legend(loc="upper right", fontsize=7)
    plotting.panel_label(bx, "b", loc="lower left")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
