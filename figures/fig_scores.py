"""Optimal vs Hebbian score histograms at d = 32, alpha = 0.5 alpha_c, with the theory's projection laws.

Top row, optimal memory: the correct scores y_mu^T W x_mu and the top-competitor scores of the
Frobenius max-margin W (||W||_F = d) of the certified instances in the committed store
``benchmarks/results/mechanism.sqlite`` (experiment "margin-detail", Gaussian embeddings, d = 32,
p = 105, i.e. alpha = 0.5 alpha_c(p - 1, 0)), pooled over trials, coupled and decoupled; overlaid,
the theory's laws (docs/theory.md §3): the projection of z ~ N(0, I_{K+1}) onto C_kappa* with K = p - 1 and
kappa* solving (p/d^2) E dist^2(K, kappa*) = 1, correct field h_0 = max(z_0, t* + kappa*) and top
competitor max_k min(z_k, t*), sampled exactly with all K competitors (the sampler of
``benchmarks/results_mechanism.py``).  Bottom row, Hebbian memory W_H = sum_mu y_mu x_mu^T on the
same instances (regenerated from their seeds with ``capacity.simulate.make_instance``; checked
against the stored Hebbian spectra), also at ||W||_F = d: correct and largest competitor scores.
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
SEED = 20261122  # theory sampler seed (the mechanism report's)
MODELS = ("decoupled", "coupled")


def parameters(quick):
    return {"d": D, "load_fraction": LOAD, "embedding": EMBEDDING, "store": STORE,
            "n_theory_samples": 10_000 if quick else 50_000, "theory_seed": SEED}


def projection_laws(K, kappa, n, seed, chunk=10_000):
    """Exact samples of the projection of z ~ N(0, I_{K+1}) onto C_kappa, all K competitors drawn.

    docs/theory.md §2, eq. (T2): sort competitors descending; t_j = (z_0 - kappa + sum_{i<=j} z_(i)) / (j + 1); the
    level is t_j for the first j with z_(j+1) <= t_j; h0 = max(z_0, t + kappa), h_k = min(z_k, t).
    Returns (h0, top competitor field).  Same sampler as ``benchmarks/results_mechanism.py``, in chunks.
    """
    rng = np.random.default_rng(seed)
    h0s, tops = [], []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        z0 = rng.standard_normal(m)
        srt = -np.sort(-rng.standard_normal((m, K)), axis=1)
        j = np.arange(K + 1)
        csum = np.concatenate([np.zeros((m, 1)), np.cumsum(srt, axis=1)], axis=1)
        t = (z0[:, None] - kappa + csum) / (j + 1)
        nxt = np.concatenate([srt, np.full((m, 1), -np.inf)], axis=1)
        level = t[np.arange(m), np.argmax(nxt <= t, axis=1)]
        h0s.append(np.maximum(z0, level + kappa))
        tops.append(np.minimum(srt[:, 0], level))
    return np.concatenate(h0s), np.concatenate(tops)


def select_p(records, d, load):
    """The stored p at dimension d whose load p/d^2 E dist^2(p - 1) is closest to ``load`` alpha_c."""
    ps = sorted({t["p"] for t, _ in records if t["d"] == d})
    if not ps:
        raise ValueError(f"no stored cell at d = {d} in {STORE}")
    return min(ps, key=lambda p: abs(p / d**2 * capacity.expected_dist2(p - 1) - load))


def compute(quick):
    from capacity.simulate import hebbian_recall, make_instance

    par = parameters(quick)
    records = plotting.read_store(STORE, experiment="margin-detail")
    p = select_p(records, D, LOAD)
    K = p - 1
    kap = capacity.kappa_star(p / D**2, K)
    h0, top = projection_laws(K, kap, par["n_theory_samples"], SEED)
    data = {"d": D, "p": p, "kappa_star": kap, "theory_correct": h0, "theory_top": top}
    for model in MODELS:
        corr, comp, hc, hm, kh = [], [], [], [], []
        for task, res in records:
            if (task["d"], task["p"], task["model"], task["embedding"]) != (D, p, model, EMBEDDING):
                continue
            if res["verdict"] != "feasible":
                continue
            corr.append(res["correct"])
            comp.append(res["top_competitor"])
            kh.append(res["kappa_hat"])
            inst = make_instance(model, D, p, embedding=EMBEDDING, seed=task["seed"], trial=task["trial"])
            W = inst.y.T @ inst.x
            sv = np.linalg.svd(W * (D / np.linalg.norm(W)), compute_uv=False)
            if not np.allclose(sv, res["hebbian_singular_values"], rtol=1e-9, atol=1e-9):
                raise RuntimeError(f"regenerated instance ({model}, trial {task['trial']}) does not match the store")
            heb = hebbian_recall(inst)
            hc.append(heb.correct_scores)
            hm.append(heb.max_competitor_scores)
        data[f"opt_correct_{model}"] = np.concatenate(corr)
        data[f"opt_top_{model}"] = np.concatenate(comp)
        data[f"hebb_correct_{model}"] = np.concatenate(hc)
        data[f"hebb_top_{model}"] = np.concatenate(hm)
        data[f"kappa_hat_{model}"] = np.asarray(kh)
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, 5.6))
    axes = fig.subplots(2, 2, sharex="row")

    def bins_for(prefix, theory, n):  # every simulated score of the row falls inside the bins
        sims = np.concatenate([np.ravel(data[k]) for k in data if k.startswith(prefix)])
        lo, hi = sims.min(), sims.max()
        if theory is not None:
            lo, hi = min(lo, np.quantile(theory, 0.0005)), max(hi, np.quantile(theory, 0.9995))
        return np.linspace(math.floor(lo * 4) / 4, math.ceil(hi * 4) / 4, n)

    row_bins = (bins_for("opt_", np.concatenate([data["theory_correct"], data["theory_top"]]), 61),
                bins_for("hebb_", None, 36))
    colors = {"decoupled": "C0", "coupled": "C1"}
    panels = ((0, 0, "opt_correct", "theory_correct", "a  optimal W: correct score"),
              (0, 1, "opt_top", "theory_top", "b  optimal W: top competitor"),
              (1, 0, "hebb_correct", None, "c  Hebbian W: correct score"),
              (1, 1, "hebb_top", None, "d  Hebbian W: top competitor"))
    for row, c, key, theory, label in panels:
        ax = axes[row, c]
        bins = row_bins[row]
        if theory is not None:
            ax.hist(data[theory], bins=bins, density=True, color="0.82",
                    label=rf"theory, $\kappa^* = {data['kappa_star']:.3f}$")
        if key == "hebb_correct":  # coupled and decoupled instances share x, y, hence W_H and these scores
            v = data[f"{key}_decoupled"]
            ax.hist(v, bins=bins, density=True, histtype="step", lw=1.4, color="C2",
                    label=f"both models ({v.size} inputs;\nsame x, y give the same $W_H$)")
            ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.86), fontsize=7.5)
            models = ()
        else:
            models = MODELS
        for model in models:
            v = data[f"{key}_{model}"]
            ax.hist(v, bins=bins, density=True, histtype="step", lw=1.4, color=colors[model],
                    label=f"{model} ({v.size} inputs)")
        ax.axvline(0.0, color="0.5", lw=0.6)
        plotting.panel_label(ax, label, loc="upper left")
        ax.set_ylim(0.0, ax.get_ylim()[1] * 1.25)
    for ax in axes[:, 0]:
        ax.set_ylabel("density")
    for ax in axes.flat:
        ax.set_xlabel(r"score $c^\top W x_\mu$  ($\|W\|_F = d$)")
    axes[0, 1].legend(loc="upper right", bbox_to_anchor=(1.0, 0.86), fontsize=7.5)
    axes[1, 1].legend(loc="upper right", bbox_to_anchor=(1.0, 0.86), fontsize=7.5)
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
