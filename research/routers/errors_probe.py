"""Probe: where a task's fitted Latent routers still go wrong. For each run of an experiment folder, the share of test images
routed to their group's leaf, per class, and which group's leaf the misrouted images reach (rows: their group; leaves matched
to groups by the Hungarian method). Scores against the TRUE groups are a diagnosis.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/errors_probe.py --task rotated_mnist_1v --exp OUT/rotated_mnist_1v

Output `errors_probe.jsonl`. Seconds.
"""
import argparse, json, sys
import numpy as np
sys.path.insert(0, __import__('os').path.dirname(__file__))
from diagnosis import task_data, fitted_router, leaves, per_class, racc, _match

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--exp', required=True)
p.add_argument('--runs', default='0,1,2')
a = p.parse_args()
task, (_, te, info) = task_data(a.task, a.data); K = task.branching ** (task.depth - 1)
xt, gt, yt = te.tensors(); gt, yt = gt.numpy(), np.asarray(yt)
for r in map(int, a.runs.split(',')):
    pred = leaves(fitted_router(a.exp, r), xt)
    _, ri, ci = _match(pred, gt, K); to_group = dict(zip(ci, ri)); got = np.array([to_group.get(q, -1) for q in pred])
    wrong = got != gt; conf = np.zeros((K, K), int); np.add.at(conf, (gt[wrong], got[wrong]), 1)
    print(json.dumps(dict(task=a.task, data=info['description'], run=r, routed=racc(pred, gt, K), per_class=per_class(pred, gt, yt, K),
                          misrouted=int(wrong.sum()), misrouted_to=conf.tolist())), flush=True)
