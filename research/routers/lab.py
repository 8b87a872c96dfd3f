"""The lab's versions of product functions: what the research probes use and the product no longer holds.

- `fit_head_modes`: `goe.head.fit_head` as it was with three self-labelling modes: `'sinkhorn'` (relabel every image by the
  head's view-averaged probabilities, balanced by Sinkhorn-Knopp towards the fitted leaf sizes), `'threshold'` (keep only the
  images the head is confident on) and `'components'` (the product's rounds). The probes found that the first two do not move
  the routing (`selflabel_probe.py`, `fit_probes.py`, `consensus_probe.py`), so the product keeps only the components' rounds.
  Its `epochs` is the head's epochs (`LatentSettings.head_epochs`).
"""
from __future__ import annotations
import copy
import numpy as np, torch, torch.nn.functional as F
from torch import nn
from goe.core import GoeError
from goe.clusters import balanced_assign
from goe.mixtures import component_majority

def _view_probs(router, x, augment=None, n_views:int=2, bs:int=2048) -> np.ndarray:
    "Leaf probabilities of `router` on `x`, averaged over the plain images and `n_views` views made by `augment`."
    k = n_views + 1 if augment else 1
    p = sum(torch.cat([F.softmax(router.logits(augment(x[i:i+bs].clone()) if v else x[i:i+bs]), 1) for i in range(0, len(x), bs)]) for v in range(k))
    return (p / k).double().cpu().numpy()

SELF_LABEL_MODES = ('sinkhorn', 'threshold', 'components')

def fit_head_modes(router, x:torch.Tensor, leaf:np.ndarray, augment=None, epochs:int=20, bs:int=128, lr:float=3e-3, seed:int=0,
             rounds:int=0, mode:str='sinkhorn', threshold:float=0.9, tune:bool=True, weight:np.ndarray|None=None,
             classes:np.ndarray|None=None, components:np.ndarray|None=None, log=None) -> np.ndarray:
    "Train `router`'s head and encoder to predict `leaf` (`[n]`) from images `x` (each batch through `augment`, a function of a float batch, when given; each image's loss times `weight` `[n]`, default 1), then `rounds` of self-labelling (`mode` 'sinkhorn', 'threshold' or 'components', which needs each image's class `classes` and within-class component `components`, both `[n]`); `tune=False` keeps the encoder; returns the final leaves `[n]`."
    if mode not in SELF_LABEL_MODES: raise GoeError(f"unknown self-labelling mode {mode!r}: use 'sinkhorn', 'threshold' or 'components'")
    if mode == 'components' and rounds and (components is None or classes is None):
        raise GoeError("mode='components' relabels whole within-class components: pass classes and components, each image's class and component [n]")
    mods = nn.ModuleList([router.encoder, router.pre_quant, router.head] if tune else [router.head]); start = copy.deepcopy(mods.state_dict())
    def train(labels, weight):
        mods.load_state_dict(start)
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
            for m in router.head:
                if hasattr(m, 'reset_parameters'): m.reset_parameters()
            params = [p.requires_grad_(True) for p in mods.parameters()]
            opt = torch.optim.AdamW(params, lr, weight_decay=1e-4)
            n = len(x); b = min(bs, n); steps = epochs * (n // b)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
            lab, w = torch.as_tensor(labels), torch.as_tensor(weight, dtype=torch.float32)
            for _ in range(epochs):
                perm = torch.randperm(n, generator=g)
                for i in range(0, n - b + 1, b):
                    j = perm[i:i + b]; xb = augment(x[j].clone()) if augment else x[j]
                    loss = (F.cross_entropy(router.logits(xb), lab[j], reduction='none') * w[j]).sum() / w[j].sum().clamp(min=1)
                    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            for p in params: p.requires_grad_(False)
    leaf = np.asarray(leaf); weight = np.ones(len(leaf)) if weight is None else np.asarray(weight, dtype=float)
    train(leaf, weight); kept, first = weight > 0, leaf
    if mode == 'components' and kept.all(): rounds = 0                   # every image already learns its own id: nothing to relabel
    for r in range(rounds):
        p = _view_probs(router, x, augment)
        if mode == 'sinkhorn': new, w = balanced_assign(np.log(p + 1e-12), np.bincount(leaf, minlength=p.shape[1])), np.ones(len(leaf))
        elif mode == 'threshold': new, w = p.argmax(1), (p.max(1) >= threshold).astype(float)
        else:                                           # the images it was told to learn keep their ids; each other image takes its component's
            maj = component_majority(p.argmax(1), np.asarray(classes), np.asarray(components), p.shape[1])   # majority leaf, and is learned
            new, w = np.where(kept, first, maj), (kept | (maj == p.argmax(1))).astype(float)                  # where its own leaf is that one
        if log: log(f"self-labelling round {r} ({mode}): {(new != leaf).mean():.1%} of the leaves changed, {w.mean():.0%} kept")
        leaf = new; train(leaf, w)
    return leaf
