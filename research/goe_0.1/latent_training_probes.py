#!/usr/bin/env python
"""Probes of how the GoE Latent is trained on the demo experiment (the prototypes `02_router` describes), one JSON line per run.
    python bench/latent_training_probes.py                  # runs 0, 1, 2 of experiments/demo at p = 4 (about 6 minutes, 2 jobs)
    python bench/latent_training_probes.py --runs 0 --width 8
For each run it loads the run's fitted Latent router (`latent_router.pt`) and retrains its GoE Latent exactly as the runner
does (same seed, data order, warm start and recipe); `recorded` is the run's recorded accuracy, and `as_recorded` the retrained
one (equal to it: the check that the probe retrains as the runner did). Then, with the same router and recipe (groups are used
for scoring only, never for routing or training):
- `boundary_dup_<q>`: every training batch also sends its images whose router margin (distance to the second-nearest leaf
  minus to the nearest) is in the lowest fraction `q` of the training set's down their second leaf too, so that each
  expert also learns the images the router could send it by mistake;
- `boundary_swap_<q>`: those images go down their second leaf instead, with probability 1/2 (the batch size is unchanged);
- `hard_em_*`: no retraining; the trained GoE Latent re-assigns each training image to the leaf that minimises its loss
  (`loss`), or its loss minus the router's log-probability (`prior`, a hard-EM step), and the router's linear discriminant and
  leaf centroids are refitted to those leaves; the GoE's test accuracy with the refitted router, and the share of training
  images whose leaf changed.
"""
import argparse, copy, json, subprocess, sys, time
from pathlib import Path
import torch
from torch import nn
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
import goe.experiment as E                     # before fastai's submodules: it imports them in the order fastai needs
import goe.router as R
from fastai.learner import Learner
from fastai.callback.core import Callback
from fastai.callback.tracker import TerminateOnNaNCallback
from fastai.metrics import accuracy
from router_probes import leaf_losses, hard_em_step       # bench/ is on the path when this script runs
from goe.core import seed_everything
from goe.mnist import rotated_mnist

def leaf_distances(r, x):
    "Squared distances `[n, leaves]` of `x`'s features to the router's leaf centroids, computed as `LatentRouter.leaf` does."
    f, C = r.features(x), r.leaf_centroids
    return (f * f).sum(1, keepdim=True) - 2 * f @ C.t() + (C ** 2).sum(1)

def nearest_two(r, x):
    "Nearest leaf (as the router picks it), second-nearest leaf, and the margin between their distances."
    d = leaf_distances(r, x); best = d.argmin(1); v, i = d.topk(2, largest=False, dim=1)
    return best, torch.where(i[:, 0] == best, i[:, 1], i[:, 0]), v[:, 1] - v[:, 0]

class GivenPaths(nn.Module):
    "Training only: a batch's paths come in as its `meta` (2-D); 1-D `meta` (groups, at evaluation) goes to the real router."
    def __init__(self, r): super().__init__(); self.r, self.n_layers = r, r.n_layers
    def forward(self, x, meta): return meta if meta.ndim == 2 else self.r(x, meta)

class Boundary(Callback):
    "Low-margin training images also (`dup`) or instead, half the time (`swap`), go down their second-nearest leaf."
    def __init__(self, r, thr, mode): self.r, self.thr, self.mode = r, thr, mode
    def before_batch(self):
        if not self.training: return
        (x, _), (y,) = self.xb, self.yb
        with torch.no_grad(): best, second, margin = nearest_two(self.r, x)
        low = margin < self.thr
        if self.mode == 'dup':
            self.learn.xb = (torch.cat([x, x[low]]), self.r.leaf_paths[torch.cat([best, second[low]])])
            self.learn.yb = (torch.cat([y, y[low]]),)
        else: self.learn.xb = (x, self.r.leaf_paths[torch.where(low & (torch.rand(len(x)) < 0.5), second, best)])

def retrain(task, data, run_dir, seed, p, epochs=15, lr=3e-3, bs=64, boundary=None, swap_router=None):
    "Train a GoE Latent as `run_one` does (the same RNG calls in the same order); `boundary=(q, mode)` adds the `Boundary` callback, `swap_router(router)` gives the router to use instead."
    train_ds, test_ds, _ = data
    seed_everything(seed); dls = E.make_dls(train_ds, test_ds, bs, 0, None)
    router, _ = E.fit_latent_router(task, data, run_dir, seed)
    if swap_router: router = swap_router(router)
    seed_everything(seed); model = E.build_model(task, 'goe_latent', p, router=router)
    n_warm = int(round(E.WARM * epochs))
    dense = E.build_model(task, 'ref_sqb', p); E.train_model(dense, dls, n_warm, lr); E.warm_start(model.graph, dense.graph)
    cbs = [TerminateOnNaNCallback()]
    if boundary:
        q, mode = boundary
        x = E.dataset_tensors(train_ds)[0]
        with torch.no_grad(): margin = torch.cat([nearest_two(router, x[i:i + 4096])[2] for i in range(0, len(x), 4096)])
        model.router = GivenPaths(router); cbs.append(Boundary(router, torch.quantile(margin, q).item(), mode))
    learn = Learner(dls, model, loss_func=nn.CrossEntropyLoss(), metrics=accuracy, opt_func=E.ForeachAdam, cbs=cbs)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs - n_warm, lr)
    model.router = router
    return E.evaluate(model, dls.valid, len(task.group_names))['accuracy']

def refit_router(router, lat, leaf):
    "A copy of `router` whose discriminant and leaf centroids are refitted to the given leaves (as `LatentRouter.fit` does)."
    r = copy.deepcopy(router)
    mu, P = R.lda_projection(lat, leaf, r.proj.shape[1])
    r.proj.copy_(torch.as_tensor(P, dtype=torch.float32)); r.shift.copy_(torch.as_tensor(mu, dtype=torch.float32))
    f = (lat - mu) @ r.proj.double().numpy()
    for j in range(len(r.leaf_paths)): r.leaf_centroids[j] = torch.as_tensor(f[leaf == j].mean(0), dtype=torch.float32)
    return r

def hard_em(task, data, run_dir, p):
    "The trained GoE Latent's own re-assignment of the training images, and its test accuracy with a router refitted to it."
    train_ds, test_ds, _ = data
    model = E.load_model(Path(run_dir)/f'goe_latent_p{p}.pt', task).eval(); router, graph = model.router, model.graph
    dl = E.make_dls(train_ds, test_ds, 64, 0, None).valid
    x, _, y = E.dataset_tensors(train_ds)
    with torch.no_grad(): lat, leaf = router.latent(x).double().numpy(), router.leaf(x).numpy()
    loss = leaf_losses(graph, router.leaf_paths, x, y)
    out = {}
    for name, new in dict(loss=(-loss).argmax(1), prior=hard_em_step(lat, leaf, loss)).items():
        model.router = refit_router(router, lat, new)
        out[f'hard_em_{name}'] = dict(acc=E.evaluate(model, dl, len(task.group_names))['accuracy'], changed=float((new != leaf).mean()))
    return out

def probe(run, p, exp, qs):
    torch.set_num_threads(1)
    task, run_dir = rotated_mnist, Path(exp)/f'run_{run}'
    missing = [f for f in ('latent_router.pt', f'goe_latent_p{p}.json', f'goe_latent_p{p}.pt') if not (run_dir/f).exists()]
    if missing: sys.exit(f"{run_dir} has no {', '.join(missing)}: run `goe-train-mnist --num_runs {run + 1}` first (the probe reuses the run's router)")
    data = task.datasets(None)
    rec = json.loads((run_dir/f'goe_latent_p{p}.json').read_text())
    seed = rec['seed']; t0 = time.time()
    out = dict(run=run, width=p, recorded=rec['accuracy'], as_recorded=retrain(task, data, run_dir, seed, p, rec['epochs'], rec['lr'], rec['bs']))
    out['reproduces'] = out['as_recorded'] == out['recorded']     # else the code or data differ from the run's: the comparisons below mean little
    if not out['reproduces']: print(f"warning: run {run} retrained to {out['as_recorded']:.5f}, recorded {out['recorded']:.5f}", file=sys.stderr)
    for q in qs:
        for mode in ('dup', 'swap'):
            out[f'boundary_{mode}_{q}'] = retrain(task, data, run_dir, seed, p, rec['epochs'], rec['lr'], rec['bs'], boundary=(q, mode))
    out.update(hard_em(task, data, run_dir, p)); out['seconds'] = round(time.time() - t0)
    return out

def in_processes(cmd, keys, jobs):
    "Run `cmd(key)` for each of `keys`, `jobs` processes at a time, and print their outputs in the order of `keys`."
    procs, outs = {}, {}
    for k in keys:
        while len(procs) >= jobs:
            for d in [d for d, pr in procs.items() if pr.poll() is not None]: outs[d] = procs.pop(d).communicate()[0]
            time.sleep(0.5)
        procs[k] = subprocess.Popen(cmd(k), stdout=subprocess.PIPE, text=True)
    for k, pr in procs.items(): outs[k] = pr.communicate()[0]
    for k in keys: print(outs[k].strip(), flush=True)
    if any(not o.strip() for o in outs.values()): sys.exit('a run of the probe failed: see its error above')

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', default='0,1,2'); ap.add_argument('--width', type=int, default=4)
    ap.add_argument('--exp', default=str(root/'experiments'/'demo')); ap.add_argument('--q', default='0.1,0.25')
    ap.add_argument('--jobs', type=int, default=2, help='runs probed at once, one thread each')
    args = ap.parse_args()
    runs, qs = [int(r) for r in args.runs.split(',')], [float(q) for q in args.q.split(',')]
    if len(runs) > 1 and args.jobs > 1:          # one process per run, `jobs` at a time, lines printed in run order
        return in_processes(lambda r: [sys.executable, __file__, '--runs', str(r), '--width', str(args.width), '--exp', args.exp, '--q', args.q, '--jobs', '1'], runs, args.jobs)
    for r in runs: print(json.dumps(probe(r, args.width, args.exp, qs)), flush=True)

if __name__ == '__main__': main()
