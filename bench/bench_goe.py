#!/usr/bin/env python
"""Wall-clock benchmark of routed execution: GoE vs Ref SqB vs "all experts" (a masked implementation).

Side by side in one process, on the same inputs: warm-up, then the median of repeated runs.
    python bench/bench_goe.py                 # CPU, 2 threads (the machine's cores); writes bench/results_<device>.{json,md}
    python bench/bench_goe.py --device cuda   # on a GPU (CUDA events, synchronised)
Ratios, not absolute times, are the result: they are stable across machines to about +-15% on shared CPUs.
"""
import argparse, json, time, statistics, platform, warnings, os, subprocess, sys, tempfile
import numpy as np
from pathlib import Path
import torch
from torch import nn
warnings.filterwarnings('ignore', category=FutureWarning)
from goe.core import count_flops, reuse_freed_memory
from goe.graph import GraphOfExperts, Routed, tree_of_experts, ref_sqb
from goe.models import FastMaxPool2d
from goe.router import OracleRouter, FixedRouter, tree_paths
from goe.latent import LatentRouter, LatentSettings
from goe.vqvae import VQVAE
from goe.task import get_task
from goe.data import load_data
from goe.models import build_model, cnn_stages as mnist_cnn
from goe.train import make_dls, fit

rotated_mnist = get_task('rotated_mnist')
def rotated_mnist_datasets(): return load_data(rotated_mnist, 'embedded')

root = Path(__file__).resolve().parent.parent
RATIO = ('_over_ref', '_over_goe', '_over_oracle')

def ratio(r, k):
    "A ratio cell: the median over runs, and its range when there were several runs."
    return f"{r[k]:.2f}" + (f" ({r[k + '_min']:.2f}-{r[k + '_max']:.2f})" if r.get(k + '_min') is not None and r[k + '_min'] != r[k + '_max'] else '')

def timer(device, clock=time.perf_counter):
    """A function that times each of `fs` (a dict of callables) on `device`: `reps` rounds, each calling every function once in turn
    (so slow drifts of a shared machine hit all of them alike) right after one untimed call of its own (so each is timed with warm
    caches), after `warmup` calls each; returns the median seconds per function."""
    def once(f):
        if device.type == 'cuda':
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); f(); e.record(); torch.cuda.synchronize(); return s.elapsed_time(e) / 1e3
        t0 = clock(); f(); return clock() - t0
    def run(fs, reps=20, warmup=3):
        for f in fs.values():
            for _ in range(warmup): f()
        ts = {k: [] for k in fs}
        for _ in range(reps):
            for k, f in fs.items(): f(); ts[k].append(once(f))          # an untimed call first: each variant is timed warm
        return {k: statistics.median(v) for k, v in ts.items()}
    return run

def all_experts(graph:GraphOfExperts):
    "What a masked implementation costs: `f(x, path)` runs every expert on the whole batch, then selects each sample's leaf output."
    experts = [[layer[j] for j in range(len(layer))] for layer in graph.layers]      # each expert as a plain module (views of the graph's weights)
    b = len(experts[1]) // len(experts[0]) if graph.n_layers > 1 else 1
    def f(x, path):
        hs = [experts[0][0](x)]
        for layer in experts[1:]:
            hs = [e(hs[j // b]) for j, e in enumerate(layer)]
        out = torch.stack(hs)                               # [n_leaves, B, ...]
        return out[path[:, -1], torch.arange(len(x), device=x.device)]
    return f

def bench_inputs(data, dev, n=1024):
    "`n` test images and their groups, in a fixed shuffled order: every batch (64 included) mixes the four groups, so GoE routes it."
    idx = torch.arange(0, 4000, 4)[torch.randperm(1000, generator=torch.Generator().manual_seed(0))].tolist() * 2
    return torch.stack([data[1][i][0] for i in idx])[:n].to(dev), torch.tensor([data[1][i][1] for i in idx])[:n].to(dev)

def deep_stages(p:int, n_blocks:int=4, n_classes:int=10):
    "A fixed CNN for the scaling test: stem, `n_blocks` conv blocks of equal cost at 14x14, head."
    stem = lambda: nn.Sequential(nn.Conv2d(1, p, 3, padding=1), FastMaxPool2d(2), nn.ReLU())
    block = lambda: nn.Sequential(nn.Conv2d(p, p, 3, padding=1), nn.ReLU())
    head = lambda: nn.Sequential(nn.Flatten(), nn.Linear(196 * p, n_classes))
    return [stem] + [block] * n_blocks + [head]

def tree_stages(p:int, depth:int, n_blocks:int=4):
    "The same network (`deep_stages`) cut into `depth` layers: one path always costs the same, the tree branches `depth - 1` times."
    stages = deep_stages(p, n_blocks)
    cuts = [c.tolist() for c in np.array_split(np.arange(len(stages)), depth)]
    return [lambda c=c: nn.Sequential(*[stages[i]() for i in c]) for c in cuts]

def peak_of(model:str, p:int, device:str, B:int=1024) -> int:
    """Bytes that one routed inference call (`model` 'goe_oracle' or 'ref_sqb', width `p`, batch `B`) needs above what was live before it,
    in this (fresh) process after one warm-up call. CUDA: `torch.cuda.max_memory_allocated`. CPU: the highest point of the torch
    profiler's memory timeline (every allocation and free of torch's CPU allocator, scratch buffers of the kernels included, to the byte)."""
    dev = torch.device(device)
    x, g = bench_inputs(rotated_mnist_datasets(), dev, B)
    m = (Routed(OracleRouter(rotated_mnist.oracle_table()), tree_of_experts(mnist_cnn(p))) if model == 'goe_oracle'
         else Routed(FixedRouter([0, 0, 0]), ref_sqb(mnist_cnn(p)))).to(dev).eval()
    with torch.inference_mode():
        m(x, g)
        if dev.type == 'cuda':
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); before = torch.cuda.memory_allocated()
            m(x, g); torch.cuda.synchronize(); return torch.cuda.max_memory_allocated() - before
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof: m(x, g)
    with tempfile.TemporaryDirectory() as d:
        prof.export_memory_timeline(f'{d}/m.json', device='cpu')       # [times, [bytes per category] per time]
        live = [sum(s) for s in json.loads(Path(f'{d}/m.json').read_text())[1]]
    return max(live) - live[0]

def fresh(argv:list, threads:int):
    "This script with `argv` in a fresh process; the last line it prints, as JSON."
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=os.pathsep.join([str(root), os.environ.get('PYTHONPATH', '')]))
    return json.loads(subprocess.run([sys.executable, __file__, *argv], env=env, check=True, capture_output=True, text=True).stdout.splitlines()[-1])

def epochs_of(p:int, reps:int, device:str, clock) -> dict:
    """Seconds of one training epoch (batch 64, `goe.train.fit`) of GoE Oracle and Ref SqB at width `p`, alternating, `reps` each, after one
    untimed epoch of each: the ratio is the median over pairs of epochs run one after the other, so a slow drift of a shared machine hits both."""
    data, ts = rotated_mnist_datasets(), dict(goe_oracle=[], ref_sqb=[])
    for i in range(reps + 1):
        for m in ts:
            torch.manual_seed(0)
            model = build_model(rotated_mnist, {'goe_oracle': 'oracle', 'ref_sqb': 'fixed'}[m], p)
            dls = make_dls(data[0], data[1], 64, device=device)
            t0 = clock(); fit(model, dls, 1, log=None); t = clock() - t0
            if i: ts[m].append(t)
    return ts

def peak_memory(model:str, p:int, device:str, threads:int, runs:int=1):
    "`peak_of` in `runs` fresh processes, median; exact on the CPU (allocator events), so one run is the default."
    return statistics.median(fresh(['--peak_of', f'{model}:{p}', '--device', device, '--threads', str(threads)], threads) for _ in range(runs))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=20); ap.add_argument('--runs', type=int, default=3, help='whole measurements (median, and the range of each ratio)'); ap.add_argument('--train_reps', type=int, default=5, help='training epochs per model, alternating (median of the GoE / Ref SqB pairs)'); ap.add_argument('--quick', action='store_true', help='fewer sizes, for a smoke test')
    ap.add_argument('--out', default=None, help='output stem (default bench/results_<device>)')
    ap.add_argument('--plot', default=None, help='scaling figure (default imgs/scaling_<device>.png)')
    ap.add_argument('--system_malloc', action='store_true', help="keep glibc's default malloc (big blocks page-faulted in afresh on every call)")
    ap.add_argument('--cpu_time', action='store_true', help="time the main thread's CPU time (with --threads 1: a machine shared with other work steals no time from it)")
    ap.add_argument('--peak_of', default=None, help=argparse.SUPPRESS)        # MODEL:P, in a fresh process: see `peak_of`
    ap.add_argument('--epochs_of', type=int, default=None, help=argparse.SUPPRESS)  # P, in a fresh process: see `epochs_of`
    args = ap.parse_args()
    if args.cpu_time and args.threads != 1: ap.error('--cpu_time counts the main thread only: use it with --threads 1')
    clock = time.thread_time if args.cpu_time else time.perf_counter
    if args.peak_of:
        torch.set_num_threads(args.threads); m, p = args.peak_of.split(':'); print(peak_of(m, int(p), args.device)); return
    if args.epochs_of:
        if not args.system_malloc: reuse_freed_memory()
        torch.set_num_threads(args.threads); print(json.dumps(epochs_of(args.epochs_of, args.train_reps, args.device, clock))); return
    reused = False if args.system_malloc else reuse_freed_memory()      # the same for every variant: only the time of allocation changes
    torch.set_num_threads(args.threads); torch.manual_seed(0)
    dev = torch.device(args.device); T = timer(dev, clock)
    widths, batches = ([4] if args.quick else [4, 8, 16]), ([1, 64] if args.quick else [1, 64, 1024])
    res = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({platform.processor() or platform.machine()}), {args.threads} threads' + (', CPU time of the thread' if args.cpu_time else ''),
               torch=torch.__version__, reuse_freed_memory=reused, inference=[], training=[], scaling=[])
    data = rotated_mnist_datasets()
    xs_all, gs_all = bench_inputs(data, dev)
    lat = LatentSettings()
    vae = VQVAE(**lat.vq(1, 28))
    latent = LatentRouter(vae, 3, 2, lat.refine, lat.latent).to(dev).eval()   # the runner's router
    latent.leaf_centroids.normal_(); latent.proj.normal_(); latent.is_fitted.fill_(True)   # timing only: fitted values do not change the cost
    runs = []
    for run in range(args.runs):                      # whole measurements, one after another: the spread between them is reported
        print(f'--- run {run + 1} of {args.runs}', flush=True)
        cur = dict(inference=[], training=[], scaling=[])
        with torch.inference_mode():
            for p in widths:
                goe = Routed(OracleRouter(rotated_mnist.oracle_table()), tree_of_experts(mnist_cnn(p))).to(dev).eval()
                goe_lat = Routed(latent, goe.graph).eval()
                ref = Routed(FixedRouter([0, 0, 0]), ref_sqb(mnist_cnn(p))).to(dev).eval()
                every = all_experts(goe.graph)
                for B in batches:
                    x, g = xs_all[:B], gs_all[:B]
                    path = goe.router(x, g)
                    t = T(dict(goe_oracle=lambda: goe(x, g), goe_latent=lambda: goe_lat(x, g), ref_sqb=lambda: ref(x, g),
                               all_experts=lambda: every(x, path)), args.reps)
                    row = dict(width=p, batch=B, **{f'{k}_ms': v * 1e3 for k, v in t.items()},
                               goe_over_ref=t['goe_oracle'] / t['ref_sqb'], all_over_goe=t['all_experts'] / t['goe_oracle'],
                               latent_over_oracle=t['goe_latent'] / t['goe_oracle'])
                    cur['inference'].append(row); print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
            # scaling with depth at fixed width: one network (stem, 4 blocks, head) cut into a binary tree of `depth` layers, so a
            # path costs the same at every depth while the experts double per level; routed cost should stay flat, all-experts grows
            p, B = 8, (64 if args.quick else 1024)
            x = xs_all[:B]
            for depth in ([2, 3, 4] if args.quick else [2, 3, 4, 5, 6]):
                g = tree_of_experts(tree_stages(p, depth)).to(dev).eval()
                dense = ref_sqb(tree_stages(p, depth)).to(dev).eval()
                path = g.paths[torch.arange(B, device=dev) % len(g.paths)]
                p0 = torch.zeros(B, depth, dtype=torch.long, device=dev)
                every = all_experts(g)
                t = T(dict(goe=lambda: g(x, path), all=lambda: every(x, path), ref=lambda: dense(x, p0)), args.reps)
                t_goe, t_all, t_ref = t['goe'], t['all'], t['ref']
                f_path = count_flops(g.path_modules(g.paths[0]), x[:1]); f_all = count_flops(lambda z: every(z, path[:1]), x[:1])
                row = dict(depth=depth, width=p, batch=B, n_experts=sum(g.n_experts), goe_ms=t_goe * 1e3, all_experts_ms=t_all * 1e3, ref_ms=t_ref * 1e3,
                           all_over_goe=t_all / t_goe, goe_over_ref=t_goe / t_ref, flops_ratio=f_all / f_path, path_flops=f_path, all_over_ref=t_all / t_ref)
                cur['scaling'].append(row); print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
        # one training epoch on the embedded Rotated MNIST (16,000 images), same recipe for both, in a fresh process per width
        # (so the inference measured above leaves nothing behind that one model pays for; see `epochs_of`)
        for p in ([4] if args.quick else [4, 8]):
            ts = fresh(['--epochs_of', str(p), '--train_reps', str(args.train_reps), '--device', args.device, '--threads', str(args.threads)]
                       + ['--cpu_time'] * args.cpu_time + ['--system_malloc'] * args.system_malloc, args.threads)
            row = dict(width=p, **{f'{m}_epoch_s': statistics.median(v) for m, v in ts.items()})
            row['goe_over_ref'] = statistics.median(a / b for a, b in zip(ts['goe_oracle'], ts['ref_sqb']))   # each GoE epoch against the Ref SqB epoch right after it
            cur['training'].append(row); print(row, flush=True)
        runs.append(cur)
    print('--- peak memory of routed inference at batch 1,024 (fresh processes)', flush=True)
    res['memory'] = []
    for p in widths:
        mem = {m: peak_memory(m, p, args.device, args.threads) for m in ('ref_sqb', 'goe_oracle')}
        res['memory'].append(dict(width=p, ref_sqb_mb=mem['ref_sqb'] / 2**20, goe_oracle_mb=mem['goe_oracle'] / 2**20, goe_over_ref=mem['goe_oracle'] / mem['ref_sqb']))
        print(res['memory'][-1], flush=True)
    for sec in ('inference', 'scaling', 'training'):    # per row: the median over runs, and the range of each ratio
        for rows in zip(*[r[sec] for r in runs]):
            agg = {k: (statistics.median(r[k] for r in rows) if isinstance(v, float) else v) for k, v in rows[0].items()}
            agg.update({f'{k}_{f.__name__}': f(r[k] for r in rows) for k in rows[0] if k.endswith(RATIO) for f in (min, max)})
            res[sec].append(agg)
    res['runs'] = runs
    stem = Path(args.out) if args.out else root/'bench'/f"results_{'cuda' if dev.type == 'cuda' else 'cpu'}"
    stem.with_suffix('.json').write_text(json.dumps(res, indent=1))
    md = [f"Device: {res['device']}, torch {res['torch']}{', freed memory reused (`reuse_freed_memory`)' if reused else ''}. Median of {args.reps} rounds after warm-up, one process; in each round every variant runs in turn, timed right after an untimed call of its own. The whole measurement ran {args.runs} times: times and ratios are medians over them, ratios with their range.", '',
          '| width | batch | Ref SqB ms | GoE Oracle ms | GoE Latent ms | all experts ms | GoE / Ref | all experts / GoE | Latent / Oracle |',
          '|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    md += [f"| {r['width']} | {r['batch']} | {r['ref_sqb_ms']:.3f} | {r['goe_oracle_ms']:.3f} | {r['goe_latent_ms']:.3f} | {r['all_experts_ms']:.3f} | "
           f"{ratio(r, 'goe_over_ref')} | {ratio(r, 'all_over_goe')} | {ratio(r, 'latent_over_oracle')} |" for r in res['inference']]
    # the last column is the saving the nodes' measured times allow: every node on the whole batch against the path run densely
    md += ['', '| depth | experts | path FLOPs | Ref (one path, dense) ms | GoE ms | all experts ms | GoE / Ref | all / GoE (time) | all / one path (FLOPs) | all / one path (time) |',
           '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    md += [f"| {r['depth']} | {r['n_experts']} | {r['path_flops']:,} | {r['ref_ms']:.2f} | {r['goe_ms']:.2f} | {r['all_experts_ms']:.2f} | {ratio(r, 'goe_over_ref')} | "
           f"{ratio(r, 'all_over_goe')} | {r['flops_ratio']:.2f} | {ratio(r, 'all_over_ref')} |" for r in res['scaling']]
    md += ['', f"One training epoch on the embedded Rotated MNIST (16,000 images in 250 steps of batch 64, as a run trains them: `goe.train.fit`, fastai `Learner`, no evaluation): in a fresh process per width, after one untimed epoch of each, GoE Oracle and Ref SqB alternate, {args.train_reps} epochs each; the ratio is the median over the pairs of epochs run one after the other.", '',
           '| width | GoE epoch s | Ref epoch s | GoE / Ref |', '|---:|---:|---:|---:|']
    md += [f"| {r['width']} | {r['goe_oracle_epoch_s']:.2f} | {r['ref_sqb_epoch_s']:.2f} | {ratio(r, 'goe_over_ref')} |" for r in res['training']]
    if res['memory']:
        md += ['', f"Peak memory of one routed inference call at batch 1,024 above what was live before it (a fresh process each; "
               f"{'`torch.cuda.max_memory_allocated`' if dev.type == 'cuda' else 'the torch profiler’s memory timeline: every allocation and free of torch’s CPU allocator'}):", '',
               '| width | Ref SqB MiB | GoE Oracle MiB | GoE / Ref |', '|---:|---:|---:|---:|']
        md += [f"| {r['width']} | {r['ref_sqb_mb']:.1f} | {r['goe_oracle_mb']:.1f} | {r['goe_over_ref']:.2f} |" for r in res['memory']]
    stem.with_suffix('.md').write_text('\n'.join(md) + '\n')
    try:
        import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.2))
        d = [r['depth'] for r in res['scaling']]
        ax.plot(d, [r['goe_ms'] for r in res['scaling']], 'o-', label='GoE (routed)')
        ax.plot(d, [r['all_experts_ms'] for r in res['scaling']], 's-', label='all experts (masked)')
        ax.plot(d, [r['ref_ms'] for r in res['scaling']], '^--', label='one path, dense (Ref SqB)')
        ax.set_xlabel('tree depth (layers)'); ax.set_ylabel(f'ms per batch of {B}'); ax.set_yscale('log'); ax.legend(); ax.set_title(res['device'], fontsize=8)
        fig.tight_layout(); fig.savefig(args.plot or root/'imgs'/f"scaling_{'cuda' if dev.type == 'cuda' else 'cpu'}.png", dpi=90, metadata={'Software': None})
    except Exception as e: print('no plot:', e)
    print('\n'.join(md))

if __name__ == '__main__': main()
