#!/usr/bin/env python
"""Fit-time expert feedback for the Latent router's ids, probed on the demo experiment: one JSON line per run.
    python bench/expert_feedback_probe.py                  # runs 0, 1, 2 of experiments/demo (about 12 minutes, 2 jobs)
    python bench/expert_feedback_probe.py --runs 0 --iters 3 --lam 0.3
The issue's suggestion, "refine the assignment with the experts' own feedback", done before the GoE is trained, with small
stand-in experts. Starting from the run's fitted router's leaves on its training images (`ids`), each iteration
- trains one small digit classifier per leaf (the router fit's teacher CNN, with one output per class) on that leaf's images,
  cross-fitted in two halves so that no image is scored by a classifier that saw it;
- moves each image to the leaf whose classifier has the lowest loss on its label plus `lam` times the negative log-probability of a
  teacher cross-fitted once, on the starting ids (the prior that keeps the ids from drifting), keeping each class's leaf sizes
  (`balanced_assign`).
Then the router's discriminant is refitted to the final ids (`linear`: the router unchanged but for its fit), or a head with 16 hidden
units is fitted to them (`head`), and the GoE Latent is retrained with it at each width exactly as the runner trains it. The groups
are used for scoring only: `ids_right` (share of training images whose id matches their group, after the best matching of ids to
groups; the start first, then each iteration), `routed_right` (test images routed to their group's leaf), and the GoE Latent's test
accuracy against the run's recorded GoE Latent and GoE Oracle.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch
import torch.nn.functional as F
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
import goe.experiment as E                     # before fastai's submodules: it imports them in the order fastai needs
import goe.router as R
from goe.mnist import rotated_mnist
from latent_training_probes import retrain, refit_router, in_processes     # bench/ is on the path when this script runs
from router_probes import match_acc
from router_upper_bounds import head_router, group_leaves

def cross_fitted(fit, score, n, seed):
    "Scores `[n, ...]` from two halves: each half scored by `score(model, half)` of a model `fit(other half, seed)`."
    fold = np.random.default_rng(seed).integers(2, size=n); out = None
    for f in (0, 1):
        s = score(fit(fold != f, seed + f), fold == f)
        if out is None: out = np.zeros((n,) + s.shape[1:])
        out[fold == f] = s
    return out

def expert_feedback(x, y, ids, n_leaves, lam=0.3, iters=6, epochs=3, seed=0, log=None):
    "Re-assign ids `[n]` of images `x` (labels `y`) by the losses of cross-fitted per-leaf classifiers plus `lam` x a fixed teacher prior."
    y = torch.as_tensor(y); yn = y.numpy(); ids = np.asarray(ids).copy(); n_cls = int(yn.max()) + 1
    T = lambda m: torch.as_tensor(m)
    prior = cross_fitted(lambda tr, s: R.fit_teacher(x[T(tr)], ids[tr], n_leaves, epochs, seed=s),
                         lambda m, te: R.teacher_log_probs(m, x[T(te)]), len(x), seed + 7)
    for it in range(iters):
        def fit(tr, s): return [R.fit_teacher(x[T(tr & (ids == j))], yn[tr & (ids == j)], n_cls, epochs, seed=s * 10 + j) for j in range(n_leaves)]
        def score(ms, te):
            with torch.no_grad(): return np.stack([F.cross_entropy(m(x[T(te)]), y[T(te)], reduction='none').numpy() for m in ms], 1)
        loss = cross_fitted(fit, score, len(x), seed + 100 * (it + 1))
        new = ids.copy()
        for c in np.unique(yn):
            m = yn == c; new[m] = R.balanced_assign(lam * prior[m] - loss[m], np.bincount(ids[m], minlength=n_leaves))
        if log: log(it, new, (new != ids).mean())
        ids = new
    return ids

def probe(run, exp, widths, lam, iters):
    torch.set_num_threads(1)
    task, run_dir = rotated_mnist, Path(exp)/f'run_{run}'
    need = ['latent_router.pt'] + [f'{m}_p{p}.json' for p in widths for m in ('goe_latent', 'goe_oracle')]
    missing = [f for f in need if not (run_dir/f).exists()]
    if missing: sys.exit(f"{run_dir} has no {', '.join(missing)}: run `goe-train-mnist --num_runs {run + 1}` first (the probe reuses the run's router and records)")
    data = task.datasets(None); t0 = time.time()
    x, g, y = E.dataset_tensors(data[0]); xt, gt, _ = E.dataset_tensors(data[1]); g, gt = g.numpy(), gt.numpy()
    recs = {p: {m: json.loads((run_dir/f'{m}_p{p}.json').read_text()) for m in ('goe_latent', 'goe_oracle')} for p in widths}
    seed = recs[widths[0]]['goe_latent']['seed']
    router, _ = E.fit_latent_router(task, data, run_dir, seed)
    with torch.no_grad(): start, lat = router.leaf(x).numpy(), router.latent(x).double().numpy()
    out = dict(run=run, lam=lam, ids_right=[match_acc(start, g)], changed=[])
    def log(it, a, ch): out['ids_right'].append(match_acc(a, g)); out['changed'].append(float(ch))
    ids = expert_feedback(x, y, start, len(router.leaf_paths), lam, iters, seed=seed, log=log)
    for name, r in dict(linear=refit_router(router, lat, ids), head=head_router(router, lat, ids)).items():
        with torch.no_grad(): out[f'{name}_routed_right'] = float((r.leaf(xt).numpy() == group_leaves(r.leaf(x).numpy(), g, len(router.leaf_paths), len(task.group_names))[gt]).mean())
        for p in widths:
            rl, ro = recs[p]['goe_latent'], recs[p]['goe_oracle']
            acc = retrain(task, data, run_dir, seed, p, rl['epochs'], rl['lr'], rl['bs'], swap_router=lambda _, r=r: r)
            out.setdefault(f'p{p}', dict(recorded=rl['accuracy'], oracle=ro['accuracy']))[name] = acc
    out['seconds'] = round(time.time() - t0)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', default='0,1,2'); ap.add_argument('--widths', default='4,8')
    ap.add_argument('--lam', type=float, default=0.3); ap.add_argument('--iters', type=int, default=6)
    ap.add_argument('--exp', default=str(root/'experiments'/'demo'))
    ap.add_argument('--jobs', type=int, default=2, help='runs probed at once, one thread each')
    args = ap.parse_args()
    runs, widths = [int(r) for r in args.runs.split(',')], [int(p) for p in args.widths.split(',')]
    if len(runs) > 1 and args.jobs > 1:
        return in_processes(lambda r: [sys.executable, __file__, '--runs', str(r), '--widths', args.widths, '--lam', str(args.lam),
                                       '--iters', str(args.iters), '--exp', args.exp, '--jobs', '1'], runs, args.jobs)
    for r in runs: print(json.dumps(probe(r, args.exp, widths, args.lam, args.iters)), flush=True)

if __name__ == '__main__': main()
