#!/usr/bin/env python
"""Do goe's hand-written pieces still pay? Each against the library piece it stands in for, side by side in one process.
    python bench/bench_handwritten.py                # CPU, 2 threads -> bench/handwritten_cpu.md
    python bench/bench_handwritten.py --threads 1
1. The optimiser: a training epoch of Ref SqB and GoE Oracle (width 4, embedded Rotated MNIST, batch 64) with torch's
   fused AdamW (through fastai's OptimWrapper: what goe uses), torch's foreach AdamW, fastai's own Adam, and the
   hand-written `ForeachAdam` of goe 0.1 (copied below as the reference), epochs interleaved, median of 3 each.
2. `FastAvgPool2d` (the Latent router's 2x2 input pooling) against `nn.AvgPool2d` at batch 1,024 on 28x28 images, and
   the whole Latent router's encoder with each.
3. `reuse_freed_memory` (glibc `mallopt`): Ref SqB's forward at width 16, batch 1,024, in fresh processes with and without it.
Read the ratios: single timings on a shared 2-core machine move by about 15% from run to run.
"""
import argparse, json, platform, statistics, subprocess, sys, time
from functools import partial
from pathlib import Path
import torch
from torch import nn

def median_time(f, n=20, warm=3):
    for _ in range(warm): f()
    ts = []
    for _ in range(n): t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

# ---- 1. optimisers -----------------------------------------------------------------------------------------------
def foreach_adam_cls():
    "goe 0.1's ForeachAdam: fastai's Adam with one call per operation on contiguous buffers (the reference)."
    from fastai.optimizer import Optimizer, debias
    class ForeachAdam(Optimizer):
        def __init__(self, params, lr, mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01):
            super().__init__(params, [], lr=lr, mom=mom, sqr_mom=sqr_mom, eps=eps, wd=wd); self.flat = {}
        def _flatten(self, items):
            ps = [p for p, _ in items]
            def pack(ts):
                buf = torch.cat([t.detach().reshape(-1) for t in ts])
                return buf, [v.view_as(t) for v, t in zip(buf.split([t.numel() for t in ts]), ts)]
            P, pv = pack([p.data for p in ps]); G, gv = pack([p.grad for p in ps])
            A, av = pack([s['grad_avg'] for _, s in items]); S, sv = pack([s['sqr_avg'] for _, s in items])
            for p, (_, s), a, b, c, d in zip(ps, items, pv, gv, av, sv): p.data, p.grad, s['grad_avg'], s['sqr_avg'] = a, b, c, d
            return [P], [G], [A], [S]
        def clear_state(self): super().clear_state(); self.flat = {}
        def zero_grad(self):
            flat = {i for k in self.flat for i in k}
            for _, G, _, _ in self.flat.values(): G[0].zero_()
            for p, *_ in self.all_params(with_grad=True):
                if id(p) not in flat: p.grad.detach_(); p.grad.zero_()
        @torch.no_grad()
        def step(self, closure=None):
            groups = {}
            for p, pg, state, h in self.all_params(with_grad=True):
                if 'grad_avg' not in state: state.update(grad_avg=torch.zeros_like(p.grad), sqr_avg=torch.zeros_like(p.grad), step=0)
                state['step'] += 1
                groups.setdefault((h['lr'], h['mom'], h['sqr_mom'], h['eps'], h['wd'], state['step'], state.get('do_wd', True)), []).append((p, state))
            flat_ids = {i for k in self.flat for i in k}
            for (lr, mom, sqr_mom, eps, wd, step, do_wd), items in groups.items():
                ids = frozenset(id(p) for p, _ in items)
                if ids not in self.flat and not ids & flat_ids and len(items) > 1: self.flat[ids] = self._flatten(items); flat_ids |= ids
                ps, gs, ga, sa = self.flat[ids] if ids in self.flat else ([p.data for p, _ in items], [p.grad.data for p, _ in items],
                                                                       [s['grad_avg'] for _, s in items], [s['sqr_avg'] for _, s in items])
                if do_wd and wd != 0: torch._foreach_mul_(ps, 1 - lr * wd)
                torch._foreach_mul_(ga, mom); torch._foreach_add_(ga, gs, alpha=1 - mom)
                torch._foreach_mul_(sa, sqr_mom); torch._foreach_addcmul_(sa, gs, gs, value=1 - sqr_mom)
                den = torch._foreach_div(sa, debias(sqr_mom, 1 - sqr_mom, step)); torch._foreach_sqrt_(den); torch._foreach_add_(den, eps)
                torch._foreach_addcdiv_(ps, ga, den, value=-lr / debias(mom, 1 - mom, step))
    return ForeachAdam

def optimiser_rows(rounds=3):
    from fastai.learner import Learner
    from fastai.optimizer import Adam, OptimWrapper
    from fastai.callback.schedule import fit_one_cycle
    from fastai.callback.progress import ProgressCallback
    from goe.core import seed_everything
    from goe.task import get_task
    from goe.data import load_data
    from goe.models import build_model
    from goe.train import make_dls, opt_func, EpochLog
    task = get_task('rotated_mnist'); tr, te, _ = load_data(task, 'embedded')
    opts = {'torch AdamW (fused, goe)': opt_func,
            'torch AdamW (foreach)': partial(OptimWrapper, opt=partial(torch.optim.AdamW, foreach=True), betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01),
            'fastai Adam': Adam, 'ForeachAdam (goe 0.1)': foreach_adam_cls()}
    times = {(r, o): [] for r in ('fixed', 'oracle') for o in opts}
    for _ in range(rounds):
        for r in ('fixed', 'oracle'):
            for o, f in opts.items():
                seed_everything(0); dls = make_dls(tr, te, 64)
                learn = Learner(dls, build_model(task, r, 4), loss_func=nn.CrossEntropyLoss(), opt_func=f, cbs=[EpochLog(log=None)])
                t0 = time.perf_counter()
                with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 3e-3)
                times[(r, o)].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = 'torch AdamW (fused, goe)'
    return [dict(router=r, optimiser=o, epoch_s=med[(r, o)], vs_goe=med[(r, o)] / med[(r, base)]) for r in ('fixed', 'oracle') for o in opts]

# ---- 2. FastAvgPool2d ------------------------------------------------------------------------------------------------
def avgpool_rows():
    from goe.vqvae import FastAvgPool2d, VQVAE
    from goe.latent import LatentSettings
    x = torch.rand(1024, 1, 28, 28)
    fast, slow = FastAvgPool2d(2), nn.AvgPool2d(2)
    vq = LatentSettings().vq(1, 28)
    enc_fast = VQVAE(**vq).encoder.eval()
    enc_slow = VQVAE(**vq).encoder.eval(); enc_slow.load_state_dict(enc_fast.state_dict()); enc_slow[0] = nn.AvgPool2d(2)
    with torch.inference_mode():
        assert torch.equal(fast(x), slow(x))
        rows = []
        for name, a, b in (('2x2 pool of the input', fast, slow), ('router encoder', enc_fast, enc_slow)):
            ta, tb = median_time(lambda: a(x)), median_time(lambda: b(x))
            ta2 = median_time(lambda: a(x))
            rows.append(dict(what=name, fast_ms=1e3 * min(ta, ta2), torch_ms=1e3 * tb, ratio=min(ta, ta2) / tb))
    return rows

# ---- 3. reuse_freed_memory ------------------------------------------------------------------------------------------
_ALLOC = """
import json, resource, statistics, sys, time, torch
from goe.core import reuse_freed_memory
from goe.graph import ref_sqb
from goe.models import cnn_stages
if sys.argv[1] == '1': assert reuse_freed_memory()
torch.set_num_threads(int(sys.argv[2])); torch.manual_seed(0)
m, x, path = ref_sqb(cnn_stages(16)).eval(), torch.rand(1024, 1, 28, 28), torch.zeros(1024, 3, dtype=torch.long)
with torch.inference_mode():
    for _ in range(5): m(x, path)
    ts, f0 = [], resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20): t0 = time.perf_counter(); m(x, path); ts.append(time.perf_counter() - t0)
print(json.dumps(dict(ms=statistics.median(ts) * 1e3, faults=(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 20)))
"""

def malloc_rows(threads, rounds=3):
    r = {m: [] for m in '01'}
    for _ in range(rounds):
        for m in '01': r[m].append(json.loads(subprocess.run([sys.executable, '-c', _ALLOC, m, str(threads)], capture_output=True, text=True, check=True).stdout))
    med = {m: (statistics.median(x['ms'] for x in v), statistics.median(x['faults'] for x in v)) for m, v in r.items()}
    return [dict(malloc='glibc default', ms=med['0'][0], faults=med['0'][1]), dict(malloc='reuse_freed_memory', ms=med['1'][0], faults=med['1'][1], ratio=med['1'][0] / med['0'][0])]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0]); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=str(Path(__file__).parent/'handwritten_cpu.md')); a = ap.parse_args()
    torch.set_num_threads(a.threads)
    lines = [f"Device: CPU ({platform.machine()}), {a.threads} threads, torch {torch.__version__}. `python bench/bench_handwritten.py --threads {a.threads}`.", '',
             '| model | optimiser | epoch s | / goe\'s |', '|---|---|---:|---:|']
    lines += [f"| {'Ref SqB' if r['router'] == 'fixed' else 'GoE Oracle'} | {r['optimiser']} | {r['epoch_s']:.2f} | {r['vs_goe']:.2f} |" for r in optimiser_rows()]
    lines += ['', '| what (batch 1,024) | FastAvgPool2d ms | torch ms | ratio |', '|---|---:|---:|---:|']
    lines += [f"| {r['what']} | {r['fast_ms']:.3f} | {r['torch_ms']:.3f} | {r['ratio']:.2f} |" for r in avgpool_rows()]
    m = malloc_rows(a.threads)
    lines += ['', '| Ref SqB width 16, batch 1,024 | forward ms | page faults per call |', '|---|---:|---:|']
    lines += [f"| {r['malloc']} | {r['ms']:.2f} | {r['faults']:.0f} |" for r in m] + ['', f"reuse_freed_memory / default: {m[1]['ratio']:.2f}"]
    Path(a.out).write_text('\n'.join(lines) + '\n'); print('\n'.join(lines))

if __name__ == '__main__': main()
