#!/usr/bin/env python
"""How far could better routing take the GoE Latent on the demo experiment? Upper bounds, one JSON line per run and width.
    python bench/router_upper_bounds.py                     # runs 0, 1, 2 of experiments/demo at p = 4 and 8 (about 8 minutes, 2 jobs)
    python bench/router_upper_bounds.py --runs 0 --widths 4
Diagnosis only: the true groups are used to build routers no label-free method has, to see what the GoE Latent would reach
with them. For each run and width, with the run's own router, recipe and seed:
- `recorded`, `as_recorded`: the run's recorded GoE Latent accuracy, and the same model retrained here (equal: the check that
  the probe retrains as the runner did); `oracle`: the run's recorded GoE Oracle;
- `right_leaf`: the recorded GoE Latent with every test image sent down its group's leaf (each leaf named by the group the
  router sends most of its training images to) instead of where its router sends it; `routed_right`: the share of test
  images its router sends there;
- `linear_true`: the router's linear discriminant and leaf centroids refitted to the true groups of the training images (the
  best a router of this kind can do on this latent), the GoE Latent retrained with it;
- `head_true`: a head with one hidden layer of 16 units on the router's latent (scikit-learn's `MLPClassifier`, as `04_mnist`'s
  diagnosis fits it; about 6,400 more FLOPs per image) fitted to the true groups, the GoE Latent retrained with it.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch
from sklearn.neural_network import MLPClassifier
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
import goe.experiment as E                     # before fastai's submodules: it imports them in the order fastai needs
from goe.router import Router
from goe.mnist import rotated_mnist
from latent_training_probes import retrain, refit_router, in_processes     # bench/ is on the path when this script runs

class HeadRouter(Router):
    "The Latent router's encoder and leaves, with a fitted scikit-learn classifier `head` choosing the leaf from its latent."
    def __init__(self, r, head): super().__init__(r.n_layers); self.r, self.head = r, head
    def leaf(self, x): return torch.as_tensor(self.head.predict(self.r.latent(x).double().numpy()))
    def forward(self, x, meta=None): return self.r.leaf_paths[self.leaf(x)]
    def valid_paths(self): return self.r.leaf_paths

def head_router(r, lat, leaf, hidden=16):
    "A `HeadRouter` on `r` whose head (one hidden layer, as `04_mnist`'s diagnosis fits it) is fitted to `leaf` on latents `lat`."
    return HeadRouter(r, MLPClassifier((hidden,), max_iter=300, early_stopping=True, random_state=0).fit(lat, leaf))

def group_leaves(leaf, g, n_leaves, n_groups):
    "The leaf each group's images (`g`, numpy) are most often sent to (`leaf`, numpy): `[n_groups]`."
    return np.stack([np.bincount(leaf[g == k], minlength=n_leaves) for k in range(n_groups)]).argmax(1)

def probe(run, p, exp):
    torch.set_num_threads(1)
    task, run_dir = rotated_mnist, Path(exp)/f'run_{run}'
    missing = [f for f in ('latent_router.pt', f'goe_latent_p{p}.json', f'goe_latent_p{p}.pt', f'goe_oracle_p{p}.json') if not (run_dir/f).exists()]
    if missing: sys.exit(f"{run_dir} has no {', '.join(missing)}: run `goe-train-mnist --num_runs {run + 1}` first (the probe reuses the run's records)")
    data = task.datasets(None); t0 = time.time()
    rec = json.loads((run_dir/f'goe_latent_p{p}.json').read_text())
    x, g, _ = E.dataset_tensors(data[0]); xt, gt, yt = E.dataset_tensors(data[1]); g, gt = g.numpy(), gt.numpy()
    model = E.load_model(run_dir/f'goe_latent_p{p}.pt', task).eval(); r = model.router
    with torch.no_grad(): leaf, lat = r.leaf(x).numpy(), r.latent(x).double().numpy()
    leaf_of = group_leaves(leaf, g, len(r.leaf_paths), len(task.group_names))
    if len(set(leaf_of.tolist())) < len(leaf_of): sys.exit(f"run {run}'s router sends two groups mostly to one leaf ({leaf_of.tolist()}): the groups cannot be named by leaves, so there is no upper bound to probe")
    right = torch.as_tensor(leaf_of[gt]); true_leaf = leaf_of[g]
    with torch.no_grad():
        at_right = torch.cat([model.graph(xt[i:i + 2048], r.leaf_paths[right[i:i + 2048]]).argmax(1) for i in range(0, len(xt), 2048)])
        routed = r.leaf(xt)
    args = (task, data, run_dir, rec['seed'], p, rec['epochs'], rec['lr'], rec['bs'])
    out = dict(run=run, width=p, recorded=rec['accuracy'], as_recorded=retrain(*args),
               oracle=json.loads((run_dir/f'goe_oracle_p{p}.json').read_text())['accuracy'],
               right_leaf=(at_right == yt).float().mean().item(), routed_right=(routed == right).float().mean().item())
    out['reproduces'] = out['as_recorded'] == out['recorded']     # else the code or data differ from the run's: the comparisons below mean little
    for name, made in dict(linear_true=refit_router(r, lat, true_leaf), head_true=head_router(r, lat, true_leaf)).items():
        with torch.no_grad(): rr = (made.leaf(xt) == right).float().mean().item()
        out[name] = dict(acc=retrain(*args, swap_router=lambda _, made=made: made), routed_right=rr)
    out['seconds'] = round(time.time() - t0)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', default='0,1,2'); ap.add_argument('--widths', default='4,8')
    ap.add_argument('--exp', default=str(root/'experiments'/'demo'))
    ap.add_argument('--jobs', type=int, default=2, help='(run, width) pairs probed at once, one thread each')
    args = ap.parse_args()
    keys = [(int(r), int(p)) for r in args.runs.split(',') for p in args.widths.split(',')]
    if len(keys) > 1 and args.jobs > 1:
        return in_processes(lambda k: [sys.executable, __file__, '--runs', str(k[0]), '--widths', str(k[1]), '--exp', args.exp, '--jobs', '1'], keys, args.jobs)
    for r, p in keys: print(json.dumps(probe(r, p, args.exp)), flush=True)

if __name__ == '__main__': main()
