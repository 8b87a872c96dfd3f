"""Probe: how many test images could the Latent router's own architecture send to their group's leaf if its fit found
the TRUE groups? A diagnosis (no router is ever fitted to the groups): it tells a fit that falls short of a routing
target from a router that cannot reach it.

For each run of a published experiment (its `latent_router.pt`, fitted by the command that made the records):
- `fitted`: the router as fitted (label-free): share of the fit images and of the test images at their group's leaf;
- `true_hN`: a copy of it whose head (N hidden units; 16 is the router's own) and encoder are trained by `fit_head`,
  as the fit trains them (same images, views, epochs and seed), on the true groups instead of the fit's ids.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/ceiling_probe.py --exp EXP/rotated_mnist_1v --task rotated_mnist_1v
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/ceiling_probe.py --exp EXP/rotated_faces --task rotated_faces --data ../shared/data

EXP: the `--out_dir` of the commands on the Results page. Output `ceiling_probe.jsonl`. 1-6 minutes per run on one thread.
"""
import argparse, copy, json, time
import torch
from torch import nn
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import racc, task_data, fit_images, fitted_router, leaves, head_augment
from goe.head import fit_head

p = argparse.ArgumentParser()
p.add_argument('--exp', required=True); p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded')
p.add_argument('--runs', default='0,1,2'); p.add_argument('--hidden', default='16,64'); p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
task, (_, te, info) = task_data(a.task, a.data)
xt, gt, _ = te.tensors(); gt = gt.numpy()
K = task.branching ** (task.depth - 1); augment = head_augment(task)

for run in [int(v) for v in a.runs.split(',')]:
    seed = a.seed + run; router = fitted_router(a.exp, run)
    xs, gs, _, _, _ = fit_images(a.task, a.data, seed, task.router_settings('latent').fit_images)
    out = dict(task=a.task, data=info['description'], run=run, fit_images=len(xs),
               fitted=dict(fit=racc(leaves(router, xs), gs, K), test=racc(leaves(router, xt), gt, K)))
    for h in [int(v) for v in a.hidden.split(',')]:
        t0 = time.time(); r = copy.deepcopy(router)
        if h != r.head_units: r.head, r.head_units = nn.Sequential(nn.Linear(r.head[0].in_features, h), nn.ReLU(), nn.Linear(h, K)).requires_grad_(False), h
        fit_head(r, xs, gs, augment, task.router_settings('latent').head_epochs, seed=seed)
        out[f'true_h{h}'] = dict(fit=racc(leaves(r, xs), gs, K), test=racc(leaves(r, xt), gt, K), seconds=round(time.time() - t0, 1))
    print(json.dumps(out), flush=True)
