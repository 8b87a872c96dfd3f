"""Probe: can a label-free score tell a good fit's ids from a bad one? Runs the Latent fit from several starts on one
run's fit images and scores each result two ways: against the TRUE groups (a diagnosis; `routing`), and by scores that
use only the images and class labels (`loco_*`: a teacher trained on the other classes predicts each class's ids).

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/select_probe.py --task rotated_mnist_1v --seed 0

Output `select_probe.jsonl`: `rotated_mnist_1v` seed 0 and rotated faces seed 0 (`--task rotated_faces --data
../shared/data`), each from three starts; full MNIST seed 1 (`--task rotated_mnist --data ../shared/data --seed 1`) and
the embedded `rotated_mnist` seed 0, stopped after two starts and one (their other lines cost 12 minutes each). Scoring
whole fits costs a whole fit per start; `start_probe.py` scores the starts alone and is what `start='auto'` does.
"""
import argparse, json, time
import numpy as np, torch
torch.set_num_threads(1)
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).parent))
from diagnosis import fit_images, racc as racc_
from sklearn.metrics import cohen_kappa_score, normalized_mutual_info_score, adjusted_rand_score
from goe.clusters import loco_log_probs
from goe.mixtures import align_with_mixtures

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--fit_images', type=int, default=20000); p.add_argument('--starts', default='kmeans,components,components16')
p.add_argument('--save', default='')
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.seed, a.fit_images)
K = task.branching ** (task.depth - 1)
def emit(**kw): print(json.dumps(dict(task=a.task, data=info['description'], seed=a.seed, **kw)), flush=True)

def scores(ids):
    lp = loco_log_probs(x, y, ids, K, seed=a.seed + 7)
    pred = lp.argmax(1)
    per = [float((pred[y == c] == ids[y == c]).mean()) for c in np.unique(y)]
    ll = float(lp[np.arange(len(ids)), ids].mean())
    H = float(-sum(q * np.log(q) for q in np.bincount(ids, minlength=K) / len(ids) if q > 0))
    return dict(loco_acc=round(float((pred == ids).mean()), 4), loco_kappa=round(float(cohen_kappa_score(ids, pred)), 4),
                loco_nmi=round(float(normalized_mutual_info_score(ids, pred)), 4), loco_ari=round(float(adjusted_rand_score(ids, pred)), 4),
                loco_mi=round(ll + H, 4), loco_min_class=round(min(per), 4))
out = {}
for s in a.starts.split(','):
    start, n = ('components', int(s[10:]) if s[10:] else None) if s.startswith('components') else ('kmeans', None)
    t0 = time.time(); ids = align_with_mixtures(x, y, K, start=start, n_components=n, seed=a.seed); t1 = time.time() - t0
    out[s] = ids
    emit(start=s, routing=racc_(ids, g, K), fit_seconds=round(t1, 1), **scores(ids))
if a.save: np.savez(a.save, g=g, y=y, **out)
