"""Probe: can the mixture's own BIC choose the number of components per class (`n_components`), which is set by hand
today (twice the leaves)? For each candidate count: the mean BIC of the classes' full-covariance Gaussian mixtures
(on each class's first 20 principal components, as `class_mixtures` fits them; label-free) and, as a diagnosis, the
purity of the components against the TRUE groups (share of images whose component's majority group is their own).

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/bic_probe.py --task rotated_mnist_1v --seed 0

Output `bic_probe.jsonl`: `rotated_mnist_1v`, rotated faces (`--task rotated_faces --data ../shared/data`) and the
embedded `rotated_mnist`, seed 0. About a minute each on one thread.
"""
import argparse, json, time
import numpy as np, torch
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import fit_images
from goe.mixtures import class_features
from sklearn.mixture import GaussianMixture

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--fit_images', type=int, default=20000); p.add_argument('--counts', default='4,8,12,16,24')
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.seed, a.fit_images)
g = np.asarray(g); feats = class_features(x, y, seed=a.seed)
for n in [int(v) for v in a.counts.split(',')]:
    t0 = time.time(); bic, pure = [], 0
    for c, z in feats.items():
        gm = GaussianMixture(n, n_init=3, reg_covar=1e-4, random_state=a.seed).fit(z)
        bic.append(gm.bic(z) / len(z)); comp = gm.predict(z); gc = g[y == c]
        pure += sum(np.bincount(gc[comp == k]).max() for k in np.unique(comp))
    print(json.dumps(dict(task=a.task, data=info['description'], seed=a.seed, n_components=n, images_per_class=round(len(y) / len(feats)),
                          bic_per_image=round(float(np.mean(bic)), 3), purity=round(pure / len(y), 4), seconds=round(time.time() - t0, 1))), flush=True)
