#!/usr/bin/env python
"""Where inference time goes in the Rotated-MNIST CNN (CPU): the bench's explanation, measured.
    python bench/profile_goe.py      # writes bench/profile_cpu.md
1. torch.profiler over Ref SqB at p = 16, batch 1,024, with PyTorch's max-pool and with `FastMaxPool2d`: share of CPU time per
   operator (FLOPs count only convs and linears).
2. The second layer (conv 16 -> 32 on 14x14, pool, ReLU) on the whole batch vs on two halves, as grouped dispatch runs it.
3. The whole Ref SqB forward with PyTorch's `nn.MaxPool2d` against `FastMaxPool2d` (the same values), side by side.
4. Training: the second layer of the p = 4 and p = 8 networks, forward and backward on a batch of 64 (the training batch),
   as one call and split into 2 and 4 calls (what a layer of 2 or 4 experts costs): the fixed cost of a call.
"""
import statistics, time, platform, warnings
from pathlib import Path
import torch
from torch.profiler import profile
warnings.filterwarnings('ignore')
from goe.graph import Routed, ref_sqb, mnist_cnn, FastMaxPool2d
from goe.router import FixedRouter

def median_ms(f, reps=20, warmup=3):
    for _ in range(warmup): f()
    ts = []
    for _ in range(reps): t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3

def main(threads=2, p=16, B=1024):
    torch.set_num_threads(threads); torch.manual_seed(0)
    x, g = torch.rand(B, 1, 28, 28), torch.zeros(B, dtype=torch.long)
    ref = Routed(FixedRouter([0, 0, 0]), ref_sqb(mnist_cnn(p))).eval()
    md = [f"CPU ({platform.machine()}), {threads} threads, torch {torch.__version__}; Ref SqB p = {p}, batch {B}.", '']
    slow = Routed(FixedRouter([0, 0, 0]), ref_sqb(mnist_cnn(p))).eval(); slow.load_state_dict(ref.state_dict())
    for seq in slow.graph.modules():                          # the same network with PyTorch's max-pool module
        if isinstance(seq, torch.nn.Sequential):
            for i, m in enumerate(seq):
                if isinstance(m, FastMaxPool2d): seq[i] = torch.nn.MaxPool2d(2)
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
    md += ['', 'Training, second layer (conv, pool, ReLU), forward + backward on a batch of 64, ms:', '',
           '| p | one call | 2 calls of 32 | 4 calls of 16 |', '|---:|---:|---:|---:|']
    for pw in (4, 8):
        layer = mnist_cnn(pw)[1]()
        h = torch.randn(64, pw, 14, 14, requires_grad=True)
        def fb(n): torch.cat([layer(c) for c in h.split(64 // n)]).sum().backward()
        t = [median_ms(lambda: fb(n), reps=100, warmup=10) for n in (1, 2, 4)]
        md.append(f'| {pw} | {t[0]:.2f} | {t[1]:.2f} ({t[1] / t[0]:.2f}x) | {t[2]:.2f} ({t[2] / t[0]:.2f}x) |')
    out = Path(__file__).resolve().parent/'profile_cpu.md'
    out.write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__': main()
