"""Probes of the Latent router's fit on the embedded Rotated MNIST (one run): where the label-free ids go wrong, what the
router's latent can hold, and what each step of `refine='mixture'` and the head adds. Diagnoses that use the TRUE groups
are marked `diagnosis`: no router is ever fitted to them.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/fit_probes.py [--seed 0] [--only NAME,...] > research/routers/fit_probes.jsonl

One JSON line per probe. Takes about 40 minutes on one CPU thread. The VQ-VAE is trained as `goe.run.fit_latent_router`
trains it (seed, 5 epochs), so the latent is the run's.
"""
import argparse, json, time, copy
import numpy as np, torch, torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
torch.set_num_threads(1)
from goe.core import seed_everything
from goe.task import get_task
from goe.data import load_data, apply_augment
from goe.vqvae import train_vqvae
from goe.latent import LatentRouter
from lab import fit_head_modes as fit_head
from goe.clusters import align_within_class, align_with_teacher, pooled_pixels, fit_teacher, teacher_log_probs, loco_log_probs, crossfit_log_probs, lda_projection, order_leaves, _rematch
from goe.mixtures import align_with_mixtures, class_features, class_mixtures, gaussian_refine, assign_components

p = argparse.ArgumentParser(); p.add_argument('--seed', type=int, default=0); p.add_argument('--only', default='')
a = p.parse_args(); only = set(filter(None, a.only.split(',')))
want = lambda k: not only or k in only
task = get_task('rotated_mnist'); tr, te, _ = load_data(task, 'embedded')
x, g, y = tr.tensors(); xt, gt, yt = te.tensors(); g, y, gt, yt = g.numpy(), y.numpy(), gt.numpy(), yt.numpy(); K = 4
seed_everything(a.seed)
vae = train_vqvae(tr, te, epochs=5, device='cpu', **{k: v for k, v in task.router_settings('latent').vq(task.in_ch, task.size).items() if k not in ('in_ch', 'size')}).model.eval()
noise = lambda b: apply_augment(b, ('noise',))

def racc(pred, grp):
    t = np.zeros((grp.max() + 1, max(pred.max() + 1, K)), int); np.add.at(t, (grp, pred), 1); r, c = linear_sum_assignment(-t); return round(t[r, c].sum() / len(grp), 4)
def per_class(pred, grp, cls, within=False):
    if within: return [racc(pred[cls == c], grp[cls == c]) for c in range(10)]
    t = np.zeros((K, K), int); np.add.at(t, (grp, pred), 1); r, c = linear_sum_assignment(-t); m = dict(zip(r, c)); want_ = np.array([m[q] for q in grp])
    return [round(float((pred[cls == c] == want_[cls == c]).mean()), 3) for c in range(10)]
def emit(**kw): print(json.dumps(kw), flush=True)
def head_router(labels, head=16, augment=None, epochs=20, tune=True):
    r = LatentRouter(copy.deepcopy(vae), 3, refine='mixture', head=head)
    lat = r._latents(x, 1024); r.shift.copy_(torch.as_tensor(lat.mean(0))); r.scale.copy_(torch.as_tensor(lat.std(0) + 1e-3))
    fit_head(r, x, np.asarray(labels), augment, epochs, seed=a.seed, tune=tune); r.is_fitted.fill_(True)
    with torch.no_grad(): return r, r.leaf(xt).numpy(), r.leaf(x).numpy()

if want('within_class_clusters'):         # diagnosis: how well one class's images split by group, each class matched to its groups on its own
    pp, feats = pooled_pixels(x), class_features(x, y)
    km = np.concatenate([KMeans(K, n_init=20, random_state=a.seed).fit(pp[y == c]).labels_ for c in range(10)])
    order = np.concatenate([np.flatnonzero(y == c) for c in range(10)])
    gm = class_mixtures(feats, y, K, a.seed)
    emit(probe='within_class_clusters', kmeans_pooled=per_class(km, g[order], y[order], True), gmm_pca20=per_class(gm, g, y, True),
         gmm_pca20_2k_purity=[round(float(sum(np.bincount(g[(y == c) & (cm == j)]).max() for j in np.unique(cm[y == c])) / (y == c).sum()), 3)
                              for cm in [class_mixtures(feats, y, 2 * K, a.seed)] for c in range(10)])
if want('loco_true'):                     # diagnosis: a teacher trained on the TRUE groups of the other digits, on a held-out digit
    out = {}
    for c in (0, 4, 6):
        m = torch.as_tensor(y == c); out[c] = racc(teacher_log_probs(fit_teacher(x[~m], g[y != c], K, 3, seed=c), x[m]).argmax(1), g[y == c])
    emit(probe='loco_true', held_out_digit_routed_right=out)
if want('strong_true'):                   # diagnosis: a CNN on pixels trained on the TRUE groups: what the images allow
    for ep in (4, 12):
        pr = teacher_log_probs(fit_teacher(x, g, K, ep, seed=a.seed), xt).argmax(1)
        emit(probe='strong_true', epochs=ep, test=racc(pr, gt), per_class=per_class(pr, gt, yt))
if want('head_true'):                     # diagnosis: what the router's latent holds, with the TRUE groups as ids
    for name, head, aug, tune in (('linear_discriminant', 0, None, False), ('h16_frozen_plain', 16, None, False), ('h16_frozen_noise', 16, noise, False),
                                  ('h16_frozen_shift', 16, lambda b: apply_augment(b, ('shift',)), False), ('h16_frozen_cutout', 16, lambda b: apply_augment(b, ('cutout',)), False),
                                  ('h16_tuned_noise', 16, noise, True)):
        if head == 0:
            lat, latt = LatentRouter(vae, 3)._latents(x, 1024), LatentRouter(vae, 3)._latents(xt, 1024)
            mu, P = lda_projection(lat, g, K - 1); f, ft = (lat - mu) @ P, (latt - mu) @ P; c = np.stack([f[g == j].mean(0) for j in range(K)])
            emit(probe='head_true', router=name, test=racc(((ft[:, None] - c[None]) ** 2).sum(-1).argmin(1), gt)); continue
        _, pt, _ = head_router(g, head, aug, tune=tune); emit(probe='head_true', router=name, test=racc(pt, gt))
if want('fits'):                          # the label-free fits: ids right on the training images after each pass
    t0 = time.time(); logs = []
    a0 = align_within_class(pooled_pixels(x), y, K, seed=a.seed)
    at = align_with_teacher(x, y, a0, K, seed=a.seed, log=logs.append)
    emit(probe='fits', refine='teacher', ids=racc(at, g), per_class=per_class(at, g, y), seconds=round(time.time() - t0))
    for w in (1.0, 0.5):
        import goe.mixtures as L
        orig = L.gaussian_refine; L.gaussian_refine = lambda *args, **kw: orig(*args, **dict(kw, weight=w))
        t0 = time.time(); am = align_with_mixtures(x, y, K, seed=a.seed); L.gaussian_refine = orig
        emit(probe='fits', refine='mixture', gaussian_weight=w, ids=racc(am, g), per_class=per_class(am, g, y), seconds=round(time.time() - t0))
        np.save(f'/tmp/fit_probes_ids_w{w}.npy', am)
if want('heads'):                         # routers fitted to the label-free ids (the default fit): discriminant, heads, self-labelling
    am = np.load('/tmp/fit_probes_ids_w0.5.npy') if __import__("os").path.exists('/tmp/fit_probes_ids_w0.5.npy') else align_with_mixtures(x, y, K, seed=a.seed)
    lat, latt = LatentRouter(vae, 3)._latents(x, 1024), LatentRouter(vae, 3)._latents(xt, 1024)
    mu, P = lda_projection(lat, am, K - 1); f, ft = (lat - mu) @ P, (latt - mu) @ P; c = np.stack([f[am == j].mean(0) for j in range(K)])
    emit(probe='heads', router='linear_discriminant', ids=racc(am, g), test=racc(((ft[:, None] - c[None]) ** 2).sum(-1).argmin(1), gt))
    for name, tune in (('h16_frozen_noise', False), ('h16_tuned_noise', True)):
        r, pt, ptr = head_router(am, 16, noise, tune=tune)
        emit(probe='heads', router=name, ids=racc(am, g), test=racc(pt, gt), agrees_with_ids=round(float((ptr == am).mean()), 4))
    for mode in ('sinkhorn', 'threshold'):
        r = LatentRouter(copy.deepcopy(vae), 3, refine='mixture', head=16); lat_ = r._latents(x, 1024)
        r.shift.copy_(torch.as_tensor(lat_.mean(0))); r.scale.copy_(torch.as_tensor(lat_.std(0) + 1e-3)); logs = []
        lab = fit_head(r, x, am, noise, 20, seed=a.seed, rounds=2, mode=mode, log=logs.append); r.is_fitted.fill_(True)
        with torch.no_grad(): emit(probe='heads', router=f'h16_tuned_noise_self_label_{mode}_2_rounds', ids=racc(lab, g), test=racc(r.leaf(xt).numpy(), gt), log=logs)
