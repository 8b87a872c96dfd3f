#!/usr/bin/env python
"""GoE against Ref SqB of the same width over a grid of batch sizes, widths, modes and input orders, timed with torch's own
benchmark tools (`torch.utils.benchmark.Timer.blocked_autorange`, `Compare` tables), side by side in one process.

    python bench/bench_grid.py                                   # CPU, 2 threads -> bench/grid_cpu.{json,md}
    python bench/bench_grid.py --device cuda --compile on        # GPU, models wrapped in torch.compile -> bench/grid_cuda_compile.{json,md}
    python bench/bench_grid.py --batches 1,8 --widths 2 --repeats 1 --min_run_time 0.01 --out /tmp/g.json --md /tmp/g.md   # a smoke test

Every model is built through the public API: `Routed(OracleRouter(tree_paths(3)), tree_of_experts(cnn_stages(p)))` (GoE Oracle,
group g takes leaf g) against `Routed(FixedRouter([0, 0, 0]), ref_sqb(cnn_stages(p)))` (Ref SqB), on random 28x28 inputs whose
groups are interleaved (0, 1, 2, 3, 0, ...) or sorted by leaf. Modes: `inference` (a call under `torch.no_grad`) and `train` (one
step: forward, cross-entropy, backward, `torch.optim.Adam(fused=True)` step inside `keep_unused`, as goe's training steps).
Per cell, GoE and Ref SqB are timed one right after the other (which goes first alternates between repeats); the ratio is
GoE's median over Ref SqB's. Besides: GoE Latent / GoE Oracle (width 4, inference, interleaved) with the Latent router's FLOP
share, and routed GoE at tree depth 6 against depth 2 at a fixed path cost (`bench_goe.tree_stages`, width 8). The whole grid runs
`--repeats` times; each ratio is reported as its median over the repeats and their range. On CUDA, `Timer` synchronises the device
around each block; inference cells are also timed with `torch.cuda.Event`s.
"""
import argparse, json, math, os, platform, statistics, sys, tempfile, time, warnings
from pathlib import Path
import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer, Compare
warnings.filterwarnings('ignore', category=FutureWarning)
warnings.filterwarnings('ignore', message='.*No CUDA runtime.*')
from goe.core import reuse_freed_memory
from goe.graph import Routed, tree_of_experts, ref_sqb
from goe.models import cnn_stages
from goe.router import OracleRouter, FixedRouter, tree_paths

root = Path(__file__).resolve().parent.parent
MODES, ORDERS = ('inference', 'train'), ('interleaved', 'sorted')
DEPTHS = (2, 6)

class Parser(argparse.ArgumentParser):
    "Errors in one line: what was wrong with which flag."
    def error(self, message): self.exit(2, f"{self.prog}: error: {message}\n")

def ints(s):
    try: v = [int(t) for t in s.split(',') if t.strip()]
    except ValueError: v = None
    if not v or any(i < 1 for i in v): raise argparse.ArgumentTypeError(f"comma-separated positive integers expected, got {s!r}")
    return list(dict.fromkeys(v))

def count(s):
    try: v = int(s)
    except ValueError: v = 0
    if v < 1: raise argparse.ArgumentTypeError(f"a positive integer expected, got {s!r}")
    return v

def words(allowed):
    def parse(s):
        v = [t.strip() for t in s.split(',') if t.strip()]
        if not v or any(t not in allowed for t in v): raise argparse.ArgumentTypeError(f"a comma-separated list of {' and '.join(allowed)} expected, got {s!r}")
        return v
    return parse

def positive(s):
    try: v = float(s)
    except ValueError: v = -1
    if not v > 0 or not math.isfinite(v): raise argparse.ArgumentTypeError(f"a positive number of seconds expected, got {s!r}")
    return v

def parse_args(argv=None):
    ap = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    ap.add_argument('--threads', type=count, default=2, help='torch threads, stated in every measurement (default 2)')
    ap.add_argument('--batches', type=ints, default=[1, 8, 64, 256, 1024])
    ap.add_argument('--widths', type=ints, default=[2, 4, 8, 16])
    ap.add_argument('--modes', type=words(MODES), default=list(MODES))
    ap.add_argument('--orders', type=words(ORDERS), default=list(ORDERS))
    ap.add_argument('--repeats', type=count, default=3, help='whole grids, one after another (median and range of each ratio)')
    ap.add_argument('--min_run_time', type=positive, default=1.0, help='seconds of timing per model and cell (blocked_autorange)')
    ap.add_argument('--compile', nargs='?', const='on', default='off', choices=('on', 'off'), help='wrap every model in torch.compile')
    ap.add_argument('--latent_width', type=count, default=4, help='width of GoE Latent / GoE Oracle')
    ap.add_argument('--depth_width', type=count, default=8, help='width of the depth-6 / depth-2 trees')
    ap.add_argument('--no_latent', action='store_true', help='skip GoE Latent / GoE Oracle')
    ap.add_argument('--no_depth', action='store_true', help='skip depth 6 / depth 2')
    ap.add_argument('--reuse_freed_memory', action='store_true', help="call goe.core.reuse_freed_memory() first (glibc keeps freed memory); off: as a user's process runs")
    ap.add_argument('--out', default=None, help='JSON path (default bench/grid_<device>[_compile].json)')
    ap.add_argument('--md', default=None, help='markdown path (default: the JSON path with .md)')
    a = ap.parse_args(argv)
    if a.device == 'cuda' and not torch.cuda.is_available(): ap.error("--device cuda: torch sees no CUDA device here")
    stem = f"grid_{a.device}{'_compile' if a.compile == 'on' else ''}"
    a.out = Path(a.out) if a.out else root/'bench'/f'{stem}.json'
    a.md = Path(a.md) if a.md else a.out.with_suffix('.md')
    for p in (a.out, a.md):
        d = p.parent if str(p.parent) else Path('.')
        if not d.is_dir(): ap.error(f"output folder {d} does not exist: create it or pick another path for {p.name}")
        if not os.access(d, os.W_OK): ap.error(f"output folder {d} is not writable: pick another path for {p.name}")
    return a

def write_atomic(path:Path, text:str):
    "Write `text` to `path` through a temporary file in the same folder and `os.replace`: a reader never sees half a file."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f: f.write(text); f.flush(); os.fsync(f.fileno())
        os.chmod(tmp, 0o644); os.replace(tmp, path)
    finally:
        if os.path.exists(tmp): os.unlink(tmp)

def groups_for(B, n_leaves, order, dev):
    "Group ids 0..n_leaves-1 for a batch of B: interleaved (0, 1, 2, ...) or sorted by leaf (the same ids, in order)."
    g = torch.arange(B) % n_leaves
    return (g.sort().values if order == 'sorted' else g).to(dev)

class Bench:
    "Models built once (their compiled code is kept across repeats), the inputs of each cell, and the timing."
    def __init__(self, a, dev):
        self.a, self.dev, self.models = a, dev, {}
        gen = torch.Generator().manual_seed(0)
        self.x = torch.rand(max(a.batches), 1, 28, 28, generator=gen).to(dev)
        self.y = torch.randint(10, (max(a.batches),), generator=gen).to(dev)

    def wrap(self, m): return torch.compile(m) if self.a.compile == 'on' else m

    def model(self, key, make):
        "The model `key` (built by `make` on first use, with its optimizer): (callable model, Routed, optimizer)."
        if key not in self.models:
            torch.manual_seed(0); m = make().to(self.dev)
            opt = torch.optim.Adam(m.graph.parameters(), lr=1e-3, fused=True) if 'train' in key else None
            m.train('train' in key)
            self.models[key] = (self.wrap(m), m, opt)
            if self.a.compile == 'on' and 'train' not in key:     # the compiled model computes what the model computes
                x, n = self.x[:8], m.graph.paths[:, -1].max().item() + 1
                g = torch.arange(len(x), device=self.dev) % n
                with torch.no_grad(): torch.testing.assert_close(self.models[key][0](x, g), m(x, g), rtol=1e-4, atol=1e-5)
        return self.models[key]

    def goe(self, p, mode): return self.model(('goe', p, mode), lambda: Routed(OracleRouter(tree_paths(3)), tree_of_experts(cnn_stages(p))))
    def ref(self, p, mode): return self.model(('ref', p, mode), lambda: Routed(FixedRouter([0, 0, 0]), ref_sqb(cnn_stages(p))))
    def deep(self, depth, p, mode):
        def make():
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_goe import tree_stages                 # the depth test's network: a path costs the same at every depth
            return Routed(OracleRouter(tree_paths(depth)), tree_of_experts(tree_stages(p, depth)))
        return self.model(('deep', depth, p, mode), make)
    def latent(self, p):
        def make():
            from goe.latent import LatentRouter
            from goe.mnist import rotated_mnist
            goe = self.goe(p, 'inference')[1]
            r = LatentRouter.for_task(rotated_mnist).to(self.dev)
            spread_leaves(r, self.x); r.is_fitted.fill_(True)
            return Routed(r, goe.graph)                       # the same graph (weights) as GoE Oracle
        return self.model(('latent', p, 'inference'), make)

    def fn(self, entry, B, meta, mode):
        "What one timed call runs: a no-grad forward, or one training step."
        m, routed, opt = entry; x, y = self.x[:B], self.y[:B]
        if mode == 'inference':
            def f():
                with torch.no_grad(): return m(x, meta)
            return f
        def f():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x, meta), y).backward()
            with routed.graph.keep_unused(opt): opt.step()
        return f

    def time(self, f, label, sub_label, description):
        "One `Measurement` (warm-up calls first: torch.compile compiles then)."
        for _ in range(3 if self.a.compile == 'on' else 1): f()
        t = Timer('f()', globals={'f': f}, label=label, sub_label=sub_label, description=description,
                  env='compile' if self.a.compile == 'on' else 'eager', num_threads=self.a.threads)
        return t.blocked_autorange(min_run_time=self.a.min_run_time)

    def events_ms(self, f, t_s, reps=5):
        "CUDA only: ms per call between two `torch.cuda.Event`s around n back-to-back calls (n from the Timer's median), median of `reps`."
        n = max(1, min(200, int(0.05 / max(t_s, 1e-6))))
        out = []
        for _ in range(reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(); s.record()
            for _ in range(n): f()
            e.record(); torch.cuda.synchronize(); out.append(s.elapsed_time(e) / n)
        return statistics.median(out)

    def pair(self, fs, names, label, sub_label, flip, events=False):
        "Time two callables one right after the other (`flip`: the second first); medians in ms, and their Measurements."
        order = [1, 0] if flip else [0, 1]
        ms = [None, None]
        for i in order: ms[i] = self.time(fs[i], label, sub_label, names[i])
        row = {f'{n}_ms': m.median * 1e3 for n, m in zip(('a', 'b'), ms)}
        if events:
            for n, f, m in zip(('a', 'b'), fs, ms): row[f'{n}_event_ms'] = self.events_ms(f, m.median)
        return row, ms

def spread_leaves(r, x):
    """Timing only: give the unfitted Latent router values that send random inputs to several leaves (the leaf centroids, or the
    head's standardisation, from the inputs themselves): a router that sent every input to one leaf would run one dense path."""
    with torch.no_grad():
        if r.head_units:
            f = r.latent(x); r.shift.copy_(f.mean(0)); r.scale.copy_(f.std(0, correction=0) + 1e-6)
            torch.manual_seed(0)
            for l in r.head:
                if isinstance(l, torch.nn.Linear): torch.nn.init.normal_(l.weight); l.bias.zero_()
        else:
            if r.refine: r.proj.normal_(generator=None); r.shift.copy_(r.latent(x).mean(0))
            n = len(r.leaf_centroids); r.is_fitted.fill_(True)
            r.leaf_centroids.copy_(r.features(x[:n]) if len(x) >= n else torch.randn_like(r.leaf_centroids))

def cells_of(a):
    "Every cell of one repeat, in the order timed: (kind, mode, order, width or depth width, batch)."
    cells = [('grid', mode, order, p, B) for mode in a.modes for p in a.widths for order in a.orders for B in a.batches]
    if not a.no_latent: cells += [('latent', 'inference', 'interleaved', a.latent_width, B) for B in a.batches]
    if not a.no_depth: cells += [('depth', mode, order, a.depth_width, B) for mode in a.modes for order in a.orders for B in a.batches]
    return cells

def run_cell(bench, cell, flip):
    kind, mode, order, p, B = cell
    dev, cuda = bench.dev, bench.dev.type == 'cuda'
    sub = f'p={p} B={B}'
    if kind == 'grid':
        g = groups_for(B, 4, order, dev)
        goe, ref = bench.goe(p, mode), bench.ref(p, mode)
        row, ms = bench.pair([bench.fn(goe, B, g, mode), bench.fn(ref, B, g, mode)], ['GoE Oracle', 'Ref SqB'],
                             f'{mode}, {order}', sub, flip, events=cuda and mode == 'inference')
        row = dict(goe_ms=row['a_ms'], ref_ms=row['b_ms'], ratio=row['a_ms'] / row['b_ms'],
                   **({'goe_event_ms': row['a_event_ms'], 'ref_event_ms': row['b_event_ms'], 'event_ratio': row['a_event_ms'] / row['b_event_ms']} if 'a_event_ms' in row else {}))
    elif kind == 'latent':
        g = groups_for(B, 4, order, dev)
        lat, orc = bench.latent(p), bench.goe(p, mode)
        row, ms = bench.pair([bench.fn(lat, B, g, mode), bench.fn(orc, B, g, mode)], ['GoE Latent', 'GoE Oracle'], 'Latent / Oracle, inference', sub, flip)
        with torch.no_grad(): leaves = lat[1].router(bench.x[:B], g)[:, -1]
        row = dict(latent_ms=row['a_ms'], oracle_ms=row['b_ms'], ratio=row['a_ms'] / row['b_ms'], latent_leaves=int(leaves.unique().numel()))
    else:
        n2, n6 = (2 ** (d - 1) for d in DEPTHS)
        d2, d6 = bench.deep(DEPTHS[0], p, mode), bench.deep(DEPTHS[1], p, mode)
        row, ms = bench.pair([bench.fn(d6, B, groups_for(B, n6, order, dev), mode), bench.fn(d2, B, groups_for(B, n2, order, dev), mode)],
                             [f'GoE depth {DEPTHS[1]}', f'GoE depth {DEPTHS[0]}'], f'depth, {mode}, {order}', sub, flip)
        row = dict(depth6_ms=row['a_ms'], depth2_ms=row['b_ms'], ratio=row['a_ms'] / row['b_ms'])
    return dict(kind=kind, mode=mode, order=order, width=p, batch=B, **row), ms

def latent_flop_share(bench, p):
    "The Latent router's FLOPs over one path's (per sample): GoE Latent / GoE Oracle may cost at most 1 + this + 0.1 in time."
    m = bench.latent(p)[1]
    with torch.no_grad(): f = m.inference_flops(bench.x[:8], groups_for(8, 4, 'interleaved', bench.dev))
    return f['router'] / f['path']

KEYS = ('kind', 'mode', 'order', 'width', 'batch')
def aggregate(runs):
    "Per cell over the repeats: times and ratios as medians, each ratio with its range and every repeat's value."
    out = []
    for rows in zip(*runs):
        assert len({tuple(r[k] for k in KEYS) for r in rows}) == 1
        agg = {k: rows[0][k] for k in KEYS}
        for k, v in rows[0].items():
            if k in KEYS: continue
            vs = [r[k] for r in rows]
            agg[k] = statistics.median(vs) if isinstance(v, float) else v
            if k.endswith('ratio'): agg.update({f'{k}_min': min(vs), f'{k}_max': max(vs), f'{k}_runs': vs})
        out.append(agg)
    return out

def rng(r, k='ratio'):
    return f"{r[k]:.2f}" + (f" ({r[k + '_min']:.2f}-{r[k + '_max']:.2f})" if r[k + '_min'] != r[k + '_max'] else '')

def markdown(res):
    a, rows = res['settings'], res['cells']
    md = [f"Device: {res['device']}, torch {res['torch']}, {a['threads']} threads, torch.compile {a['compile']}"
          f"{', freed memory reused' if a['reuse_freed_memory'] else ''}. `torch.utils.benchmark.Timer.blocked_autorange(min_run_time={a['min_run_time']})` per model and cell, "
          f"GoE and its baseline one right after the other in one process; {res['repeats_done']} whole grid(s): each ratio is the median over them and its range "
          f"(min-max); times (ms) are medians.", '']
    bs = a['batches']
    for mode in a['modes']:
        for order in a['orders']:
            g = {(r['width'], r['batch']): r for r in rows if r['kind'] == 'grid' and r['mode'] == mode and r['order'] == order}
            if not g: continue
            md += [f"GoE / Ref SqB, {mode}, inputs {order}:", '', '| width | ' + ' | '.join(f'batch {b:,}' for b in bs) + ' |', '|---:|' + '---:|' * len(bs)]
            md += [f"| {p} | " + ' | '.join(rng(g[p, b]) if (p, b) in g else '' for b in bs) + ' |' for p in a['widths']]
            md += ['', f"Ref SqB ms / GoE ms, {mode}, inputs {order}:", '', '| width | ' + ' | '.join(f'batch {b:,}' for b in bs) + ' |', '|---:|' + '---:|' * len(bs)]
            md += [f"| {p} | " + ' | '.join(f"{g[p, b]['ref_ms']:.3g} / {g[p, b]['goe_ms']:.3g}" if (p, b) in g else '' for b in bs) + ' |' for p in a['widths']]
            ev = [r for r in g.values() if 'event_ratio' in r]
            if ev:
                md += ['', "The same cells timed with `torch.cuda.Event`s (GoE / Ref SqB):", '', '| width | ' + ' | '.join(f'batch {b:,}' for b in bs) + ' |', '|---:|' + '---:|' * len(bs)]
                md += [f"| {p} | " + ' | '.join(rng(g[p, b], 'event_ratio') if (p, b) in g else '' for b in bs) + ' |' for p in a['widths']]
            md.append('')
    lat = [r for r in rows if r['kind'] == 'latent']
    if lat:
        s = res.get('latent_flop_share')
        md += [f"GoE Latent / GoE Oracle, width {a['latent_width']}, inference, inputs interleaved" + (f" (the Latent router's FLOPs: {s:.1%} of a path's)" if s is not None else '') + ':', '',
               '| batch | Oracle ms | Latent ms | Latent / Oracle | leaves the Latent router used |', '|---:|---:|---:|---:|---:|']
        md += [f"| {r['batch']:,} | {r['oracle_ms']:.3g} | {r['latent_ms']:.3g} | {rng(r)} | {r['latent_leaves']} |" for r in lat]
        md.append('')
    dep = [r for r in rows if r['kind'] == 'depth']
    if dep:
        md += [f"Routed GoE at depth {DEPTHS[1]} / depth {DEPTHS[0]}, the same path cost (`bench_goe.tree_stages`, width {a['depth_width']}), groups over all leaves:", '',
               '| mode | inputs | batch | depth 2 ms | depth 6 ms | depth 6 / depth 2 |', '|---|---|---:|---:|---:|---:|']
        md += [f"| {r['mode']} | {r['order']} | {r['batch']:,} | {r['depth2_ms']:.3g} | {r['depth6_ms']:.3g} | {rng(r)} |" for r in dep]
    return '\n'.join(md).rstrip() + '\n'

def main(argv=None):
    a = parse_args(argv)
    reused = reuse_freed_memory() if a.reuse_freed_memory else False
    torch.set_num_threads(a.threads)
    if a.compile == 'on':
        import torch._dynamo.config as dc
        dc.recompile_limit = dc.cache_size_limit = 64; dc.accumulated_recompile_limit = dc.accumulated_cache_size_limit = 4096
    dev = torch.device(a.device)
    bench = Bench(a, dev)
    cells = cells_of(a)
    res = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({platform.processor() or platform.machine()})',
               torch=torch.__version__, argv=sys.argv[1:] if argv is None else list(argv),
               settings=dict(threads=a.threads, batches=a.batches, widths=a.widths, modes=a.modes, orders=a.orders, repeats=a.repeats,
                             min_run_time=a.min_run_time, compile=a.compile, latent_width=None if a.no_latent else a.latent_width,
                             depth_width=None if a.no_depth else a.depth_width, depths=list(DEPTHS), reuse_freed_memory=reused,
                             timer='torch.utils.benchmark.Timer.blocked_autorange', optimizer='torch.optim.Adam(lr=1e-3, fused=True)'),
               complete=False, repeats_done=0, cells=[], runs=[])
    print(f"{len(cells)} cells x {a.repeats} repeats on {res['device']}, {a.threads} threads, torch.compile {a.compile}, min_run_time {a.min_run_time}s -> {a.out}", flush=True)
    t0 = time.perf_counter()
    for rep in range(a.repeats):
        rows, measurements = [], []
        for i, cell in enumerate(cells):
            row, ms = run_cell(bench, cell, flip=rep % 2 == 1)
            rows.append(row); measurements += ms
            kind, mode, order, p, B = cell
            names = dict(grid=('GoE', 'Ref', 'goe_ms', 'ref_ms'), latent=('Latent', 'Oracle', 'latent_ms', 'oracle_ms'), depth=('depth 6', 'depth 2', 'depth6_ms', 'depth2_ms'))[kind]
            done = rep * len(cells) + i + 1
            el = time.perf_counter() - t0
            print(f"[repeat {rep + 1}/{a.repeats}, cell {i + 1}/{len(cells)}, {el:.0f}s, ~{el / done * (a.repeats * len(cells) - done):.0f}s left] "
                  f"{kind} {mode} {order} p={p} B={B}: {names[0]} {row[names[2]]:.3g} ms, {names[1]} {row[names[3]]:.3g} ms, ratio {row['ratio']:.2f}", flush=True)
        Compare(measurements).print()
        res['runs'].append(rows); res['repeats_done'] = rep + 1
        res['cells'] = aggregate(res['runs'])
        if rep == 0 and not a.no_latent: res['latent_flop_share'] = latent_flop_share(bench, a.latent_width)
        write_atomic(a.out, json.dumps(res, indent=1))                  # after every repeat: a cut-off run keeps what it measured
    res['complete'] = True; res['seconds'] = time.perf_counter() - t0
    write_atomic(a.out, json.dumps(res, indent=1))
    md = markdown(res); write_atomic(a.md, md)
    print(md, flush=True)
    print(f"wrote {a.out} and {a.md} in {res['seconds']:.0f}s", flush=True)

if __name__ == '__main__': main()
