"""Probe: what should the within-class mixtures of the Latent fit read? One fit (`align_with_mixtures`, the default
`start='auto'`) on one run's fit images, with the mixtures on the images' pixels or on their gradients
(`features`, `goe.clusters.image_gradients`) and on `n_dims` principal components per class. Reports how right the ids
are (against the TRUE groups, a diagnosis), the start's and the ids' `loco_agreement` (label-free) and the seconds.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/features_probe.py --task rotated_faces --data DATA --features gradients --n_dims 20 --seeds 0,1,2,3
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/features_probe.py --task rotated_faces --data DATA --features gradients --n_dims 40 --seeds 0,1,3
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/features_probe.py --task rotated_mnist_1v --features gradients --seeds 0

The fits on pixels (20 dimensions) are those of `consensus_probe.jsonl`. Output `features_probe.jsonl`. About two
minutes per fit on one thread.
"""
import argparse, json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, __import__('os').path.dirname(__file__))
from diagnosis import fit_images, racc
from goe.clusters import loco_agreement
from goe.mixtures import align_with_mixtures

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_faces'); p.add_argument('--data', default='embedded'); p.add_argument('--run_seed', type=int, default=0)
p.add_argument('--features', default='gradients'); p.add_argument('--n_dims', type=int, default=20); p.add_argument('--seeds', default='0')
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.run_seed); K = task.branching ** (task.depth - 1)
for s in map(int, a.seeds.split(',')):
    t0, logs = time.time(), []
    ids = align_with_mixtures(x, y, K, n_dims=a.n_dims, features=a.features, seed=s, log=logs.append)
    start = next(l for l in logs if l.startswith('start: '))
    print(json.dumps(dict(task=a.task, data=info['description'], run_seed=a.run_seed, features=a.features, n_dims=a.n_dims, seed=s,
                          right=racc(ids, g, K), agreement=round(loco_agreement(x, y, ids, K, seed=s + 7), 4), start=start,
                          seconds=round(time.time() - t0))), flush=True)
