"""Bits stored per parameter by the one-layer linear memory against its parameter count N = d².

docs/accuracy.md §2.  Lines: the exact finite-size theory at accuracy 1 (p_c log2 p_c / d², eq. (T3)) and
the replica-symmetric theory at accuracy 0.99 and 0.9 (eq. (A2), Fano bits p[log2 p − H2(ε) − ε log2(p − 1)] / N,
Monte Carlo tail); the limit 1/(2 ln 2).  Points: certified simulations at accuracy 1 — the median
nested-instance threshold + 1/2 (coupled, decoupled; exact order-statistic 95 % CI) from
``benchmarks/results/thresholds.sqlite``; the reproduced ">= 99 %" protocol (cross-entropy + Adam, unit-sphere
coupled memory, best of three learning rates, median over 5 seeds, N log2 N / d²) and gradient descent at
100 % on the same instances, from ``benchmarks/results/protocol.sqlite`` (docs/accuracy.md §5).  Reference levels from the literature, each with its own
definition (not reproduced here): Nichani, Lee & Bietti's linear-memory law d² = 1.3 N log N read with natural
log as bits = N log2 N / d² = 1/(1.3 ln 2) ≈ 1.11 (their facts N, 99 % accuracy, trained with Adam);
about 2 bits/parameter for transformers after 1000 exposures (Allen-Zhu & Li); about 3.6 bits/parameter
for GPT-style models on random strings (Morris et al.).
"""
import math
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity import plotting  # noqa: E402
from capacity.theory.accuracy import bits_per_param, solve_p_c_accuracy  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
THRESHOLDS = "benchmarks/results/thresholds.sqlite"
PROTOCOL = "benchmarks/results/protocol.sqlite"
INPUTS = (THRESHOLDS, PROTOCOL)
MODELS = ("decoupled", "coupled")  # the models of pc_scaling's threshold_p50
REFERENCES = ((1 / (1.3 * math.log(2)), "linear memory, 99 %, Adam: $d^2 = 1.3\\,N\\ln N$ (Nichani et al.)"),
              (2.0, "transformers, 1000 exposures (Allen-Zhu & Li)"),
              (3.6, "GPT-style, random strings (Morris et al.)"))


def parameters(quick):
    return {"d_min": 4.0, "d_max": 1e4 if quick else 1e6, "n_d": 8 if quick else 25,
            "d_acc": [8, 32, 100] if quick else [8, 16, 32, 64, 100, 300, 1000],
            "accuracies": [0.99, 0.9], "n_samples": 20_000 if quick else 200_000, "thresholds": THRESHOLDS,
            "protocol": PROTOCOL}


def protocol_bits(path=PROTOCOL):
    """Rows (N = d², bits of the median over seeds) of the reproduced protocol, by target accuracy.

    A search's answer is its largest stored N (docs/accuracy.md §5); at target 0.99 the best over the learning
    rates of each seed, then the median over seeds.
    """
    from capacity.sweeps import ResultsStore

    best = {}
    with ResultsStore(plotting.repo_file(path), readonly=True) as store:
        for rec in store.records(experiment="nets-protocol"):
            t, r = rec.task, rec.result
            if r["stored"]:
                key = (t["target"], t["d"], t["trial"])
                best[key] = max(best.get(key, 0), t["n"])
    out = {}
    for target in sorted({k[0] for k in best}):
        rows = []
        for d in sorted({k[1] for k in best if k[0] == target}):
            n = float(np.median([v for k, v in best.items() if k[0] == target and k[1] == d]))
            rows.append((d * d, bits_per_param(n, d * d)))
        out[target] = np.array(rows, dtype=float).reshape(-1, 2)
    return out


def threshold_bits():
    """Per model: rows (N, bits, bits at the CI's ends) from pc_scaling's threshold medians (median + 1/2)."""
    out = {}
    for model, rows in plotting.load_figure("pc_scaling").threshold_p50().items():
        out[model] = np.array([(d * d, bits_per_param(p, d * d), bits_per_param(lo, d * d), bits_per_param(hi, d * d))
                               for d, p, lo, hi in rows if math.isfinite(lo)], dtype=float).reshape(-1, 4)
    return out


def compute(quick):
    par = parameters(quick)
    ds = np.logspace(math.log10(par["d_min"]), math.log10(par["d_max"]), par["n_d"])
    data = {"N": ds**2, "bits_exact": np.array([bits_per_param(capacity.p_c(d), d * d) for d in ds])}
    da = np.array(par["d_acc"], dtype=float)
    data["N_acc"] = da**2
    for a in par["accuracies"]:
        res = [solve_p_c_accuracy(d, accuracy=a, n_samples=par["n_samples"]) for d in da]
        data[f"bits_{a}"] = np.array([r.bits_per_param for r in res])
    for model, rows in threshold_bits().items():
        data[f"sim_{model}"] = rows
    for target, rows in protocol_bits().items():
        data[f"protocol_{target:g}"] = rows
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.subplots()
    ax.plot(data["N"], data["bits_exact"], color="black", label="exact theory, accuracy 1 (T3)")
    for a, style in ((0.99, "--"), (0.9, ":")):
        ax.plot(data["N_acc"], data[f"bits_{a}"], color="C0", ls=style, marker=".",
                label=f"RS theory, accuracy {a:g} (A2), Fano bits")
    ax.axhline(1 / (2 * math.log(2)), color="0.5", lw=1.0, label=r"limit $1/(2\ln 2)$")
    for model, marker in zip(MODELS, ("o", "s")):
        rows = data[f"sim_{model}"]
        if rows.size:
            ax.errorbar(rows[:, 0], rows[:, 1], yerr=[rows[:, 1] - rows[:, 2], rows[:, 3] - rows[:, 1]],
                        fmt=marker, ms=4, capsize=2, label=f"certified thresholds, {model} (median, 95 % CI)")
    for target, marker, text in ((0.99, "D", "reproduced protocol: CE + Adam, >= 99 %, sphere, coupled (median of 5)"),
                                 (1.0, "x", "gradient descent, 100 %, same instances (median of 5)")):
        rows = data.get(f"protocol_{target:g}")
        if rows is not None and rows.size:
            ax.plot(rows[:, 0], rows[:, 1], marker, ms=5, color="C2" if target < 1 else "C1", mfc="none", label=text)
    for i, (level, text) in enumerate(REFERENCES):
        ax.axhline(level, color=f"C{i + 3}", lw=0.8, ls="-.")
        below = i == 0  # the linear-memory level crosses the theory curve: label it underneath
        ax.text(data["N"][0], level * (0.97 if below else 1.03), text, fontsize=7, color=f"C{i + 3}",
                va="top" if below else "bottom")
    ax.set_xscale("log")
    ax.set_xlabel(r"parameters $N = d^2$")
    ax.set_ylabel("bits per parameter")
    ax.set_ylim(0.0, 4.2)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.85), fontsize=7)  # between the 3.6 and 2.0 levels
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
