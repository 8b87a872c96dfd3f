"""Probe: are ids agreed on by several seeds' fits more right than one fit's? The Latent fit (`align_with_mixtures`, the
default `start='auto'`) runs on one run's fit images with several seeds; each fit's ids are matched to the first fit's
by the Hungarian method and a majority vote gives one id per image. With `--exp`, the run's fitted Latent router (its
`latent_router.pt`) gets its head and encoder retrained, as the fit trains them, on the images all fits agree on
(`head_unanimous`), and routes the test images. Scores against the TRUE groups are a diagnosis.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/consensus_probe.py --task rotated_mnist_1v --seeds 0,1,2,3 --exp OUT/rotated_mnist_1v

Output `consensus_probe.jsonl`. A few minutes per seed on one thread (`--jobs 2`: two seeds at once).
"""
import argparse, json, subprocess, sys, time
import numpy as np, torch
from scipy.optimize import linear_sum_assignment
torch.set_num_threads(1)
sys.path.insert(0, __import__('os').path.dirname(__file__))
from diagnosis import fit_images, racc, task_data, fitted_router, leaves, head_augment
from goe.clusters import align_with_mixtures
from goe.latent import fit_head

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--run_seed', type=int, default=0)
p.add_argument('--seeds', default='0,1,2,3,4'); p.add_argument('--jobs', type=int, default=2); p.add_argument('--one', type=int, default=None)
p.add_argument('--exp', default=None, help='experiment folder whose run_<run_seed>/latent_router.pt gets a head trained on the unanimous ids')
a = p.parse_args()
x, g, y, task, info = fit_images(a.task, a.data, a.run_seed)
K = task.branching ** (task.depth - 1)
if a.one is not None:                                   # a worker: one seed's fit, its ids on stdout
    print(json.dumps(align_with_mixtures(x, y, K, seed=a.one).tolist())); sys.exit()
seeds = [int(s) for s in a.seeds.split(',')]; t0 = time.time(); ids = {}
for i in range(0, len(seeds), a.jobs):
    procs = {s: subprocess.Popen([sys.executable, __file__, '--task', a.task, '--data', a.data, '--run_seed', str(a.run_seed), '--one', str(s)],
                                 stdout=subprocess.PIPE, text=True) for s in seeds[i:i + a.jobs]}
    for s, pr in procs.items(): ids[s] = np.array(json.loads(pr.communicate()[0]))
ref = ids[seeds[0]]; aligned = []
for s in seeds:
    t = np.zeros((K, K), int); np.add.at(t, (ids[s], ref), 1); r, c = linear_sum_assignment(-t); m = dict(zip(r, c))
    aligned.append(np.array([m[v] for v in ids[s]]))
votes = np.stack([np.bincount(col, minlength=K) for col in np.stack(aligned).T])
vote = votes.argmax(1); unanimous = votes.max(1) == len(seeds)
out = dict(task=a.task, data=info['description'], run_seed=a.run_seed, seeds=seeds, each=[racc(ids[s], g, K) for s in seeds],
           vote=racc(vote, g, K), unanimous_share=round(float(unanimous.mean()), 4), unanimous_right=racc(vote[unanimous], g[unanimous], K))
if a.exp:
    r = fitted_router(a.exp, a.run_seed)
    xt, gt, _ = task_data(a.task, a.data)[1][1].tensors(); gt = gt.numpy()
    out['fitted_test'] = racc(leaves(r, xt), gt, K)
    fit_head(r, x[torch.as_tensor(unanimous)], vote[unanimous], head_augment(task), task.latent_fit.get('head_epochs', 20), seed=a.run_seed)
    out.update(head_unanimous_fit=racc(leaves(r, x), g, K), head_unanimous_test=racc(leaves(r, xt), gt, K))
print(json.dumps(dict(out, seconds=round(time.time() - t0))), flush=True)
