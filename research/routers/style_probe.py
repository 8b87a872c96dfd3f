"""Probe: how the style fit (`goe.styles.style_ids`) finds groups, variant by variant, on the fit images of run 0 of
each development task (at most 8,000 images) and on a planted example; each line says how right the ids are against
the TRUE groups (a diagnosis: no fit sees them).

Variants: `class_mean` (k-means on the statistics less each class's mean, then the additive alternation),
`kmeans` (each class's k-means clusters matched as constellations, then the alternation), `diagonal` (the same with
per-class diagonal Gaussian mixtures: `style_ids` as shipped).

    OMP_NUM_THREADS=2 PYTHONPATH=. python research/routers/style_probe.py > research/routers/style_probe.jsonl   # about a minute
"""
import sys, json
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np, torch, torch.nn.functional as F
import sklearn.cluster, sklearn.mixture
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from goe.styles import style_statistics, style_ids
from diagnosis import fit_images, racc

def class_mean_ids(stats, y, K, n_dims=20, n_iter=20, seed=0):
    s = np.sign(stats) * np.log1p(np.abs(stats)); s = (s - s.mean(0)) / (s.std(0) + 1e-9)
    cls, yi = np.unique(y, return_inverse=True); mu = np.stack([s[yi == j].mean(0) for j in range(len(cls))]); r = s - mu[yi]
    P = PCA(n_dims, random_state=seed).fit(r); a = KMeans(K, n_init=10, random_state=seed).fit_predict(P.transform(r))
    for _ in range(n_iter):
        nu = np.stack([r[a == k].mean(0) for k in range(K)]); mu = np.stack([(s - nu[a])[yi == j].mean(0) for j in range(len(cls))]); r = s - mu[yi]
        new = ((P.transform(r)[:, None] - P.transform(nu)[None]) ** 2).sum(-1).argmin(1)
        if (new == a).all(): break
        a = new
    return a

class _KMeansAsMixture:                       # the `kmeans` variant: k-means where `style_ids` fits a diagonal mixture
    def __init__(self, k, **kw): self.k, self.seed = k, kw.get('random_state', 0)
    def fit(self, z): self.km = KMeans(self.k, n_init=10, random_state=self.seed).fit(z); self.means_ = self.km.cluster_centers_; return self
    def predict(self, z): return self.km.predict(z)

def planted(n=900, seed=0):
    "Three classes (where a bar is), four groups (sharp, blurred, noisy, dim), class c in group c with probability 0.7."
    g_ = torch.Generator().manual_seed(seed); rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n); odds = np.full((3, 4), 0.1); odds[np.arange(3), np.arange(3)] = 0.7
    grp = np.array([rng.choice(4, p=odds[c]) for c in y]); x = torch.zeros(n, 1, 16, 16)
    for i, (c, q) in enumerate(zip(y, grp)):
        x[i, 0, 2 + 4 * c:5 + 4 * c, 2:14] = 0.6 + 0.4 * torch.rand(1, generator=g_).item()
        if q == 1: x[i] = F.avg_pool2d(F.pad(x[i:i + 1], (1, 1, 1, 1), mode='replicate'), 3, 1)[0]
        if q == 2: x[i] = (x[i] + 0.15 * torch.randn(x[i].shape, generator=g_)).clamp(0, 1)
        if q == 3: x[i] = 0.4 * x[i] + 0.1
    return x, grp, y

data = [('planted', *planted())] + [(t, *fit_images(t, 'embedded', 0, 8000)[:3]) for t in ('corrupted_mnist', 'corrupted_mnist_1v', 'tinted_mnist_1v', 'rotated_mnist', 'rotated_mnist_1v')]
for name, x, g, y in data:
    st, out = style_statistics(x), {}
    out['class_mean'] = racc(class_mean_ids(st, y, 4), g, 4)
    real = sklearn.mixture.GaussianMixture; sklearn.mixture.GaussianMixture = _KMeansAsMixture
    try: out['kmeans'] = racc(style_ids(st, y, 4), g, 4)
    finally: sklearn.mixture.GaussianMixture = real
    out['diagonal'] = racc(style_ids(st, y, 4), g, 4)
    print(json.dumps(dict(task=name, images=len(x), **{k: float(v) for k, v in out.items()})), flush=True)
