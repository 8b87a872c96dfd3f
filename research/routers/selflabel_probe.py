"""Probe: do rounds of self-labelling (`fit_head`'s `rounds`, SCAN/SeLa style) repair the label-free ids of a fitted Latent
router? Starting from a run's fitted router, its head and encoder are retrained on its own leaves (as the fit trains them),
then `rounds` times on its confident (`threshold`) or Sinkhorn-balanced (`sinkhorn`) predictions averaged over views. The
share of the fit and test images at their group's leaf is a diagnosis (the TRUE groups are never used to fit).

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/selflabel_probe.py --exp OUT/rotated_mnist_1v --task rotated_mnist_1v --run 0

Output `selflabel_probe.jsonl` (`rotated_mnist_1v`, run 0 of the Results page's command). About a minute.
"""
import argparse, copy, json, time
import torch
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import racc, task_data, fit_images, fitted_router, leaves
from goe.data import apply_augment
from lab import fit_head_modes as fit_head

p = argparse.ArgumentParser()
p.add_argument('--exp', required=True); p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded')
p.add_argument('--run', type=int, default=0); p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
task, (_, te, info) = task_data(a.task, a.data); seed = a.seed + a.run
xt, gt, _ = te.tensors(); gt = gt.numpy()
K = task.branching ** (task.depth - 1)
router = fitted_router(a.exp, a.run)
xs, gs, _, _, _ = fit_images(a.task, a.data, seed, task.router_settings('latent').fit_images)
ids = leaves(router, xs)
def emit(**kw): print(json.dumps(dict(task=a.task, data=info['description'], run=a.run, **kw)), flush=True)
emit(variant='fitted', fit=racc(ids, gs, K), test=racc(leaves(router, xt), gt, K))
for views, mode, rounds in [(('noise',), 'threshold', 3), (('noise',), 'sinkhorn', 3), (('shift', 'noise', 'cutout'), 'threshold', 0),
                            (('shift', 'noise', 'cutout'), 'threshold', 3), (('shift', 'noise', 'cutout'), 'sinkhorn', 3)]:
    r = copy.deepcopy(router); t0 = time.time(); lines = []; torch.manual_seed(seed)   # the rounds' views draw from torch's global generator
    new = fit_head(r, xs, ids, lambda b, v=views: apply_augment(b, v), task.router_settings('latent').head_epochs, seed=seed, rounds=rounds, mode=mode, log=lines.append)
    emit(variant='self_label', views=list(views), mode=mode, rounds=rounds, ids=racc(new, gs, K), fit=racc(leaves(r, xs), gs, K),
         test=racc(leaves(r, xt), gt, K), rounds_log=lines, seconds=round(time.time() - t0, 1))
