#!/usr/bin/env python
"""Where inference time goes in the Rotated-MNIST CNN (CPU): the bench's explanation, measured.
    python bench/profile_goe.py                  # writes bench/profile_cpu.md (0-6) and bench/profile_routing_cpu.md (7-9)
    python bench/profile_goe.py --only routing   # 7-9 only
0. Ref SqB's forward at batch 1,024 with glibc's default malloc against `reuse_freed_memory` (each in a fresh process,
   alternating), with the page faults per call. Everything below runs with freed memory reused, as the benchmark does.
1. torch.profiler over Ref SqB at p = 16, batch 1,024, with PyTorch's max-pool and with `FastMaxPool2d`: share of CPU time per
   operator (FLOPs count only convs and linears).
2. The second layer (conv 16 -> 32 on 14x14, pool, ReLU) on the whole batch vs on two halves, as grouped dispatch runs it.
3. The whole Ref SqB forward with PyTorch's `nn.MaxPool2d` against `FastMaxPool2d` (the same values), side by side.
4. The pooling kernels alone at batch 1,024: max-pool of the p = 8 stem's output (PyTorch, the four strided views of the first
   `FastMaxPool2d`, `FastMaxPool2d` now) and the Latent router's 2x2 average pool of the input (PyTorch, `FastAvgPool2d`).
5. A training epoch of Ref SqB and GoE Oracle (p = 4, embedded Rotated MNIST) with fastai's per-item `DataLoader` against
   `BatchDL` (one indexing call per batch; the same batches), alternating, 3 epochs each (median).
6. Training: the second layer of the p = 4 and p = 8 networks, forward and backward on a batch of 64 (the training batch),
   as one call and split into 2 and 4 calls (what a layer of 2 or 4 experts costs): the fixed cost of a call.
7. The routing schedule at batch 64 (p = 4 GoE Oracle, inference mode): the whole forward against the same experts run on the
   same sorted chunks with the schedule (router, checks, sort, runs) computed beforehand; the same outputs.
8. The Latent router at batch 1,024 (the shipped `checkpoints/rotated_mnist/goe_latent_p4.pt`): the whole router, its time per
   encoder module, and the encoder with its ReLUs (and residual adds) fused into oneDNN convolutions
   (`torch.ops.mkldnn._convolution_pointwise`: the same bits) or in channels-last layout (other bits).
9. The same router with its linear tail folded: the conv to the code, the projection and the squared distances to the leaf
   centroids are affine in the encoder's output (up to each row's own constant, which cannot change its nearest leaf), so the
   leaf scores are one matrix product. Its time against the router's and the p = 4 GoE Oracle's on the same images, and how
   many of the embedded training and test images it sends down another path (it rounds differently).
"""
import statistics, time, platform, warnings, subprocess, sys, json
from pathlib import Path
import torch
from torch.profiler import profile
warnings.filterwarnings('ignore')
from goe.graph import Routed, ref_sqb, mnist_cnn, FastMaxPool2d
from goe.router import FixedRouter
from goe.core import reuse_freed_memory
from goe.vqvae import FastAvgPool2d

_ALLOC = """
import json, resource, statistics, sys, time, torch
from goe.core import reuse_freed_memory
from goe.graph import ref_sqb, mnist_cnn
reuse, p, B, threads = sys.argv[1] == '1', int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if reuse: assert reuse_freed_memory()
torch.set_num_threads(threads); torch.manual_seed(0)
m, x = ref_sqb(mnist_cnn(p)).eval(), torch.rand(B, 1, 28, 28)
path = torch.zeros(B, 3, dtype=torch.long)
with torch.inference_mode():
    for _ in range(5): m(x, path)
    ts, f0 = [], resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20): t0 = time.perf_counter(); m(x, path); ts.append(time.perf_counter() - t0)
print(json.dumps(dict(ms=statistics.median(ts) * 1e3, faults=(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 20)))
"""

def allocation_rows(threads, B, widths=(4, 8, 16), rounds=2):
    "Ref SqB forward ms and page faults per call, default malloc vs reused memory: fresh processes, alternating, median over rounds."
    rows = []
    for p in widths:
        r = {m: [] for m in '01'}
        for _ in range(rounds):
            for m in '01':
                out = subprocess.run([sys.executable, '-c', _ALLOC, m, str(p), str(B), str(threads)], capture_output=True, text=True, check=True)
                r[m].append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {m: (statistics.median(d['ms'] for d in v), statistics.median(d['faults'] for d in v)) for m, v in r.items()}
        rows.append(f"| {p} | {med['0'][0]:.1f} | {med['0'][1]:,.0f} | {med['1'][0]:.1f} | {med['1'][1]:,.0f} | {med['1'][0] / med['0'][0]:.2f}x |")
    return rows

def median_ms(f, reps=20, warmup=3):
    for _ in range(warmup): f()
    ts = []
    for _ in range(reps): t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3

def alternating(fs:dict, rounds=15, n=20, warmup=20):
    "Median ms per call of each function in `fs`, timed in alternating rounds of `n` calls (drifts of a shared machine hit all)."
    for f in fs.values():
        for _ in range(warmup): f()
    ts = {k: [] for k in fs}
    for _ in range(rounds):
        for k, f in fs.items():
            t0 = time.perf_counter()
            for _ in range(n): f()
            ts[k].append((time.perf_counter() - t0) / n * 1e3)
    return {k: statistics.median(v) for k, v in ts.items()}

def schedule_rows():
    "GoE Oracle p = 4 forward at batch 64 (no gradient): whole, against its experts on chunks sorted by a schedule made beforehand."
    from goe.experiment import build_model
    from goe.mnist import rotated_mnist
    from goe.graph import _runs_of_keys
    torch.manual_seed(0)
    m = build_model(rotated_mnist, 'goe_oracle', 4).eval(); g = m.graph
    x, grp = torch.rand(64, 1, 28, 28), torch.randint(0, 4, (64,))
    key = m.router(x, grp).numpy() @ g._radix; order = torch.argsort(torch.from_numpy(key))   # the schedule, as the forward pass makes it
    runs, inv = _runs_of_keys(key[order.numpy()], g._radix, g.n_experts), torch.argsort(order)
    whole = lambda: m(x, grp)
    chunks = lambda: g._forward_runs(x.index_select(0, order), runs)[inv]
    with torch.inference_mode():             # as the benchmark times inference
        assert torch.equal(whole(), chunks())
        t = alternating(dict(whole=whole, chunks=chunks))
    return ['', 'Grouped dispatch at batch 64 (p = 4 GoE Oracle forward, inference mode), ms: the whole forward against its experts run on the same '
            'sorted chunks, with the schedule (route, checks, sort, runs) made beforehand (the same outputs):', '',
            '| whole forward | experts on prepared chunks | schedule | schedule / whole |', '|---:|---:|---:|---:|',
            f"| {t['whole']:.2f} | {t['chunks']:.2f} | {t['whole'] - t['chunks']:.2f} | {(t['whole'] - t['chunks']) / t['whole']:.0%} |"]

def shipped_latent(B=1024):
    "The shipped p = 4 GoE Latent, the embedded train/test datasets, and `B` test digits of all groups (spread over the leaves) with their groups."
    from goe.experiment import load_model
    from goe.mnist import rotated_mnist_datasets
    m = load_model(Path(__file__).resolve().parent.parent/'checkpoints'/'rotated_mnist'/'goe_latent_p4.pt', 'rotated_mnist').eval()
    tr, te, _ = rotated_mnist_datasets()
    x, g, _ = te.get_batch(torch.randperm(len(te), generator=torch.Generator().manual_seed(0))[:B])
    return m, tr, te, x, g

def latent_router_rows(m, x):
    "Section 8: the Latent router of `m` on the batch `x`: per encoder module, and fused / channels-last encoders."
    import copy
    B = len(x)
    r, e = m.router, m.router.encoder
    pool, c1, relu, c2, stack = e; res = list(stack)[:-1]; pq = r.pre_quant             # the encoder: pool, conv, ReLU, conv, residual layers + ReLU
    assert isinstance(list(stack)[-1], torch.nn.ReLU), 'expects the router VQ-VAE of goe.experiment.LATENT_VQ'
    op = torch.ops.mkldnn._convolution_pointwise
    conv = lambda h, c, post: op(h, c.weight, c.bias, c.padding, c.stride, c.dilation, 1, post, [], '')
    def fused(h):          # the encoder's order of operations, each ReLU and residual add fused into the convolution before it
        h = conv(conv(h, c1, 'relu'), c2, 'none' if res else 'relu')
        for i, layer in enumerate(res):
            rc1, rc2 = layer.block[1], layer.block[3]
            t = conv(h.relu(), rc1, 'relu')
            h = op(t, h, rc2.weight, None, rc2.padding, rc2.stride, rc2.dilation, 1, 'add', None, 'relu' if i == len(res) - 1 else 'none', [], '')
        return conv(h, pq, 'none')
    plain = torch.nn.Sequential(c1, relu, c2, stack, pq)
    cl = copy.deepcopy(plain).to(memory_format=torch.channels_last)
    mods = [pool, c1, relu, c2, stack, pq]
    with torch.inference_mode():             # as the benchmark times inference
        ins = [x]
        for mod in mods[:-1]: ins.append(mod(ins[-1]))                # each module's input
        h0 = ins[1]
        assert torch.equal(plain(h0), fused(h0))
        cl_diff = (plain(h0) - cl(h0.contiguous(memory_format=torch.channels_last))).abs().max().item()
        t = alternating(dict(router=lambda: r(x), **{str(i): (lambda mod=mod, h=h: mod(h)) for i, (mod, h) in enumerate(zip(mods, ins))},
                             plain=lambda: plain(h0), fused=lambda: fused(h0), channels_last=lambda: cl(h0.contiguous(memory_format=torch.channels_last))), rounds=9)
    ch = lambda c: f'{c.in_channels} -> {c.out_channels}'
    names = [f'encoder: {pool.kernel_size}x{pool.kernel_size} average pool', f'encoder: conv 4x4 stride 2 ({ch(c1)})', 'encoder: ReLU', f'encoder: conv 3x3 ({ch(c2)})',
             f'encoder: {len(res)} residual layer(s) (ReLU, conv 3x3, ReLU, conv 1x1, add) + ReLU' if res else 'encoder: ReLU (no residual layer)', f'conv 1x1 to the code ({ch(pq)})']
    return ['', f"The Latent router at batch {B} (the shipped p = 4 GoE Latent), ms: the whole router (encoder, conv to the code, projection, nearest leaf), and its encoder module by module:", '',
            '| part | ms |', '|---|---:|', f"| whole router | {t['router']:.3f} |"] + [f"| {n} | {t[str(i)]:.3f} |" for i, n in enumerate(names)] + [
            '', 'The encoder after the pool, ms: module by module, with its ReLUs (and residual adds) fused into the oneDNN convolutions (identical outputs), '
            f'and in channels-last layout (outputs differ by up to {cl_diff:.1e}):', '',
            '| module by module | fused | channels-last |', '|---:|---:|---:|',
            f"| {t['plain']:.2f} | {t['fused']:.2f} ({t['fused'] / t['plain']:.2f}x) | {t['channels_last']:.2f} ({t['channels_last'] / t['plain']:.2f}x) |"]

def fold_tail(r):
    "Weights `[C*H*W, leaves]` and bias `[leaves]` such that `encoder(x).flatten(1) @ W + b` + a per-row constant are `r`'s squared leaf distances."
    assert r.refine and r.latent_kind == 'pre_quant', 'folds the default router (a projection of the encoder output before quantisation)'
    Wq, bq = r.pre_quant.weight.double()[:, :, 0, 0], r.pre_quant.bias.double()
    U = r.proj.double() @ r.leaf_centroids.double().t()                      # [code dim * H * W, leaves]
    U3 = U.reshape(Wq.shape[0], -1, U.shape[1])                               # [code dim, H * W, leaves]
    V = torch.einsum('ck,csl->ksl', Wq, U3).reshape(-1, U.shape[1])           # through the 1x1 conv: on the encoder's channels
    const = (bq[:, None, None] * U3).sum((0, 1)) - r.shift.double() @ U
    return (-2 * V).float(), ((r.leaf_centroids.double() ** 2).sum(1) - 2 * const).float()

def folded_router_rows(m, tr, te, x, g):
    "Section 9: the Latent router of `m` with its linear tail folded into one matrix product, against the router and GoE Oracle on `x`."
    from goe.experiment import dataset_tensors
    from goe.mnist import rotated_mnist
    from goe.router import OracleRouter
    B, r = len(x), m.router; W, b = fold_tail(r)
    oracle = Routed(OracleRouter(rotated_mnist.oracle_table()), m.graph).eval()
    folded = lambda x: r.leaf_paths[torch.addmm(b, r.encoder(x).flatten(1), W).argmin(1)]
    differ = {}
    with torch.inference_mode():
        for name, ds in (('training', tr), ('test', te)):
            xs = dataset_tensors(ds)[0]
            differ[name] = (len(xs), sum(int((r(c) != folded(c)).any(1).sum()) for c in xs.split(B)))
        t = alternating(dict(oracle=lambda: oracle(x, g), router=lambda: r(x), folded=lambda: folded(x), encoder=lambda: r.encoder(x)), rounds=9)
    return ['', f"The same router with its linear tail (conv to the code, projection, distances to the leaf centroids) folded into one matrix product "
            f"(batch {B}, ms), against the p = 4 GoE Oracle on the same images:", '',
            '| GoE Oracle | router | folded router | encoder alone | router / GoE Oracle | folded / GoE Oracle | encoder / GoE Oracle |',
            '|---:|---:|---:|---:|---:|---:|---:|',
            f"| {t['oracle']:.2f} | {t['router']:.2f} | {t['folded']:.2f} ({t['folded'] / t['router']:.2f}x) | {t['encoder']:.2f} | "
            f"{t['router'] / t['oracle']:.0%} | {t['folded'] / t['oracle']:.0%} | {t['encoder'] / t['oracle']:.0%} |", '',
            'Paths the folded router changes (it rounds differently): ' + ', '.join(f"{d} of {n:,} {k} images" for k, (n, d) in differ.items()) + '.']

def routing(threads=2, B=1024):
    "Sections 7-9, written to bench/profile_routing_cpu.md."
    torch.set_num_threads(threads); assert reuse_freed_memory()
    md = [f"CPU ({platform.machine()}), {threads} threads, torch {torch.__version__}, freed memory reused. Medians of alternating rounds."]
    m, tr, te, x, g = shipped_latent(B)
    md += schedule_rows() + latent_router_rows(m, x) + folded_router_rows(m, tr, te, x, g)
    out = Path(__file__).resolve().parent/'profile_routing_cpu.md'
    out.write_text('\n'.join(md) + '\n'); print('\n'.join(md))

def main(threads=2, p=16, B=1024):
    torch.set_num_threads(threads); torch.manual_seed(0)
    x, g = torch.rand(B, 1, 28, 28), torch.zeros(B, dtype=torch.long)
    ref = Routed(FixedRouter([0, 0, 0]), ref_sqb(mnist_cnn(p))).eval()
    md = [f"CPU ({platform.machine()}), {threads} threads, torch {torch.__version__}.", '',
          f"Ref SqB forward, batch {B}: glibc's default malloc against `reuse_freed_memory` (fresh processes, alternating, median):", '',
          '| p | default ms | page faults per call | reused ms | page faults per call | reused / default |', '|---:|---:|---:|---:|---:|---:|']
    md += allocation_rows(threads, B)
    assert reuse_freed_memory()                                # from here on, as in the benchmark
    md += ['', f"Below: freed memory reused; Ref SqB p = {p}, batch {B}.", '']
    slow = Routed(FixedRouter([0, 0, 0]), ref_sqb(mnist_cnn(p, pool=torch.nn.MaxPool2d))).eval()   # the same network with PyTorch's max-pool module
    slow.load_state_dict(ref.state_dict())
    with torch.inference_mode():
        assert torch.equal(slow(x, g), ref(x, g))
        shares = []
        for model in (slow, ref):
            for _ in range(3): model(x, g)
            with profile() as prof:
                for _ in range(10): model(x, g)
            ev = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
            total = sum(e.self_cpu_time_total for e in ev)
            shares.append([(e.key, e.self_cpu_time_total / total) for e in ev[:4]])
        md += ['| with `nn.MaxPool2d`: operator | share of CPU time | with `FastMaxPool2d`: operator | share of CPU time |', '|---|---:|---|---:|']
        md += [f'| `{a}` | {sa:.0%} | `{b}` | {sb:.0%} |' for (a, sa), (b, sb) in zip(*shares)]
        layer, h = ref.graph.layers[1][0], ref.graph.layers[0][0](x)
        whole, halves = median_ms(lambda: layer(h)), median_ms(lambda: (layer(h[:B // 2]), layer(h[B // 2:])))
        md += ['', f'Layer 2 on the whole batch: {whole:.1f} ms; on two halves, one after the other: {halves:.1f} ms ({halves / whole:.2f}x).']
        t_slow, t_fast = median_ms(lambda: slow(x, g)), median_ms(lambda: ref(x, g))
        md += ['', f'Ref SqB forward with `nn.MaxPool2d`: {t_slow:.1f} ms; with `FastMaxPool2d`: {t_fast:.1f} ms ({t_fast / t_slow:.2f}x), identical outputs.']
        h8, img = torch.randn(B, 8, 28, 28), torch.rand(B, 1, 28, 28)
        four = lambda x: torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]), torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))
        fmax, favg = FastMaxPool2d(2), FastAvgPool2d(2)
        assert torch.equal(four(h8), fmax(h8)) and torch.equal(favg(img), torch.nn.functional.avg_pool2d(img, 2))
        tm = [median_ms(f, reps=50) for f in (lambda: torch.nn.functional.max_pool2d(h8, 2), lambda: four(h8), lambda: fmax(h8))]
        ta = [median_ms(f, reps=50) for f in (lambda: torch.nn.functional.avg_pool2d(img, 2), lambda: favg(img))]
        md += ['', f'Pooling alone, batch {B}, ms (identical outputs):', '', '| pool | PyTorch | four strided views | `Fast...Pool2d` |', '|---|---:|---:|---:|',
               f'| max, 8 x 28 x 28 | {tm[0]:.2f} | {tm[1]:.2f} | {tm[2]:.2f} ({tm[2] / tm[1]:.2f}x the four views) |',
               f'| average, 1 x 28 x 28 | {ta[0]:.2f} | | {ta[1]:.2f} ({ta[1] / ta[0]:.2f}x PyTorch) |']
    md += ['', 'Training, second layer (conv, pool, ReLU), forward + backward on a batch of 64, ms:', '',
           '| p | one call | 2 calls of 32 | 4 calls of 16 |', '|---:|---:|---:|---:|']
    for pw in (4, 8):
        layer = mnist_cnn(pw)[1]()
        h = torch.randn(64, pw, 14, 14, requires_grad=True)
        def fb(n): torch.cat([layer(c) for c in h.split(64 // n)]).sum().backward()
        t = [median_ms(lambda: fb(n), reps=100, warmup=10) for n in (1, 2, 4)]
        md.append(f'| {pw} | {t[0]:.2f} | {t[1]:.2f} ({t[1] / t[0]:.2f}x) | {t[2]:.2f} ({t[2] / t[0]:.2f}x) |')
    from fastai.data.load import DataLoader
    from fastai.data.core import DataLoaders
    from goe.experiment import build_model, make_dls, train_model
    from goe.mnist import rotated_mnist, rotated_mnist_datasets
    data = rotated_mnist_datasets()
    per_item = lambda tr, te, bs: DataLoaders(DataLoader(tr, bs=bs, shuffle=True, drop_last=True), DataLoader(te, bs=4 * bs))
    ts = {}
    for _ in range(3):
        for m in ('ref_sqb', 'goe_oracle'):
            for name, mk in (('per-item', per_item), ('batch', make_dls)):
                torch.manual_seed(0); model = build_model(rotated_mnist, m, 4); dls = mk(data[0], data[1], 64)
                t0 = time.perf_counter(); train_model(model, dls, 1); ts.setdefault((m, name), []).append(time.perf_counter() - t0)
    t = {k: statistics.median(v) for k, v in ts.items()}
    md += ['', "One training epoch (p = 4, batch 64, validation included), s: fastai's per-item `DataLoader` against `BatchDL`:", '',
           '| model | per-item | `BatchDL` | `BatchDL` / per-item |', '|---|---:|---:|---:|']
    md += [f"| {m} | {t[(m, 'per-item')]:.2f} | {t[(m, 'batch')]:.2f} | {t[(m, 'batch')] / t[(m, 'per-item')]:.2f}x |" for m in ('ref_sqb', 'goe_oracle')]
    md += [f"| GoE / Ref | {t[('goe_oracle', 'per-item')] / t[('ref_sqb', 'per-item')]:.2f} | {t[('goe_oracle', 'batch')] / t[('ref_sqb', 'batch')]:.2f} | |"]
    out = Path(__file__).resolve().parent/'profile_cpu.md'
    out.write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--only', choices=['routing'], help='run sections 7-9 only')
    if ap.parse_args().only != 'routing': main()
    routing()
