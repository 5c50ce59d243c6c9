"""Hebbian memory: finite-d theory (capacity.theory.hebbian) vs the simulator (hebbian_recall).

Three parts, all with fixed seeds, written to benchmarks/results/hebbian.md:

1. The 50 % point of P(all recalled) for d in {20, 50, 100, 200, 400}, sphere and
   gaussian embeddings, coupled model (and decoupled for d <= 100).  Trials at a grid
   of p around the theory value (the grid is only *where* we sample); p50 from the
   logistic fit of capacity.simulate.fit_p50 with a 95 % bootstrap CI.  Theory:
   hebbian_p_c(criterion="all") in the conditional picture (default) and in the plain
   Gaussian picture; p ln p / d^2 for both.  The same trials give, per grid point, the
   simulated per-input failure rate and all-recalled frequency next to the theory's.
2. The per-input recall fraction at a few loads around the typical-item threshold.
3. Score statistics at one (d, p): mean and std of the raw correct and competitor
   scores (unnormalised W_H) against the exact moments.
4. At the theory's p_c, many trials: the all-recalled frequency against 1/2, and a
   direct test of the independence approximation P(all) = P(recall)^p.

Run:   python benchmarks/results_hebbian.py [--quick]
One process, one BLAS thread; about 8 minutes on one core (--quick: ~10 s).  Every number comes from
fixed seeds; the file holds no timing (the run's wall time is printed on stdout only).
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capacity import __version__  # noqa: E402
from capacity.simulate import fit_p50, hebbian_recall, make_instance, summarize_points  # noqa: E402
from capacity.theory.hebbian import (  # noqa: E402
    hebbian_all_recalled_prob,
    hebbian_p_c,
    hebbian_p_c_asymptotic,
    hebbian_recall_prob,
    hebbian_score_moments,
)

SEED = 2026
DIMS = (20, 50, 100, 200, 400)
DECOUPLED_MAX_D = 100


def plogp(p, d):
    return p * math.log(p) / (d * d)


def grid(pc, d):
    fr = (0.7, 0.85, 1.0, 1.15, 1.3) if d <= 50 else (0.8, 0.9, 1.0, 1.1, 1.2)
    return sorted({max(2, int(round(pc * f))) for f in fr})


def run_point(model, d, p, embedding, n_trials, seed):
    frac, allr = [], []
    for trial in range(n_trials):
        r = hebbian_recall(make_instance(model, d, p, embedding=embedding, seed=seed, trial=trial))
        frac.append(r.fraction_recalled)
        allr.append(r.all_recalled)
    return np.array(frac), np.array(allr)


def part1(dims, trials_for, out):
    out += [
        "## 1. 50 % point of P(all recalled)",
        "",
        "p50 (simulation): logistic ML fit of the all-recalled frequency in p, 95 % bootstrap CI (1000 replicates).",
        "theory: `hebbian_p_c(d, criterion=\"all\")`, conditional picture (default); gaussian: the plain",
        "Gaussian picture (`method=\"gaussian\"`).  asym: `hebbian_p_c_asymptotic(d, \"all\")` (p ln p = d^2/8).",
        "x = p ln p / d^2.",
        "",
        "| embedding | model | d | trials/p | sim p50 | 95% CI | x sim | theory p50 | x theory | sim/theory "
        "| gaussian-picture p50 | x gauss | sim/gauss | asym p |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    detail = [
        "",
        "Per grid point (same trials): simulated per-input failure rate 1 - fraction recalled (mean over",
        "trials +- standard error across trials), the theory's 1 - P(recall) (conditional; Gaussian picture),",
        "and the all-recalled frequency vs the theory's P(recall)^p.",
        "",
        "| embedding | model | d | p | trials | fail sim | fail theory | fail gauss-pic | all sim | all theory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for embedding in ("sphere", "gaussian"):
        for model in ("coupled", "decoupled"):
            for d in dims:
                if model == "decoupled" and d > DECOUPLED_MAX_D:
                    continue
                t0 = time.time()
                n = trials_for(d)
                pc = hebbian_p_c(d, model=model, embedding=embedding)
                pg = hebbian_p_c(d, model=model, embedding=embedding, method="gaussian")
                pa = hebbian_p_c_asymptotic(d, "all")
                recs = []
                for p in grid(pc, d):
                    frac, allr = run_point(model, d, p, embedding, n, SEED)
                    recs += [{"p": p, "verdict": "feasible" if a else "infeasible"} for a in allr]
                    fs, fse = 1 - frac.mean(), frac.std(ddof=1) / math.sqrt(n)
                    ft = 1 - hebbian_recall_prob(d, p, model=model, embedding=embedding)
                    fg = 1 - hebbian_recall_prob(d, p, model=model, embedding=embedding, method="gaussian")
                    at = hebbian_all_recalled_prob(d, p, model=model, embedding=embedding)
                    detail.append(
                        f"| {embedding} | {model} | {d} | {p} | {n} | {fs:.4f} +- {fse:.4f} | {ft:.4f} | {fg:.4f} | "
                        f"{allr.mean():.3f} | {at:.3f} |"
                    )
                fit = fit_p50(summarize_points(recs), n_boot=1000, seed=0)
                ci = f"[{fit.ci_low:.1f}, {fit.ci_high:.1f}]" if math.isfinite(fit.ci_low) else "n/a"
                xs = plogp(fit.p50, d) if fit.success else float("nan")
                line = (
                    f"| {embedding} | {model} | {d} | {n} | {fit.p50:.1f} | {ci} | {xs:.4f} | {pc:.1f} | "
                    f"{plogp(pc, d):.4f} | {fit.p50 / pc:.3f} | {pg:.1f} | {plogp(pg, d):.4f} | {fit.p50 / pg:.3f} | "
                    f"{pa:.1f} |"
                )
                if fit.method != "logistic-mle":
                    line += f" ({fit.method})"
                out.append(line)
                print(line, f"  [{time.time() - t0:.0f} s]", flush=True)
    out += detail


def part2(dims, n_trials, out):
    out += [
        "",
        "## 2. Per-input recall fraction around the typical-item threshold (coupled model)",
        "",
        "p_typ = `hebbian_p_c(d, criterion=\"typical\", model=\"coupled\", embedding=...)` (P(recall) = 1/2).  Simulated: mean fraction recalled",
        "+- standard error across trials.",
        "",
        "| embedding | d | p_typ | x = p_typ ln p_typ / d^2 | p | trials | recall sim | recall theory | recall gauss-pic |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for embedding in ("sphere", "gaussian"):
        for d in dims:
            pt = hebbian_p_c(d, criterion="typical", model="coupled", embedding=embedding)
            for f in (0.5, 1.0, 1.5):
                p = int(round(f * pt))
                frac, _ = run_point("coupled", d, p, embedding, n_trials, SEED + 1)
                th = hebbian_recall_prob(d, p, model="coupled", embedding=embedding)
                tg = hebbian_recall_prob(d, p, model="coupled", embedding=embedding, method="gaussian")
                out.append(
                    f"| {embedding} | {d} | {pt:.1f} | {plogp(pt, d):.4f} | {p} | {n_trials} | "
                    f"{frac.mean():.4f} +- {frac.std(ddof=1) / math.sqrt(n_trials):.4f} | {th:.4f} | {tg:.4f} |"
                )
                print(out[-1], flush=True)


def part3(d, p, n_trials, out):
    out += [
        "",
        f"## 3. Score statistics at d = {d}, p = {p} (raw W_H = sum y x^T, not normalised)",
        "",
        f"Simulated over {n_trials} instances (all inputs and all competitors pooled); the standard error of a",
        "pooled mean is estimated from the spread of the per-instance means.  Theory: `hebbian_score_moments`.",
        "",
        "| embedding | model | correct mean sim | theory | correct std sim | theory "
        "| competitor mean sim | theory | competitor std sim | theory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for embedding in ("sphere", "gaussian"):
        for model in ("coupled", "decoupled"):
            c_means, c_sq, k_means, k_sq = [], [], [], []
            for trial in range(n_trials):
                inst = make_instance(model, d, p, embedding=embedding, seed=SEED + 2, trial=trial)
                W = inst.y.T @ inst.x
                correct = np.einsum("pd,pd->p", inst.y, inst.x @ W.T)
                comp = correct[:, None] - inst.margins(W)
                c_means.append(correct.mean())
                c_sq.append((correct**2).mean())
                k_means.append(comp.mean())
                k_sq.append((comp**2).mean())
            m = hebbian_score_moments(d, p, model=model, embedding=embedding)

            def stat(means, sqs):
                mu = float(np.mean(means))
                se = float(np.std(means, ddof=1) / math.sqrt(len(means)))
                sd = math.sqrt(float(np.mean(sqs)) - mu * mu)
                return mu, se, sd

            cm, cse, cs = stat(c_means, c_sq)
            km, kse, ks = stat(k_means, k_sq)
            out.append(
                f"| {embedding} | {model} | {cm:.4f} +- {cse:.4f} | {m.mean_correct:.4f} | {cs:.4f} | "
                f"{math.sqrt(m.var_correct):.4f} | {km:.5f} +- {kse:.5f} | {m.mean_competitor:.4f} | {ks:.4f} | "
                f"{math.sqrt(m.var_competitor):.4f} |"
            )
            print(out[-1], flush=True)


def part4(cases, out):
    out += [
        "",
        "## 4. At the theory's 50 % point, with many trials",
        "",
        "p = round(hebbian_p_c(d, model=..., embedding=...)) for each row's model and embedding; theory evaluated at that integer p.  The last column, (1 - fail sim)^p, is",
        "what the independence approximation P(all) = P(recall)^p makes of the *simulated* per-input failure",
        "rate: its agreement with the simulated all-recalled frequency tests that approximation alone.",
        "",
        "| embedding | model | d | p | trials | fail sim | fail theory | all sim | all theory | (1 - fail sim)^p |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for embedding, model, d, n in cases:
        p = int(round(hebbian_p_c(d, model=model, embedding=embedding)))
        frac, allr = run_point(model, d, p, embedding, n, SEED + 3)
        fs, fse = 1 - frac.mean(), frac.std(ddof=1) / math.sqrt(n)
        ft = 1 - hebbian_recall_prob(d, p, model=model, embedding=embedding)
        at = hebbian_all_recalled_prob(d, p, model=model, embedding=embedding)
        a, ase = allr.mean(), math.sqrt(allr.mean() * (1 - allr.mean()) / n)
        out.append(
            f"| {embedding} | {model} | {d} | {p} | {n} | {fs:.6f} +- {fse:.6f} | {ft:.6f} | {a:.3f} +- {ase:.3f} | "
            f"{at:.3f} | {(1 - fs) ** p:.3f} |"
        )
        print(out[-1], flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="d <= 50, few trials (smoke test)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "hebbian.md"))
    args = ap.parse_args(argv)
    t_start = time.time()
    if args.quick:
        dims, trials_for, dims2, n2, n3 = (20, 50), (lambda d: 10), (50,), 4, 20
    else:
        dims, trials_for, dims2, n2, n3 = DIMS, (lambda d: 80 if d <= 200 else 40), (50, 200), 10, 200
    cmd = "python benchmarks/results_hebbian.py" + (" --quick" if args.quick else "")
    out = [
        "# Hebbian memory: finite-d theory vs simulation",
        "",
        f"Made by `{cmd}` (capacity {__version__}, seed {SEED}).",
        "Simulation: `capacity.simulate.hebbian_recall(make_instance(model, d, p, embedding=..., seed=..., "
        "trial=...))`.",
        "Theory: `capacity.theory.hebbian` (conditional picture unless marked gauss / Gaussian picture).",
        "",
    ]
    part1(dims, trials_for, out)
    part2(dims2, n2, out)
    part3(50, 100, n3, out)
    if args.quick:
        part4([("sphere", "decoupled", 20, 200)], out)
    else:
        part4([("sphere", "coupled", 20, 4000), ("sphere", "coupled", 100, 1000), ("sphere", "coupled", 400, 200),
               ("sphere", "decoupled", 20, 4000), ("sphere", "decoupled", 50, 2000),
               ("gaussian", "coupled", 50, 2000), ("gaussian", "coupled", 200, 400),
               ("gaussian", "decoupled", 50, 2000)], out)
    out += [""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(out))
    print("\n".join(out))
    print(f"results_hebbian: this invocation took {time.time() - t_start:.0f} s (single process, one BLAS thread)",
          flush=True)


if __name__ == "__main__":
    main()
