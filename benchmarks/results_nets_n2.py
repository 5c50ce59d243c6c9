"""N2: largest fact set a one-layer transformer with frozen random embeddings stores, vs the linear law.

Setting: docs/nets.md, N2; model and training in capacity/nets/models/transformer.py (module
docstring), the search in capacity/nets/experiments/n2.py.  For (d, m) in {(16, 16), (16, 64), (32, 32),
(32, 128)}, R = 4 relations, seeds 0 and 1, Adam lr 1e-2, full batch, at most 3000 steps per run: the number of subjects N is searched
(start at the (T3) prediction, walk by a factor 1.25 to a bracket, geometric bisection to
N_unstored <= 1.06 N_stored); "stored" = accuracy >= 0.99 over all N R facts.  Budget check: the
smallest unstored N of every chain is retrained with 6000 steps; budget check 2: the whole search
again at 6000 steps for seed 0 (its smallest unstored N retrained with 12000 steps).

Compared with the linear-memory law (T3), facts p solving p = P alpha_c(p - 1)
(capacity.theory.p_c with n_params = P), for P = all trainable parameters (4 d^2 + 2 d m + m) and
P = MLP parameters only (2 d m + m), and with the variant with N - 1 = p/R - 1 competitors.

Every training run is committed to benchmarks/results/nets_n2.sqlite (rerunning resumes).
One process, one torch thread (the machine is shared).

Run:  python benchmarks/results_nets_n2.py
Writes benchmarks/results/nets_n2.md (and prints it); with a complete store nothing is retrained and the
file is rewritten unchanged (the invocation's wall time is printed on stdout only).
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from capacity import __version__  # noqa: E402
from capacity.nets.experiments.n2 import DEFAULT_CONFIGS, EXPERIMENT, run_n2  # noqa: E402
from capacity.nets.models.transformer import count_params, facts_law  # noqa: E402
from capacity.solvers.roots import brent  # noqa: E402
from capacity.sweeps import ResultsStore  # noqa: E402

STORE = ROOT / "benchmarks" / "results" / "nets_n2.sqlite"
OUT = ROOT / "benchmarks" / "results" / "nets_n2.md"
SETTINGS = dict(configs=DEFAULT_CONFIGS, n_relations=4, seed=0, n_seeds=2, steps=3000, lr=1e-2, resolution=1.06)
# second budget check: the whole search again at twice the steps, seed 0 only (CPU budget)
LONG = dict(SETTINGS, n_seeds=1, steps=6000)


def _runs_table(store_path, steps):
    with ResultsStore(store_path) as store:
        recs = list(store.records(experiment=EXPERIMENT))
    lines = ["| d | m | seed | N | facts | steps budget | steps run | accuracy | stored | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    recs.sort(key=lambda r: (r.task["d"], r.task["m"], r.task["seed"], r.task["steps"], r.task["n_subjects"]))
    for rec in recs:
        t, res = rec.task, rec.result
        facts = t["n_subjects"] * t["n_relations"]
        lines.append(f"| {t['d']} | {t['m']} | {t['seed']} | {t['n_subjects']} | {facts} | {t['steps']} | "
                     f"{res['steps_run']} | {res['accuracy']:.4f} | {'yes' if res['stored'] else 'no'} | "
                     f"{rec.seconds:.1f} |")
    total = sum(r.seconds or 0.0 for r in recs)
    return "\n".join(lines), total, len(recs)


def effective_params(facts):
    """The P at which the law (T3) predicts ``facts`` facts: facts_law(P) = facts."""
    return brent(lambda p: facts_law(p) - facts, 8.0, 1e9, xtol=1e-6, rtol=1e-12)


def rows_of(res, seed):
    return [r for r in res.rows if r.seed == seed]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=str(STORE))
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    res = run_n2(**SETTINGS, store=args.store, jobs=1,
                 progress=lambda done, total: print(f"  round: {done}/{total}", file=sys.stderr, flush=True))
    long = run_n2(**LONG, store=args.store, jobs=1,
                  progress=lambda done, total: print(f"  long round: {done}/{total}", file=sys.stderr, flush=True))
    text = report(res, long, args.store)
    Path(args.out).write_text(text)
    print(text)
    print(f"results_nets_n2: this invocation took {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def report(res, long, store_path):
    """The markdown report from the two searches' results and the store (no timing of the invocation)."""
    import torch

    base = {(r.d, r.m): r for r in rows_of(res, LONG["seed"])}
    cmp_lines = ["| d | m | max facts, 3000 steps | max facts, 6000 steps | change | first unstored at 6000 | "
                 "12000 steps at first unstored |", "|---|---|---|---|---|---|---|"]
    for r in long.rows:
        b = base[(r.d, r.m)]
        check = "-" if r.budget_stored is None else \
            f"{'stored' if r.budget_stored else 'not stored'} (acc {r.budget_accuracy:.3f})"
        cmp_lines.append(f"| {r.d} | {r.m} | {b.max_facts} | {r.max_facts} | {r.max_facts / b.max_facts - 1:+.1%} | "
                         f"{r.min_unstored_facts} | {check} |")
    changes = np.array([r.max_facts / base[(r.d, r.m)].max_facts - 1 for r in long.rows])
    ratio_long = np.array([r.ratio_all for r in long.rows])
    st = res.settings
    runs, compute_s, n_rec = _runs_table(store_path, st["steps"])
    rows = res.rows
    ratio_all = np.array([r.ratio_all for r in rows])
    ratio_mlp = np.array([r.ratio_mlp for r in rows])
    fpp = np.array([r.facts_per_param for r in rows])
    checked = [r for r in rows if r.budget_stored is not None]
    flipped = [r for r in checked if r.budget_stored]
    flipped_list = (": " + ", ".join(f"(d={r.d}, m={r.m}, seed {r.seed})" for r in flipped)) if flipped else ""
    verdict = ("For those chains the max facts above are set partly by the step budget: with twice the steps they "
               "would rise by at least one bisection step." if flipped else
               "At this resolution the max facts do not change when the budget is doubled.")
    eff_lines = ["| d | m | m/d | mean max facts | P_eff | P_eff / P(all) | P_eff / P(MLP) | implied weight of an "
                 "attention parameter |", "|---|---|---|---|---|---|---|---|"]
    for d, m in st["configs"]:
        rs = [r for r in rows if (r.d, r.m) == (d, m)]
        mf = float(np.mean([r.max_facts for r in rs]))
        p_eff = effective_params(mf)
        p_att, p_mlp = count_params(d, m, part="attention"), count_params(d, m, part="mlp")
        eff_lines.append(f"| {d} | {m} | {m / d:g} | {mf:.0f} | {p_eff:.0f} | {p_eff / (p_att + p_mlp):.2f} | "
                         f"{p_eff / p_mlp:.2f} | {(p_eff - p_mlp) / p_att:.2f} |")
    text = f"""# N2: one-layer transformer with frozen random embeddings, largest stored fact set vs the linear law

Generated by `python benchmarks/results_nets_n2.py` (capacity {__version__}, torch {torch.__version__}, CPU,
one torch thread).  Model and training: `capacity/nets/models/transformer.py`; the search:
`capacity/nets/experiments/n2.py`; setting: docs/nets.md, N2.

Settings: (d, m) in {', '.join(f'({d}, {m})' for d, m in st['configs'])}; R = {st['n_relations']} relations
(random bijections over N attributes, N R facts); seeds {', '.join(map(str, st['seeds']))}; full-batch Adam,
lr = {st['lr']:g}, at most {st['steps']} steps per run (early stop once accuracy >= 0.99, checked every 10 steps);
search over N from the (T3) prediction, walking by a factor 1.25 to a bracket, then geometric bisection until
N_unstored <= {st['resolution']:g} N_stored.  Stored = accuracy >= 0.99 over all N R facts.

Budget: {n_rec} training runs, {compute_s / 60:.1f} min of compute in the store
(runs already in the store are not recomputed).  Search status: {res.message}.

## Result

Columns: trainable parameters P (all = 4d² + 2dm + m; MLP only = 2dm + m); the largest fact set found stored
(max facts = R · N) and the smallest one found not stored; facts/param = max facts / P(all); law (T3) = facts p
solving p = P α_c(p − 1) (`capacity.theory.p_c(d, n_params=P)`); "K = N−1" = p solving p = P α_c(p/R − 1)
(a fact competes with N − 1 attributes, not with all other facts); ratio = max facts / law (T3).
Last column: the first unstored set retrained with twice the steps.

{res.format_table()}

Over all {len(rows)} chains: max facts / law(T3, all params) = {ratio_all.mean():.2f} (range
{ratio_all.min():.2f}–{ratio_all.max():.2f}); max facts / law(T3, MLP params) = {ratio_mlp.mean():.2f}
(range {ratio_mlp.min():.2f}–{ratio_mlp.max():.2f}); facts per trainable parameter {fpp.mean():.3f}
(range {fpp.min():.3f}–{fpp.max():.3f}).

**Effective parameter count.** P_eff = the P at which the law (T3) predicts the measured mean max facts
(3000 steps, both seeds); the implied weight w solves P_eff = P(MLP) + w · 4d² (all = 1, MLP only = 0).

{chr(10).join(eff_lines)}

**Budget check.** Doubling the steps to {2 * st['steps']} at the first unstored N stored it in {len(flipped)} of
{len(checked)} chains{flipped_list}.
{verdict}

**Budget check 2: the whole search at 6000 steps** (seed {LONG["seed"]}, same settings otherwise; its first
unstored set retrained with 12000 steps).  Search status: {long.message}.

{chr(10).join(cmp_lines)}

Doubling the budget changed the max facts by {changes.min():+.1%} to {changes.max():+.1%} \
(mean {changes.mean():+.1%});
at 6000 steps max facts / law(T3, all params) = {ratio_long.mean():.2f} \
(range {ratio_long.min():.2f}–{ratio_long.max():.2f}).

## Reading (written for the committed store)

At the same shape m/d the ratios agree between d = 16 and d = 32 (P_eff / P(all) 0.77 vs 0.74 at m = d,
1.24 vs 1.26 at m = 4d), consistent with the linear law's scaling in P at fixed shape (two values of d only).
Neither parameter count is "the" relevant one: with all trainable parameters the law over-predicts at m = d
and under-predicts at m = 4d; with MLP parameters only it under-predicts everywhere (the network stores
1.6–2.0 times what the MLP alone is allowed), so the attention weights do contribute storage, with an
implied per-parameter weight that grows with m/d (≈ 0.6 at m = d, ≈ 1.75 at m = 4d).  The step budget
matters at the 0–16 % level (budget checks above); the largest configuration is still budget-limited at
6000 steps.

## Every training run

Includes three runs (d = 16: m = 16, N = 32, seeds 0 and 1; m = 64, N = 226, seed 0) from an interrupted
first version of the search that walked by a factor 2; they are genuine runs at the same settings and do not
change any bracket.

{runs}
"""
    return text


if __name__ == "__main__":
    raise SystemExit(main())
