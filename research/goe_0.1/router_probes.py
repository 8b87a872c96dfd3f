#!/usr/bin/env python
"""Probes of the Latent router's fit on the demo experiment (the prototypes `02_router` describes), one JSON line per call.
    python bench/router_probes.py --run 0                       # the recorded recipe: teacher of width 16, 3 epochs
    python bench/router_probes.py --run 0 --teacher_epochs 6    # the same fit with a longer-trained teacher
It refits the cluster ids of run `--run` of `experiments/demo` on the embedded digits, exactly as the runner does (seed =
run, all 16,000 training images), with the teacher settings given, then reports (groups are used for scoring only):
- `ids_acc`: the share of training images whose id is their group's (best matching of ids to groups);
- `lda_test_acc`: the router the runner would fit (the linear discriminant on the run's VQ-VAE latent), on the test images;
- `mlp_test_acc`: a head with one hidden layer (16 or 32 units) fitted to the same ids instead, on the test images;
- `crossfit_agree`, `loco_agree`: label-free scores of the ids (how well a teacher trained on other images predicts them:
  a cross-fitted one on two random halves, and a leave-one-class-out one);
- `hard_em`: ids re-assigned by the run's trained GoE Latent (each training image to the leaf that minimises its loss minus
  the router's log-probability), their accuracy, and a head fitted to them, on the test images;
- `filtered`: noisy-label filtering (confident learning, label-free): the linear discriminant refitted on the ids that a
  5-fold cross-validated discriminant finds most probable (dropping the lowest 5/10/20%, or keeping those it agrees
  with), or on the cross-validated discriminant's own predictions; the kept ids' accuracy and the router's on test.
About 8 minutes on one CPU thread.
"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.neural_network import MLPClassifier
from sklearn.model_selection import cross_val_predict
import goe.router as R
from goe.experiment import load_model, dataset_tensors
from goe.mnist import rotated_mnist_datasets

root = Path(__file__).resolve().parent.parent

def match_acc(pred, g, k=4):
    "Share of `pred` equal to `g` after the best one-to-one matching of ids to groups."
    conf = np.zeros((k, k)); np.add.at(conf, (g, pred), 1); r, c = linear_sum_assignment(-conf)
    return float(conf[r, c].sum() / len(g))

def agreement(x, y, a, seed=123):
    "Label-free scores of ids `a`: agreement with a cross-fitted teacher (2 halves) and with leave-one-class-out teachers."
    fold = np.random.default_rng(seed).integers(2, size=len(x)); cross = np.zeros(len(x), bool); loco = np.zeros(len(x), bool)
    for f in (0, 1):
        m = torch.as_tensor(fold != f)
        tm = R.fit_teacher(x[m], a[fold != f], 4, 3, seed=7 + f)
        cross[fold == f] = R.teacher_log_probs(tm, x[~m]).argmax(1) == a[fold == f]
    for c in np.unique(y):
        m = y == c; mt = torch.as_tensor(m)
        loco[m] = R.teacher_log_probs(R.fit_teacher(x[~mt], a[~m], 4, 3, seed=50 + int(c)), x[mt]).argmax(1) == a[m]
    return float(cross.mean()), float(loco.mean())

def heads(L, ids, Lt, gt, seed):
    return {h: match_acc(MLPClassifier((h,), max_iter=300, early_stopping=True, random_state=seed).fit(L, ids).predict(Lt), gt) for h in (16, 32)}

def filtered(L, a, Lt, g, gt):
    "Refit the linear discriminant on the ids a cross-validated discriminant trusts most (or on its own predictions)."
    lda = lambda: LinearDiscriminantAnalysis(solver='eigen', shrinkage='auto')
    pr = cross_val_predict(lda(), L, a, cv=5, method='predict_proba'); conf = pr[np.arange(len(a)), a]
    keeps = {f'drop_{int(q * 100)}pct': conf > np.quantile(conf, q) for q in (0.05, 0.1, 0.2)}
    keeps['agree'] = pr.argmax(1) == a
    out = {k: dict(kept=float(m.mean()), ids_acc=match_acc(a[m], g[m]), lda_test_acc=match_acc(lda().fit(L[m], a[m]).predict(Lt), gt)) for k, m in keeps.items()}
    out['relabel'] = dict(ids_acc=match_acc(pr.argmax(1), g), lda_test_acc=match_acc(lda().fit(L, pr.argmax(1)).predict(Lt), gt))
    return out

def leaf_losses(graph, paths, x, y):
    "Cross-entropy of every image `x` (labels `y`) down each of `paths` through `graph`: `[n, len(paths)]`."
    with torch.no_grad():
        return torch.stack([F.cross_entropy(graph(x, q.expand(len(x), -1)), torch.as_tensor(y), reduction='none') for q in paths], 1).numpy()

def hard_em_step(L, leaf, losses):
    "Each image to the leaf of lowest loss minus the router's log-probability (a discriminant of latents `L` fitted to the router's `leaf`)."
    return (LinearDiscriminantAnalysis(solver='eigen', shrinkage='auto').fit(L, leaf).predict_log_proba(L) - losses).argmax(1)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--run', type=int, default=0); ap.add_argument('--exp', default=str(root/'experiments'/'demo'))
    ap.add_argument('--teacher_epochs', type=int, default=3); ap.add_argument('--teacher_width', type=int, default=16)
    ap.add_argument('--width', type=int, default=4, help='the GoE Latent whose losses re-assign the ids (hard-EM)')
    args = ap.parse_args()
    torch.set_num_threads(1); t0 = time.time()
    teacher = R._teacher
    R._teacher = lambda in_ch, n_out, width=16: teacher(in_ch, n_out, args.teacher_width)
    tr, te, _ = rotated_mnist_datasets()
    x, g, y = dataset_tensors(tr); xt, gt, _ = dataset_tensors(te)
    g, gt, y = g.numpy(), gt.numpy(), y.numpy()
    model = load_model(Path(args.exp)/f'run_{args.run}'/f'goe_latent_p{args.width}.pt', 'rotated_mnist')
    router, graph = model.router, model.graph
    a = R.align_within_class(R.pooled_pixels(x), y, 4, seed=args.run)
    a = R.align_with_teacher(x, y, a, 4, 2, 3, args.teacher_epochs, seed=args.run)
    with torch.no_grad():
        L, Lt = router.latent(x).double().numpy(), router.latent(xt).double().numpy()
        leaf = router.leaf(x).numpy()
    em = hard_em_step(L, leaf, leaf_losses(graph, graph.paths, x, y))
    lda = LinearDiscriminantAnalysis(solver='eigen', shrinkage='auto')
    cross, loco = agreement(x, y, a)
    out = dict(run=args.run, teacher_epochs=args.teacher_epochs, teacher_width=args.teacher_width,
               ids_acc=match_acc(a, g), lda_test_acc=match_acc(lda.fit(L, a).predict(Lt), gt), mlp_test_acc=heads(L, a, Lt, gt, args.run),
               filtered=filtered(L, a, Lt, g, gt), crossfit_agree=cross, loco_agree=loco,
               hard_em=dict(width=args.width, router_test_acc=match_acc(router.leaf(xt).numpy(), gt), ids_acc=match_acc(em, g),
                            mlp_test_acc=heads(L, em, Lt, gt, args.run)),
               seconds=round(time.time() - t0))
    print(json.dumps(out))

if __name__ == '__main__': main()
