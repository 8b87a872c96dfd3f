#!/usr/bin/env python
"""Does a gather whose backward is a gather make GoE's training step cheaper on the CPU?

The grouped schedule (`GraphOfExperts._forward_grouped`, 03_graph) moves rows between layers with `index_select`, whose
backward scatter-adds the gradient into a zero-filled tensor. Every input row is held by one slot and the padding's
gradient is zero, so the backward can instead gather the gradient by the inverse map (a zero row for rows no slot
holds). A profile of one training step at batch 64 on 2 threads had shown `scatter_add_` calls of milliseconds. This
study puts that variant (`_Gather` below) against goe's `index_select` and Ref SqB, in one process: training steps
(forward, backward, AdamW) at batch 64 on the embedded digits, 100 steps per variant in turn, 15 rounds, medians of the
per-round ratios. Result: the variant was not faster (see README.md beside this file), so goe keeps `index_select`.
    OMP_NUM_THREADS=2 PYTHONPATH=. python research/graph/gather_backward.py --threads 2 --width 4
"""
import argparse, copy, json, statistics, sys, time
import numpy as np, torch
from torch import nn
from goe.graph import GraphOfExperts, expert_slots
from goe.task import get_task
from goe.models import build_model
from goe.data import load_data
from goe.core import reuse_freed_memory

class _Gather(torch.autograd.Function):
    "`h.index_select(0, idx)` whose backward gathers: input row `i`'s gradient is output row `inv[i]`'s (a zero row appended when `pad`)."
    @staticmethod
    def forward(ctx, h, idx, inv, pad):
        ctx.save_for_backward(inv); ctx.pad = pad
        return h.index_select(0, idx)
    @staticmethod
    def backward(ctx, g):
        inv, = ctx.saved_tensors
        if ctx.pad: g = torch.cat([g, g.new_zeros(1, *g.shape[1:])])
        return g.index_select(0, inv), None, None, None

def _inverse(src, dst, n, m):
    inv = np.full(n, m, np.int64); inv[src] = dst
    return torch.from_numpy(inv)

def forward_grouped_gather(self, x, pn):
    "goe's grouped schedule (CPU), with every gather through `_Gather`."
    h, pos, n = x, np.arange(len(x)), len(x)
    for layer, ids in zip(self.layers, pn.T):
        col, row, used, cap = expert_slots(ids, len(layer)); G = len(used); slot = row * G + col
        idx = np.zeros(cap * G, np.int64); idx[slot] = pos
        if len(idx) != n or (idx != np.arange(n)).any(): h = _Gather.apply(h, torch.from_numpy(idx), _inverse(pos, slot, n, len(idx)), n > len(pos))
        h = layer(h.reshape(cap, -1, *h.shape[2:]), torch.from_numpy(used) if G < len(layer) else None)
        h = h.reshape(cap * G, -1, *h.shape[2:])
        pos, n = slot, cap * G
    return _Gather.apply(h, torch.from_numpy(pos), _inverse(pos, np.arange(len(pos)), n, len(pos)), n > len(pos))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--width', type=int, default=4); ap.add_argument('--rounds', type=int, default=15)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); reuse_freed_memory()
    task = get_task('rotated_mnist'); X, G, Y = load_data(task, 'embedded')[0].tensors()
    torch.manual_seed(0)
    models = {'ref_sqb': build_model(task, 'fixed', a.width), 'index_select': build_model(task, 'oracle', a.width)}
    models['gather_backward'] = copy.deepcopy(models['index_select'])
    stock = GraphOfExperts._forward_grouped
    opts = {k: torch.optim.AdamW(m.parameters(), fused=True) for k, m in models.items()}
    lf, order = nn.CrossEntropyLoss(), torch.randperm(len(X))
    def steps(k, n=100):
        GraphOfExperts._forward_grouped = forward_grouped_gather if k == 'gather_backward' else stock
        m, o = models[k], opts[k]; t0 = time.perf_counter()
        for i in range(n):
            b = order[i * 64:(i + 1) * 64]
            lf(m(X[b], G[b]), Y[b]).backward(); o.step(); o.zero_grad()
        return (time.perf_counter() - t0) / n
    for k in models: steps(k, 20)
    t = {k: [] for k in models}
    for _ in range(a.rounds):
        for k in models: t[k].append(steps(k))
    ratio = lambda k: statistics.median(x / r for x, r in zip(t[k], t['ref_sqb']))
    print(json.dumps(dict(threads=a.threads, width=a.width, torch=torch.__version__, **{f'{k}_ms': round(statistics.median(v) * 1e3, 3) for k, v in t.items()},
                          index_select_over_ref=round(ratio('index_select'), 3), gather_backward_over_ref=round(ratio('gather_backward'), 3))))

if __name__ == '__main__': main()
