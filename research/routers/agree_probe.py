"""Probe: can a label-free score choose which share of agreeing fits the Latent router's head learns (`agree`)? For each
share, the run's fitted router gets its head and encoder retrained on the four fits' majority ids, weighted to the images at
least that share of the fits agree on (as `LatentRouter.fit` with `fits`, `agree`); two label-free scores of its leaves on
the fit images are reported beside how right they are (against the TRUE groups, a diagnosis):
`loco_agreement` (how well leave-one-class-out teachers predict each class's leaves, the score that chooses the fit's start)
and the share of fit images whose leaf is the fits' majority id.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/agree_probe.py --task rotated_mnist_1v --exp OUT/rotated_mnist_1v --cache /tmp/ids
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/agree_probe.py --task rotated_faces --data DATA --exp OUT/faces_probe --cache /tmp/ids

Needs the four fits' ids that `consensus_probe.py --cache` keeps (same task, run and seeds). Output `agree_probe.jsonl`.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, __import__('os').path.dirname(__file__))
from diagnosis import fit_images, racc, task_data, fitted_router, leaves, head_augment
from goe.clusters import loco_agreement
from goe.mixtures import consensus_ids
from goe.head import fit_head

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--run_seed', type=int, default=0)
p.add_argument('--seeds', default='0,1,2,3'); p.add_argument('--agree', default='0,0.75,1'); p.add_argument('--exp', required=True); p.add_argument('--cache', required=True)
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.run_seed); K = task.branching ** (task.depth - 1)
xt, gt, _ = task_data(a.task, a.data)[1][1].tensors(); gt = gt.numpy()
c = np.load(Path(a.cache)/f'consensus_{a.task}_run{a.run_seed}.npz'); seeds = [int(s) for s in a.seeds.split(',')]
vote, share = consensus_ids([c[f's{s}'] for s in seeds], K)
for ag in map(float, a.agree.split(',')):
    t0 = time.time(); keep = share >= ag; r = fitted_router(a.exp, a.run_seed)
    fit_head(r, x, vote, head_augment(task), task.router_settings('latent').head_epochs, seed=a.run_seed, weight=keep)
    lf = leaves(r, x)
    print(json.dumps(dict(task=a.task, data=info['description'], run_seed=a.run_seed, seeds=seeds, agree=ag, share=round(float(keep.mean()), 4),
                          loco_agreement=round(loco_agreement(x, y, lf, K, seed=a.run_seed + 7), 4), with_vote=round(float((lf == vote).mean()), 4),
                          fit=racc(lf, g, K), test=racc(leaves(r, xt), gt, K), seconds=round(time.time() - t0))), flush=True)
