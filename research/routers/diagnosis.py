"""Shared pieces of the fit probes: a run's fit images, and scores of cluster ids against the TRUE groups. The scores are
a diagnosis: no fit ever sees the groups."""
import functools
from pathlib import Path
import numpy as np, torch
from scipy.optimize import linear_sum_assignment
from goe.task import get_task
from goe.data import load_data, apply_augment
from goe.core import load_checkpoint
from goe.latent import LatentRouter

@functools.lru_cache(maxsize=2)
def task_data(task_name:str, data:str):
    "The task and its `(train, test, info)`, loaded once per process."
    task = get_task(task_name); return task, load_data(task, data)

def fit_images(task_name:str, data:str, seed:int, n:int=20000):
    "Images, groups and labels of the fit subset of the run with seed `seed` (drawn as `goe.run` draws it), the task and the data's description."
    task, (tr, _, info) = task_data(task_name, data)
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

def fitted_router(exp, run:int) -> LatentRouter:
    "The fitted Latent router a command saved for run `run` of the experiment folder `exp` (`run_<run>/latent_router.pt`)."
    ck = load_checkpoint(Path(exp)/f'run_{run}'/'latent_router.pt')
    r = LatentRouter.from_spec(ck['config']['router']); r.load_state_dict(ck['state_dict']); return r.eval()

def leaves(router, imgs, bs:int=4096) -> np.ndarray:
    "The leaf `router` sends each image to."
    with torch.no_grad(): return torch.cat([router.leaf(imgs[i:i + bs]) for i in range(0, len(imgs), bs)]).numpy()

def head_augment(task):
    "The views the Latent fit trains its head with (`LatentSettings.head_views` among the task's group views), as `goe.run` builds them."
    views = [v for v in task.group_views if v in task.router_settings('latent').head_views]
    return (lambda b: apply_augment(b, views)) if views else None
