"""N4 mechanism probes: superposition R², MLP gating, causal swap, zero-shot transfer and refit curves.

Data: the committed store ``benchmarks/results/nets_probes.sqlite`` written by
``benchmarks/results_nets_probes.py`` (capacity.nets.experiments.probes on the N4 model logits = U W2 relu(W1 [e(s); e(r)]
+ b1), U fixed N(0, I/d); settings (N, R, d, h) = (128, 2, 16, 16), (64, 4, 16, 16), (128, 4, 24, 16) and the
wide-MLP contrast (128, 2, 16, 64); 5 seeds; bars = mean, whiskers = sd over seeds).

(a) held-out R² of e(s) regressed on the attribute rows [U_π1(s); …; U_πR(s)] (5-fold CV over subjects), with
the shuffled-bijection and initial-embedding controls.  (b) gating: mean Jaccard of active ReLU sets, same
relation minus different relations, for the trained, initial and frozen-e(s) models.  (c) causal swap of
relation r's fitted component: fraction of answers that follow s', against a random change of the same norm,
and fraction of the other relations' answers kept.  (d) zero-shot transfer to new bijections with
fitted-superposition embeddings, trained MLP vs untrained MLP vs frozen-e(s) model, chance 1/N (dash) and the
fit's ceiling (diamond).  (e, f) embedding-only refit curves at (128, 2, 16, 16) and (128, 2, 16, 64).
"""
import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capacity import plotting  # noqa: E402

SLUG = Path(__file__).stem[len("fig_"):]
STORE = "benchmarks/results/nets_probes.sqlite"
INPUTS = (STORE,)
SEED = 0  # the benchmark's first seed (nothing random is drawn here)
STEPS = 1000
REFIT_STEPS = 300
SETTINGS = ((128, 2, 16, 16), (64, 4, 16, 16), (128, 4, 24, 16), (128, 2, 16, 64))
CURVE_SETTINGS = ((128, 2, 16, 16), (128, 2, 16, 64))
SCALARS = ("r2_trained", "r2_shuffled", "r2_init", "gate_trained_gap", "gate_init_gap", "gate_frozen_gap",
           "swap_component_follow", "swap_random_follow", "swap_component_others_kept", "swap_random_others_kept",
           "transfer_trained_new", "transfer_init_new", "transfer_frozen_new", "transfer_trained_fitted_old",
           "chance")
CURVES = ("refit_trained", "refit_init", "refit_frozen", "refit_trained_fitted")


def parameters(quick):
    # quick and full read the same store (reading is cheap)
    return {"store": STORE, "steps": STEPS, "refit_steps": REFIT_STEPS, "settings": [list(s) for s in SETTINGS]}


def compute(quick):
    from capacity.nets.experiments.probes import EXPERIMENT

    runs = {}
    for task, res in plotting.read_store(STORE, experiment=EXPERIMENT):
        if task.get("unembedding", "fixed") != "fixed" or task["steps"] != STEPS or \
                task["refit_steps"] != REFIT_STEPS:
            continue
        key = (task["n_subjects"], task["n_relations"], task["d"], task["width"])
        runs.setdefault(key, []).append(res)
    settings = [s for s in SETTINGS if s in runs]
    if not settings:
        raise ValueError(f"no probe runs in {STORE}; run `python benchmarks/results_nets_probes.py` first")
    mean = np.array([[np.mean([r[k] for r in runs[s]]) for k in SCALARS] for s in settings])
    sd = np.array([[np.std([r[k] for r in runs[s]], ddof=1) if len(runs[s]) > 1 else 0.0 for k in SCALARS]
                   for s in settings])
    data = {"settings": np.array(settings), "scalars": np.array(SCALARS), "mean": mean, "sd": sd,
            "n_seeds": np.array([len(runs[s]) for s in settings])}
    for i, s in enumerate(s for s in CURVE_SETTINGS if s in runs):
        data[f"curve{i}_setting"] = np.array(s)
        data[f"curve{i}_steps"] = np.array(runs[s][0]["refit_steps"])
        for c in CURVES:
            C = np.array([r[c] for r in runs[s]])
            data[f"curve{i}_{c}_mean"] = C.mean(0)
            data[f"curve{i}_{c}_sd"] = C.std(0, ddof=1) if len(C) > 1 else np.zeros(C.shape[1])
    return data


def _bars(ax, data, keys, labels, colours):
    col = {k: i for i, k in enumerate(data["scalars"].tolist())}
    n = len(data["settings"])
    x = np.arange(n)
    w = 0.8 / len(keys)
    for j, (k, lab, c) in enumerate(zip(keys, labels, colours)):
        ax.bar(x + (j - (len(keys) - 1) / 2) * w, data["mean"][:, col[k]], w, yerr=data["sd"][:, col[k]],
               color=c, label=lab, capsize=2, error_kw={"lw": 0.8})
    ax.set_xticks(x, labels=[f"N={n}, R={r}\nd={d}, h={h}" for n, r, d, h in data["settings"]], fontsize=7)
    ax.axhline(0, color="black", lw=0.6)
    return x, w


def plot(data):
    from matplotlib.figure import Figure

    col = {k: i for i, k in enumerate(data["scalars"].tolist())}
    fig = Figure(figsize=(12.0, 7.0))
    axs = fig.subplots(2, 3)
    ax = axs[0, 0]
    _bars(ax, data, ("r2_trained", "r2_shuffled", "r2_init"),
          ("trained $e(s)$", "control: shuffled bijections", "control: initial $e(s)$"), ("C0", "0.6", "0.8"))
    ax.set_ylabel("held-out $R^2$ of $e(s) \\sim [U_{\\pi_1(s)}; \\ldots; U_{\\pi_R(s)}]$")
    ax.set_ylim(-0.1, 1.0)
    ax.legend(fontsize=7, loc="upper left")
    plotting.panel_label(ax, "a", loc="upper right")
    ax = axs[0, 1]
    _bars(ax, data, ("gate_trained_gap", "gate_init_gap", "gate_frozen_gap"),
          ("trained", "control: initial model", "control: frozen-$e(s)$ model"), ("C0", "0.8", "C1"))
    ax.set_ylabel("Jaccard(same relation) − Jaccard(different)")
    ax.set_ylim(0, 0.6)
    ax.legend(fontsize=7, loc="upper left")
    plotting.panel_label(ax, "b", loc="upper right")
    ax = axs[0, 2]
    _bars(ax, data, ("swap_component_follow", "swap_random_follow", "swap_component_others_kept",
                     "swap_random_others_kept"),
          ("component swap: follows $s'$", "random same-norm change: follows $s'$",
           "component swap: other relations kept", "random change: other relations kept"),
          ("C0", "0.6", "C2", "0.85"))
    ax.set_ylabel("fraction of queries")
    ax.set_ylim(0, 1.0)
    ax.legend(fontsize=7, loc="upper left")
    plotting.panel_label(ax, "c", loc="upper right")
    ax = axs[1, 0]
    x, w = _bars(ax, data, ("transfer_trained_new", "transfer_init_new", "transfer_frozen_new"),
                 ("trained MLP", "control: untrained MLP", "control: frozen-$e(s)$ model"), ("C0", "0.8", "C1"))
    ax.plot(x - w, data["mean"][:, col["transfer_trained_fitted_old"]], ls="none", marker="D", ms=5, color="C3",
            label="ceiling: fitted old $e(s)$ on old facts")
    for xi, ch in zip(x, data["mean"][:, col["chance"]]):
        ax.plot([xi - 0.45, xi + 0.45], [ch, ch], color="black", lw=1.0, ls="--")
    ax.plot([], [], color="black", lw=1.0, ls="--", label="chance $1/N$")
    ax.set_ylabel("zero-shot accuracy on new bijections")
    ax.set_ylim(0, 1.0)
    ax.legend(fontsize=7, loc="upper left")
    plotting.panel_label(ax, "d", loc="upper right")
    labels = {"refit_trained": ("trained MLP, random start", "C0", "-"),
              "refit_trained_fitted": ("trained MLP, fitted-superposition start", "C0", "--"),
              "refit_frozen": ("frozen-$e(s)$ model's MLP, random start", "C1", "-"),
              "refit_init": ("untrained MLP, random start", "0.5", "-")}
    for i, ax in enumerate(axs[1, 1:]):
        if f"curve{i}_steps" not in data:
            ax.set_visible(False)
            continue
        st = data[f"curve{i}_steps"]
        for c, (lab, colour, ls) in labels.items():
            m, s = data[f"curve{i}_{c}_mean"], data[f"curve{i}_{c}_sd"]
            ax.plot(st, m, color=colour, ls=ls, lw=1.3, label=lab)
            ax.fill_between(st, m - s, m + s, color=colour, alpha=0.15, lw=0)
        n, r, d, h = data[f"curve{i}_setting"]
        ax.axhline(1.0 / n, color="black", lw=0.8, ls=":", label="chance $1/N$")
        ax.set_xlabel("refit step (only the new $e(s)$ trained)")
        ax.set_title(f"embedding-only refit, N={n}, R={r}, d={d}, h={h}", fontsize=9)
        ax.set_ylabel("accuracy on new facts")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="lower right")
        plotting.panel_label(ax, "ef"[i], loc="upper left")
    return fig


def main(argv=None):
    return plotting.figure_main(SLUG, argv)


if __name__ == "__main__":
    raise SystemExit(main())
