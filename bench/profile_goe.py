#!/usr/bin/env python
"""Where inference time goes in the Rotated-MNIST CNN (CPU): the bench's explanation, measured.
    python bench/profile_goe.py      # writes bench/profile_cpu.md
1. torch.profiler over Ref SqB at p = 16, batch 1,024: share of CPU time per operator (FLOPs count only convs and linears).
2. The second layer (conv 16 -> 32 on 14x14, pool, ReLU) on the whole batch vs on two halves, as grouped dispatch runs it.
"""
import statistics, time, platform, warnings
from pathlib import Path
import torch
from torch.profiler import profile
warnings.filterwarnings('ignore')
from goe.graph import Routed, ref_sqb, mnist_cnn
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
    with torch.inference_mode():
        for _ in range(3): ref(x, g)
        with profile() as prof:
            for _ in range(10): ref(x, g)
        ev = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in ev)
        md += ['| operator | share of CPU time |', '|---|---:|'] + [f'| `{e.key}` | {e.self_cpu_time_total / total:.0%} |' for e in ev[:5]]
        layer, h = ref.graph.layers[1][0], ref.graph.layers[0][0](x)
        whole, halves = median_ms(lambda: layer(h)), median_ms(lambda: (layer(h[:B // 2]), layer(h[B // 2:])))
        md += ['', f'Layer 2 on the whole batch: {whole:.1f} ms; on two halves, one after the other: {halves:.1f} ms ({halves / whole:.2f}x).']
    out = Path(__file__).resolve().parent/'profile_cpu.md'
    out.write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__': main()
