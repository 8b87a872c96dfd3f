"""Probe: can `loco_agreement` (label-free) tell the style fit's ids from the mixture fit's? One mixture fit
(`align_with_mixtures`, pixels) on run 0's fit images, cut short or run as the library runs it, with how right its ids
are (against the TRUE groups, a diagnosis) and their `loco_agreement`; the style ids' agreement is in `label_free.jsonl`.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/auto_probe.py --task rotated_mnist --n 8000 --start components --perm 1 --sample 1   # cut short
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/auto_probe.py --task rotated_mnist --n 20000 --start auto --perm 2 --sample 3     # as the library runs it

Output `auto_probe.jsonl`; 1-12 minutes per line on one thread.
"""
import sys, json, time, argparse
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from diagnosis import fit_images, racc
from goe.mixtures import align_with_mixtures
from goe.clusters import loco_agreement
p = argparse.ArgumentParser(); p.add_argument('--task'); p.add_argument('--data', default='embedded'); p.add_argument('--n', type=int, default=8000)
p.add_argument('--features', default='pixels'); p.add_argument('--start', default='components'); p.add_argument('--perm', type=int, default=1); p.add_argument('--sample', type=int, default=1)
p.add_argument('--seed', type=int, default=0); p.add_argument('--n_dims', type=int, default=20)
a = p.parse_args()
torch.set_num_threads(1)
x, g, y, task, info = fit_images(a.task, a.data, a.seed, a.n); K = task.branching ** (task.depth - 1)
t0 = time.time(); logs = []
ids = align_with_mixtures(x, y, K, a.perm, a.sample, n_dims=a.n_dims, start=a.start, features=a.features, seed=a.seed, log=lambda l: logs.append(f"{time.time()-t0:.0f}s {l}"))
sec = time.time() - t0; kap = round(loco_agreement(x, y, ids, K, 3, a.seed + 7), 3)
print(json.dumps(dict(vars(a), right=racc(ids, g, K), kappa=kap, seconds=round(sec), logs=logs)), flush=True)
