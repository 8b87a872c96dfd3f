"""Probe: settings of the Latent fit that did not take one version per digit further (a diagnosis against the TRUE groups).

- `--mode align --fit JSON`: one fit (`align_with_mixtures`) on one run's fit images with other keywords (`teacher_epochs`: the
  teachers' epochs, `perm_passes`, `keep_all`, ...); how right its ids are.
- `--mode refit --seeds ...`: the fit's passes run again, starting from the majority of those seeds' cached fits
  (`consensus_probe.py --cache`) instead of from a start; how right the ids are after each pass.
- `--mode components --seeds ...`: where each cached fit's wrong ids lie: the share of images in within-class components
  (`class_mixtures`, as that seed's fit builds them) whose majority id is not their majority group (whole components
  given the wrong id), and the share that are not their component's majority group (impure components).
- `--mode agreement --seeds ...`: each cached fit's `loco_agreement` beside how right it is: can the label-free score pick
  the best fits of several?
- `--mode soft --seeds ... --exp OUT/rotated_mnist_1v`: the run's fitted router's head and encoder retrained, as the fit
  trains them, on soft targets (each image's share of fits per id; `soft_sq`: the shares squared and renormalised)
  instead of the unanimous images; test images routed right.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode align --fit '{"teacher_epochs": 6}'
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode align --fit '{"perm_passes": 4}'
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode align --fit '{"keep_all": false}'
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode align --fit '{"n_components": 12}'
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode align --fit '{"n_dims": 10}' --seed 0   (and --seed 1, 2, 3)
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode refit --cache /tmp/ids
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode components --cache /tmp/ids
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode agreement --cache /tmp/ids   (and --run_seed 2 --seeds 4,5,6,7)
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/variants_probe.py --mode soft --cache /tmp/ids --exp OUT/rotated_mnist_1v

With one version per digit the fit sees all 4,000 training images in every run: the fit images are the same for every `--run_seed`.
Output `variants_probe.jsonl`. Three to ten minutes per line on one thread.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, __import__('os').path.dirname(__file__))
from diagnosis import fit_images, racc, task_data, fitted_router, leaves, head_augment, _match
from goe.clusters import loco_agreement, crossfit_log_probs, loco_log_probs
from goe.mixtures import align_with_mixtures, consensus_ids, class_features, class_mixtures, assign_components, gaussian_refine
from goe.head import fit_head

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--run_seed', type=int, default=0)
p.add_argument('--mode', default='align'); p.add_argument('--fit', default='{}'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--seeds', default='0,1,2,3'); p.add_argument('--cache', default=None); p.add_argument('--exp', default=None)
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.run_seed); K = task.branching ** (task.depth - 1); y = np.asarray(y)
out, t0 = dict(task=a.task, data=info['description'], run_seed=a.run_seed, mode=a.mode), time.time()
if a.mode == 'align':
    kw = json.loads(a.fit); ids = align_with_mixtures(x, y, K, seed=a.seed, **kw)
    out.update(seed=a.seed, fit=kw, right=racc(ids, g, K))
else:
    c = np.load(Path(a.cache)/f'consensus_{a.task}_run{a.run_seed}.npz'); seeds = [int(s) for s in a.seeds.split(',')]
    ids = [c[f's{s}'] for s in seeds]; vote, share = consensus_ids(ids, K); out.update(seeds=seeds, vote=racc(vote, g, K))
    if a.mode == 'refit':                          # align_with_mixtures' passes (default settings), from the vote
        feats = class_features(x, y, 20, seed=a.seed); comp = class_mixtures(feats, y, 2 * K, a.seed); ids, passes = vote.copy(), []
        for it in range(5):
            lpx = crossfit_log_probs(x, ids, K, 3, seed=a.seed + 100 * it + 50) if it >= 2 else None
            for cl in np.unique(y):
                m = y == cl
                lp = loco_log_probs(x, y, ids, K, 3, seed=a.seed + 100 * it, classes=[cl])[m] + (lpx[m] if lpx is not None else 0)
                b = assign_components(lp, y[m], comp[m], True)
                ids[m] = gaussian_refine({cl: feats[cl]}, y[m], b, lp, K, 0.5) if lpx is not None else b
            passes.append(racc(ids, g, K))
        out.update(right_after_each_pass=passes)
    elif a.mode == 'components':
        out['fits'] = {}
        for s, i in zip(seeds, ids):
            t, r, cc = _match(i, g, K); grp = dict(zip(cc, r)); ig = np.array([grp[q] for q in i])   # ids as the groups they match
            comp = class_mixtures(class_features(x, y, 20, seed=s), y, 2 * K, s); whole = impure = 0; to = np.zeros((K, K), int)
            for cl in np.unique(y):
                for j in np.unique(comp[y == cl]):
                    m = (y == cl) & (comp == j); maj = np.bincount(g[m], minlength=K).argmax()
                    got = np.bincount(ig[m], minlength=K).argmax(); whole += m.sum() * (got != maj); impure += (g[m] != maj).sum()
                    if got != maj: to[maj, got] += m.sum()
            out['fits'][s] = dict(right=racc(i, g, K), wrong_whole_components=round(whole / len(g), 4), impure=round(impure / len(g), 4),
                                  wrong_components_group_to_id=to.tolist())   # rows: the components' group; columns: the id they got
    elif a.mode == 'agreement':
        out['fits'] = {s: dict(right=racc(i, g, K), agreement=round(loco_agreement(x, y, i, K, seed=s + 7), 4)) for s, i in zip(seeds, ids)}
    elif a.mode == 'soft':
        from scipy.optimize import linear_sum_assignment
        soft = np.zeros((len(vote), K))
        for i in ids:                              # each fit's ids matched to the first fit's, as consensus_ids matches them
            t = np.zeros((K, K), int); np.add.at(t, (i, ids[0]), 1); r, cc = linear_sum_assignment(-t); to = np.arange(K); to[r] = cc
            soft[np.arange(len(vote)), to[i]] += 1
        soft /= len(ids); xt, gt, _ = task_data(a.task, a.data)[1][1].tensors(); gt = gt.numpy(); out['heads'] = {}
        for name, lab in (('soft', soft), ('soft_sq', soft ** 2 / (soft ** 2).sum(1, keepdims=True))):
            r = fitted_router(a.exp, a.run_seed)
            fit_head(r, x, lab.astype(np.float32), head_augment(task), task.router_settings('latent').head_epochs, seed=a.run_seed)
            out['heads'][name] = dict(fit=racc(leaves(r, x), g, K), test=racc(leaves(r, xt), gt, K))
print(json.dumps(dict(out, seconds=round(time.time() - t0))), flush=True)
