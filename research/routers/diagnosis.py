"""Shared pieces of the fit probes: a run's fit images, and scores of cluster ids against the TRUE groups. The scores are
a diagnosis: no fit ever sees the groups."""
import numpy as np, torch
from scipy.optimize import linear_sum_assignment
from goe.task import get_task, load_data

def fit_images(task_name:str, data:str, seed:int, n:int=20000):
    "Images, groups and labels of the fit subset of the run with seed `seed` (drawn as `goe.run` draws it), the task and the data's description."
    task = get_task(task_name); tr, _, info = load_data(task, data)
    x, g, y = tr.tensors()
    sub = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return x[sub], g[sub].numpy(), np.asarray(y)[sub.numpy()], task, info

def _match(pred, grp, K):
    t = np.zeros((max(K, grp.max() + 1), max(K, pred.max() + 1)), int); np.add.at(t, (grp, pred), 1)
    return t, *linear_sum_assignment(-t)

def racc(pred, grp, K) -> float:
    "Share of images whose id is their group's (ids matched to groups by the Hungarian method)."
    t, r, c = _match(pred, grp, K); return round(t[r, c].sum() / len(grp), 4)

def per_class(pred, grp, y, K) -> list:
    "Each class's share of images whose id is their group's, under the global matching."
    _, r, c = _match(pred, grp, K); m = dict(zip(r, c)); want = np.array([m[q] for q in grp])
    return [round(float((pred[y == k] == want[y == k]).mean()), 3) for k in np.unique(y)]
