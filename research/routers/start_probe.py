"""Probe: score the two starts of the Latent fit by a label-free score before the fit's passes (cheaper than scoring
whole fits). For each start: its ids against the TRUE groups (a diagnosis; `routing`) and the leave-one-class-out
agreement (`loco_kappa`: a teacher trained on the other classes predicts each class's ids; chance-corrected).

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/start_probe.py --task rotated_mnist_1v --seed 0

Each start is also built from 16 components per class (`components16`) to see whether the score can choose the number
of components. Output `start_probe.jsonl`: `rotated_mnist_1v` seed 0, rotated faces seed 0 (`--task rotated_faces
--data ../shared/data`), full MNIST seed 1 (`--task rotated_mnist --data ../shared/data --seed 1`, stopped before its
`components16` line), the embedded `rotated_mnist` seed 0; then, with `--sizes 2`, the embedded `rotated_mnist` seeds 1 and 2 and full MNIST
seeds 0 and 2. 4-12 minutes each on one thread.
"""
import argparse, json, time
import numpy as np, torch
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import fit_images, racc as racc_
from goe.clusters import align_within_class, synchronise_clusters, pooled_pixels, loco_agreement
from goe.mixtures import cluster_components, class_features, class_mixtures

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--fit_images', type=int, default=20000)
p.add_argument('--sizes', default='2,4', help='components per class, in multiples of the leaves')
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.seed, a.fit_images)
K = task.branching ** (task.depth - 1)
def emit(**kw): print(json.dumps(dict(task=a.task, data=info['description'], seed=a.seed, **kw)), flush=True)
def kappa(ids): return round(loco_agreement(x, y, ids, K, seed=a.seed + 7), 4)   # as start='auto' scores a start
t0 = time.time(); ids = synchronise_clusters(x, y, align_within_class(pooled_pixels(x), y, K, seed=a.seed), K, seed=a.seed)
emit(start='kmeans', step='start', routing=racc_(ids, g, K), loco_kappa=kappa(ids), seconds=round(time.time() - t0, 1))
for n in [int(q) * K for q in a.sizes.split(',')]:
    t0 = time.time(); ids = cluster_components(x, y, class_mixtures(class_features(x, y, 20, seed=a.seed), y, n, a.seed), K, seed=a.seed)
    emit(start=f'components{n}', step='start', routing=racc_(ids, g, K), loco_kappa=kappa(ids), seconds=round(time.time() - t0, 1))
