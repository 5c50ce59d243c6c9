"""Max margin kappa*(alpha) of the theory versus the certified simulations' kappa_hat, d = 16, 24, 32, 48.

Theory (docs/theory.md §3): along p = alpha d^2 with K = p - 1, kappa* solves alpha E dist^2(K, kappa*) = 1
(``capacity.kappa_star``); it falls to 0 at the finite-size capacity alpha_c(d) = p_c(d) / d^2.
Simulation: the normalised margin kappa_hat = min margin / (||W||_F / d) of the Frobenius
max-margin memory, from the committed store ``benchmarks/results/mechanism.sqlite`` (experiment
"margin-detail", made by ``benchmarks/results_mechanism.py``): mean over trials with its standard
error, Gaussian N(0, I/d) and unit-sphere embeddings.  Panels a, b: decoupled and coupled models
against the same (decoupled) theory; panel c: kappa_hat / kappa* per cell versus d, at the loads
alpha = f alpha_c(p - 1, 0) the store was made at (f = 0.25, 0.5, 0.75).
"""
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
DS = (16, 24, 32, 48)
MODELS = ("decoupled", "coupled")
EMBEDDINGS = ("gaussian", "sphere")


def parameters(quick):
    return {"d": list(DS), "n_alpha": 6 if quick else 30, "f_min": 0.25, "store": STORE}


def compute(quick):
    par = parameters(quick)
    data = {"d_values": np.array(DS, dtype=float)}
    for d in DS:
        pc = capacity.p_c(d)
        ps = np.linspace(par["f_min"], 1.0, par["n_alpha"])[:-1] * pc
        alpha = np.append(ps / d**2, pc / d**2)
        kap = [capacity.kappa_star(p / d**2, p - 1.0) for p in ps] + [0.0]  # kappa* = 0 at p = p_c
        data[f"theory_{d}_alpha"] = alpha
        data[f"theory_{d}_kappa"] = np.array(kap)

    cells = {}
    for task, res in plotting.read_store(STORE, experiment="margin-detail"):
        key = (task["model"], task["embedding"], task["d"], task["p"])
        cells.setdefault(key, []).append(res["kappa_hat"] if res["verdict"] == "feasible" else np.nan)
    theory = {(d, p): (capacity.kappa_star(p / d**2, p - 1), p / d**2 * capacity.expected_dist2(p - 1))
              for (_, _, d, p) in cells}
    rows = []  # model index, embedding index, d, p, mean, se, n, kappa*, f
    for (model, emb, d, p), kh in sorted(cells.items()):
        kh = np.asarray(kh, dtype=float)
        ok = kh[np.isfinite(kh)]
        se = ok.std(ddof=1) / np.sqrt(ok.size) if ok.size > 1 else np.nan
        rows.append((MODELS.index(model), EMBEDDINGS.index(emb), d, p, ok.mean() if ok.size else np.nan, se,
                     ok.size, *theory[(d, p)]))
    data["sim"] = np.array(rows, dtype=float)
    data["sim_columns"] = np.array(["model", "embedding", "d", "p", "kappa_hat_mean", "kappa_hat_se", "n_trials",
                                    "kappa_star", "f"])
    return data


def plot(data):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 3.8))
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 0.8])
    sim = data["sim"]
    col = {name: i for i, name in enumerate(data["sim_columns"])}
    ds = data["d_values"]
    colors = {d: f"C{i}" for i, d in enumerate(ds)}
    emb_style = {0: dict(marker="o"), 1: dict(marker="s", mfc="white")}
    for mi, (ax, model) in enumerate(zip(axes[:2], MODELS, strict=True)):
        for d in ds:
            ax.plot(data[f"theory_{int(d)}_alpha"], data[f"theory_{int(d)}_kappa"], color=colors[d],
                    label=rf"theory $\kappa^*$, $d = {d:g}$" if mi == 0 else None)
            for ei, st in emb_style.items():
                r = sim[(sim[:, col["model"]] == mi) & (sim[:, col["embedding"]] == ei) & (sim[:, col["d"]] == d)]
                if r.size:
                    ax.errorbar(r[:, col["p"]] / d**2, r[:, col["kappa_hat_mean"]], yerr=r[:, col["kappa_hat_se"]],
                                ls="none", color=colors[d], ms=4.5, **st)
        ax.set_xlabel(r"load $\alpha = p/d^2$")
        ax.set_xlim(0.0, None)
        ax.set_ylim(0.0, None)
        plotting.panel_label(ax, f"{'ab'[mi]}  {model} model", loc="upper right")
    axes[0].set_ylabel(r"normalised margin $\kappa$  ($\|W\|_F = d$)")
    axes[0].legend(loc="upper right", bbox_to_anchor=(1.0, 0.9))
    axes[1].plot([], [], "ko", ms=4.5, ls="none", label=r"simulated $\hat\kappa$, Gaussian embeddings")
    axes[1].plot([], [], "ks", mfc="white", ms=4.5, ls="none", label=r"simulated $\hat\kappa$, sphere embeddings")
    axes[1].plot([], [], "k-", label="theory (decoupled model)")
    axes[1].legend(loc="upper right", bbox_to_anchor=(1.0, 0.9))

    cx = axes[2]
    fs = np.round(sim[:, col["f"]] * 4.0) / 4.0  # the store's loads f = 0.25, 0.5, 0.75 (p rounded)
    palette = ("C4", "C5", "C6", "C3", "C2")
    f_colors = {f: palette[i % len(palette)] for i, f in enumerate(sorted(set(fs)))}
    for (mi, ls) in ((0, "-"), (1, ":")):
        for f, color in f_colors.items():
            for ei, st in emb_style.items():
                r = sim[(sim[:, col["model"]] == mi) & (sim[:, col["embedding"]] == ei) & (fs == f)]
                if not r.size:
                    continue
                ratio = r[:, col["kappa_hat_mean"]] / r[:, col["kappa_star"]]
                cx.errorbar(r[:, col["d"]] * (1.0 + 0.02 * (2 * ei - 1)), ratio,
                            yerr=r[:, col["kappa_hat_se"]] / r[:, col["kappa_star"]], color=color, ls=ls, lw=0.9,
                            ms=4.0, **st)
    for f, color in f_colors.items():
        cx.plot([], [], color=color, label=rf"$\alpha = {f:g}\,\alpha_c(p-1)$")
    cx.plot([], [], color="0.3", ls="-", label="decoupled")
    cx.plot([], [], color="0.3", ls=":", label="coupled")
    cx.axhline(1.0, color="black", lw=0.8)
    cx.set_xscale("log")
    cx.set_xticks(ds, [f"{d:g}" for d in ds])
    cx.minorticks_off()
    cx.set_xlabel(r"embedding dimension $d$")
    cx.set_ylabel(r"$\hat\kappa\,/\,\kappa^*$  (simulation / theory)")
    cx.legend(loc="lower right", fontsize=7.5)
    plotting.panel_label(cx, "c", loc="upper right")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
