"""Probe: align the within-class clusters across classes jointly (permutation synchronisation) instead of class by class.

The Latent fit (`refine='mixture'`) gives each class its own clusters and then aligns them across classes one class at
a time, each by a teacher trained on the classes aligned so far. On full MNIST two of three runs end with whole clusters
aligned to the wrong rotation (90 deg for 270 deg). Here `goe.clusters.synchronise_clusters` gives each class its own small teacher (its images -> its own
cluster ids); every teacher scores every other class's clusters, and one permutation per class is chosen to maximise the
summed agreement of all pairs (coordinate ascent over Hungarian matchings, from many random starts). The group
metadata is used only to score the result (`diagnosis`).

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/sync_probe.py --data ../shared/data --seed 0 [--mixture]

One JSON line per result. `--mixture` also runs the class-by-class fit alone (`align_with_mixtures(sync=False)`, the fit
before `synchronise_clusters` existed; step `mixture_fit`) on the same subset, for the side-by-side number, and then the
same passes started from the synchronised ids, reporting the ids after each pass (`mixture_from_sync_pass<i>`; the last is
what `align_with_mixtures(sync=True)`, now the default, returns). About 15 minutes per seed on one thread.
Output: `sync_probe.jsonl` (seeds 0 and 1 of full MNIST, the two seeds whose runs had 90 deg and 270 deg mixed).
"""
import argparse, json, time
import numpy as np, torch
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import fit_images, racc as racc_, per_class as per_class_
from goe.clusters import align_within_class, synchronise_clusters, pooled_pixels
from goe.mixtures import align_with_mixtures

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist'); p.add_argument('--data', default='embedded'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--fit_images', type=int, default=20000); p.add_argument('--mixture', action='store_true')
p.add_argument('--no_baseline', action='store_true', help="with --mixture: skip the shipped fit's own run")
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.seed, a.fit_images)
K = task.branching ** (task.depth - 1); classes = np.unique(y)
def emit(**kw): print(json.dumps(dict(task=a.task, data=info['description'], seed=a.seed, **kw)), flush=True)

racc = lambda pred, grp: racc_(pred, grp, K); per_class = lambda pred, grp: per_class_(pred, grp, y, K)   # diagnosis: against the true groups

t0 = time.time()
start = align_within_class(pooled_pixels(x), y, K, seed=a.seed)            # within-class k-means clusters (aligned by LDA, as the fit starts)
emit(step='within_class', routing=racc(start, g), per_class=per_class(start, g), seconds=round(time.time() - t0, 1))

t0 = time.time()
synced = synchronise_clusters(x, y, start, K, teacher_epochs=3, seed=a.seed)           # one teacher per class, every pair scored, 200 random starts
emit(step='synchronised', routing=racc(synced, g), per_class=per_class(synced, g), changed=round(float((synced != start).mean()), 4),
     seconds=round(time.time() - t0, 1))

if a.mixture:
    if not a.no_baseline:
        t0 = time.time(); base = align_with_mixtures(x, y, K, sync=False, seed=a.seed)
        emit(step='mixture_fit', routing=racc(base, g), per_class=per_class(base, g), seconds=round(time.time() - t0, 1))
    # the same fit (components by leave-one-class-out teachers, then hard EM), started from the synchronised ids
    from goe.clusters import crossfit_log_probs, loco_log_probs
    from goe.mixtures import class_features, class_mixtures, assign_components, gaussian_refine
    t0 = time.time(); b = synced.copy()
    feats = class_features(x, y, 20, seed=a.seed); comp = class_mixtures(feats, y, 2 * K, a.seed)
    for it in range(5):                                                   # align_with_mixtures' passes, its defaults
        lpx = crossfit_log_probs(x, b, K, 3, seed=a.seed + 100 * it + 50) if it >= 2 else None
        for c in classes:
            m = y == c
            lp = loco_log_probs(x, y, b, K, 3, seed=a.seed + 100 * it, classes=[c])[m] + (lpx[m] if lpx is not None else 0)
            bc = assign_components(lp, y[m], comp[m], True)
            b[m] = gaussian_refine({c: feats[c]}, y[m], bc, lp, K, 0.5) if lpx is not None else bc
        emit(step=f'mixture_from_sync_pass{it}', routing=racc(b, g), per_class=per_class(b, g), seconds=round(time.time() - t0, 1))
