#!/usr/bin/env python
"""How to run a layer's experts: the measurements behind `GraphOfExperts`'s schedules (03_graph).
    python bench/bench_grouped.py                # CPU, 2 threads -> bench/grouped_cpu.{json,md}
    python bench/bench_grouped.py --device cuda  # on a GPU -> bench/grouped_cuda.{json,md}
Side by side in one process, on the same inputs and paths (random, over all leaves), for the Rotated-MNIST CNN and the
bench's deep network (`bench_goe.tree_stages`, p = 8):
1. inference and a training step (forward + backward, batch 64) with the stacked experts run per expert on sorted runs
   (`schedule='runs'`), all at once on grouped slots (`'grouped'`, the hand-written grouped convolution / batched matmul), and
   on the same slots through `torch.func.vmap` over each expert's whole module (`functional_call`, as `stack_module_state`
   would), against Ref SqB; what `schedule='auto'` picks;
2. max-pooling inside routed inference: `FastMaxPool2d` against `nn.MaxPool2d` (which calls `F.max_pool2d`), GoE and Ref SqB.
Every row: the median of `--reps` rounds (each variant timed in turn right after an untimed call of its own), and each ratio
its median over `--runs` whole measurements with their range.
"""
import argparse, copy, json, platform, statistics, sys, time, warnings
from pathlib import Path
import torch
warnings.filterwarnings('ignore', category=FutureWarning)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_goe import timer, tree_stages
from goe.core import reuse_freed_memory
from goe.graph import tree_of_experts, ref_sqb
from goe.models import cnn_stages as mnist_cnn

root = Path(__file__).resolve().parent.parent

def vmapped(graph):
    "A copy of `graph` whose layers run on grouped slots through `torch.func.vmap` over each expert's whole module."
    g = copy.deepcopy(graph); g.schedule = 'grouped'
    for layer in g.layers:
        def forward(x, used=None, layer=layer):
            G = layer.n if used is None else len(used)
            ps = {n: (p if used is None else p.unflatten(0, (layer.n, -1)).index_select(0, used).flatten(0, 1)).unflatten(0, (G, -1))
                  for n, p in layer.experts.named_parameters()}
            f = lambda ps, x: torch.func.functional_call(layer.experts, ps, (x,))
            return torch.func.vmap(f, in_dims=(0, 1), out_dims=1)(ps, x.unflatten(1, (G, -1))).flatten(1, 2)
        layer.forward = forward
    return g

def variants(stages):
    "Ref SqB and the GoE tree run each way (the same weights)."
    g = tree_of_experts(stages)
    out = dict(ref=ref_sqb(stages))
    for s in ('runs', 'grouped', 'auto'): out[s] = copy.deepcopy(g); out[s].schedule = s
    out['vmap'] = vmapped(g)
    return out

def step(m, x, path, y):
    "A training step's forward and backward (the optimizer aside)."
    for p in m.parameters(): p.grad = None
    torch.nn.functional.cross_entropy(m(x, path), y).backward()

def measure(T, kind, size, B, train, dev, reps):
    torch.manual_seed(0)
    vs = {k: v.to(dev) for k, v in variants(mnist_cnn(size) if kind == 'mnist' else tree_stages(8, size)).items()}
    x, y = torch.rand(B, 1, 28, 28, device=dev), torch.randint(10, (B,), device=dev)
    path = vs['runs'].paths[torch.randint(len(vs['runs'].paths), (B,))].to(dev)
    p0 = torch.zeros_like(path)
    fs = {k: (lambda m=m, p=(p0 if k == 'ref' else path): step(m, x, p, y)) if train else (lambda m=m, p=(p0 if k == 'ref' else path): m(x, p)) for k, m in vs.items()}
    with torch.enable_grad() if train else torch.inference_mode():
        t = T(fs, reps)
    return dict(net=kind, size=size, batch=B, train=train, **{f'{k}_ms': v * 1e3 for k, v in t.items()},
                **{f'{k}_over_ref': t[k] / t['ref'] for k in t if k != 'ref'})

def pooling(T, p, B, dev, reps):
    torch.manual_seed(0)
    fast, slow = tree_of_experts(mnist_cnn(p)).to(dev).eval(), tree_of_experts(mnist_cnn(p, pool=torch.nn.MaxPool2d)).to(dev).eval()
    rfast, rslow = ref_sqb(mnist_cnn(p)).to(dev).eval(), ref_sqb(mnist_cnn(p, pool=torch.nn.MaxPool2d)).to(dev).eval()
    slow.load_state_dict(fast.state_dict()); rslow.load_state_dict(rfast.state_dict())
    x = torch.rand(B, 1, 28, 28, device=dev); path = fast.paths[torch.randint(4, (B,))].to(dev); p0 = torch.zeros_like(path)
    with torch.inference_mode():
        assert torch.equal(fast(x, path), slow(x, path))
        t = T(dict(goe_fast=lambda: fast(x, path), goe_torch=lambda: slow(x, path), ref_fast=lambda: rfast(x, p0), ref_torch=lambda: rslow(x, p0)), reps)
    return dict(width=p, batch=B, **{f'{k}_ms': v * 1e3 for k, v in t.items()},
                goe_fast_over_torch=t['goe_fast'] / t['goe_torch'], ref_fast_over_torch=t['ref_fast'] / t['ref_torch'])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=15); ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--cpu_time', action='store_true', help="time the main thread's CPU time (with --threads 1: a machine shared with other work steals no time from it)")
    args = ap.parse_args()
    if args.cpu_time and args.threads != 1: ap.error('--cpu_time counts the main thread only: use it with --threads 1')
    reuse_freed_memory(); torch.set_num_threads(args.threads)
    dev = torch.device(args.device); T = timer(dev, time.thread_time if args.cpu_time else time.perf_counter)
    cases = [('mnist', p, B, False) for p in (4, 8, 16) for B in (64, 1024)] + [('mnist', p, 64, True) for p in (4, 8)]
    cases += [('deep', d, 1024, False) for d in (2, 4, 6)] + [('deep', d, 64, True) for d in (2, 4, 6)]
    runs = []
    for run in range(args.runs):
        print(f'--- run {run + 1} of {args.runs}', flush=True)
        cur = dict(schedules=[], pooling=[])
        for sec, f, xs in (('schedules', measure, cases), ('pooling', pooling, [(p, B) for p in (4, 16) for B in (64, 1024)])):
            for c in xs:
                cur[sec].append(f(T, *c, dev, args.reps)); print({k: round(v, 3) if isinstance(v, float) else v for k, v in cur[sec][-1].items()}, flush=True)
        runs.append(cur)
    res = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({platform.processor() or platform.machine()}), {args.threads} threads' + (', CPU time of the thread' if args.cpu_time else ''),
               torch=torch.__version__, runs=runs)
    agg = lambda rows, k: (statistics.median(r[k] for r in rows), min(r[k] for r in rows), max(r[k] for r in rows))
    cell = lambda rows, k: '{:.2f} ({:.2f}-{:.2f})'.format(*agg(rows, k))
    md = [f"Device: {res['device']}, torch {res['torch']}. Median of {args.reps} rounds, one process; {args.runs} whole measurements: times are medians over them, "
          "ratios their median and range. Paths drawn at random over all leaves.", '',
          '| network | batch | pass | Ref SqB ms | per expert / Ref | grouped / Ref | vmap / Ref | auto / Ref |', '|---|---:|---|---:|---:|---:|---:|---:|']
    for rows in zip(*[r['schedules'] for r in runs]):
        r = rows[0]
        md.append(f"| {'Rotated-MNIST CNN, p' if r['net'] == 'mnist' else 'deep net (p = 8), depth'} = {r['size']} | {r['batch']} | {'train step' if r['train'] else 'inference'} | "
                  f"{agg(rows, 'ref_ms')[0]:.2f} | {cell(rows, 'runs_over_ref')} | {cell(rows, 'grouped_over_ref')} | {cell(rows, 'vmap_over_ref')} | {cell(rows, 'auto_over_ref')} |")
    md += ['', 'Max-pooling in routed inference (schedule `auto`), ms; the same outputs:', '',
           '| p | batch | GoE, `FastMaxPool2d` | GoE, `nn.MaxPool2d` | fast / PyTorch | Ref SqB, `FastMaxPool2d` | Ref SqB, `nn.MaxPool2d` | fast / PyTorch |',
           '|---:|---:|---:|---:|---:|---:|---:|---:|']
    for rows in zip(*[r['pooling'] for r in runs]):
        md.append(f"| {rows[0]['width']} | {rows[0]['batch']} | {agg(rows, 'goe_fast_ms')[0]:.2f} | {agg(rows, 'goe_torch_ms')[0]:.2f} | {cell(rows, 'goe_fast_over_torch')} | "
                  f"{agg(rows, 'ref_fast_ms')[0]:.2f} | {agg(rows, 'ref_torch_ms')[0]:.2f} | {cell(rows, 'ref_fast_over_torch')} |")
    stem = root/'bench'/f"grouped_{'cuda' if dev.type == 'cuda' else 'cpu'}"
    stem.with_suffix('.json').write_text(json.dumps(res, indent=1))
    stem.with_suffix('.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
