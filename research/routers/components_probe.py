"""Probe: start the Latent fit from the within-class components grouped across classes (`start='components'`) instead of
within-class k-means clusters aligned at once (`start='kmeans'`, with `sync`).

On `rotated_mnist_1v` each class holds one large group (0.55 of its digits) and three small ones (0.15 each); k-means
with one cluster per leaf splits the large group and merges small ones, and no alignment separates a merged cluster.
`goe.clusters.cluster_components` starts from twice as many Gaussian-mixture components per class as leaves (nearly pure
in group), lets one teacher per class score every other class's components, and cuts that graph with spectral
clustering. The group metadata is used only to score the ids (`diagnosis`), never by a fit.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/components_probe.py --task rotated_mnist_1v --seed 0

One JSON line per start and step: `routing` is the share of the fit images whose id is their group's (ids matched to
groups by the Hungarian method), `per_class` the same per class. About 2 minutes per seed on `rotated_mnist_1v`,
6 on the embedded `rotated_mnist`, 12 on full MNIST (`--data ../shared/data`), on one thread.
Output: `components_probe.jsonl`: `rotated_mnist_1v` seeds 0 and 1; rotated faces seed 0 (`--data ../shared/data`), and with
`--components 16 --starts components`; full MNIST seed 1 (`--data ../shared/data --seed 1 --starts components`); the
embedded `rotated_mnist` seed 0 with `--starts components`, and with `--components 16` too.
"""
import argparse, json, time
import numpy as np, torch
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import fit_images, racc as racc_, per_class as per_class_
from goe.clusters import align_within_class, synchronise_clusters, pooled_pixels
from goe.mixtures import cluster_components, class_features, class_mixtures, align_with_mixtures

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--fit_images', type=int, default=20000); p.add_argument('--starts', default='kmeans,components')
p.add_argument('--components', type=int, default=None, help='within-class components per class (default: twice the leaves)')
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.seed, a.fit_images)
K = task.branching ** (task.depth - 1); classes = np.unique(y)
def emit(**kw): print(json.dumps(dict(task=a.task, data=info['description'], seed=a.seed, components=a.components or 2 * K, **kw)), flush=True)

racc = lambda pred, grp: racc_(pred, grp, K); per_class = lambda pred, grp: per_class_(pred, grp, y, K)   # diagnosis: against the true groups

for start in a.starts.split(','):
    t0 = time.time()
    if start == 'kmeans': ids = synchronise_clusters(x, y, align_within_class(pooled_pixels(x), y, K, seed=a.seed), K, seed=a.seed)
    else:
        comp = class_mixtures(class_features(x, y, 20, seed=a.seed), y, a.components or 2 * K, a.seed)
        purity = [round(float(sum(np.bincount(g[(y == c) & (comp == j)]).max() for j in np.unique(comp[y == c])) / (y == c).sum()), 3) for c in classes]
        emit(start=start, step='components', purity=purity)    # diagnosis: share of each class's images in their component's majority group
        ids = cluster_components(x, y, comp, K, seed=a.seed)
    emit(start=start, step='start', routing=racc(ids, g), per_class=per_class(ids, g), seconds=round(time.time() - t0, 1))
    t0 = time.time(); ids = align_with_mixtures(x, y, K, start=start, n_components=a.components, seed=a.seed)
    emit(start=start, step='fit', routing=racc(ids, g), per_class=per_class(ids, g), seconds=round(time.time() - t0, 1))
