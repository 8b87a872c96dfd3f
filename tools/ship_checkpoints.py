#!/usr/bin/env python
"""Ship the pretrained Rotated-MNIST checkpoints: copy the checkpoints of one run of an experiment into
`checkpoints/rotated_mnist/` with a `manifest.json` of the accuracy each reaches (release tooling, not part of the library).
    python tools/ship_checkpoints.py experiments/full_mnist checkpoints/rotated_mnist --run 0 --widths 4
    python tools/checkpoints_readme.py                 # then the folder's README, from the manifest
`nbs/04_mnist.ipynb` tests both functions and checks that every shipped file reproduces its manifest.
"""
import argparse, shutil
from pathlib import Path
from goe.core import GoeError, write_json_atomic
from goe.models import load_model

def checkpoint_accuracy(path, folder=None) -> float:
    "Test accuracy of checkpoint `path` on Rotated MNIST (`folder`: full MNIST; default the embedded digits)."
    from goe.mnist import rotated_mnist_data
    from goe.data import ROTATION_GROUPS
    from goe.train import evaluate, BatchDL
    _, test_ds, _ = rotated_mnist_data(folder)
    return evaluate(load_model(path), BatchDL(test_ds, bs=1024), len(ROTATION_GROUPS))['accuracy']

def ship_checkpoints(exp_dir, dest, run:int=0, widths=(4,)) -> dict:
    "Copy the trained checkpoints of `run` of an experiment at `widths` to `dest`, with a `manifest.json` of their accuracies."
    from goe.records import run_dir, read_record
    rd, dest = run_dir(exp_dir, run), Path(dest)
    manifest = {}
    for rec_path in sorted(rd.glob('*_w*.json')):
        rec, ck = read_record(rec_path), rec_path.with_suffix('.pt')
        if rec is None or not ck.exists() or rec['width'] not in widths: continue
        dest.mkdir(parents=True, exist_ok=True); shutil.copyfile(ck, dest/ck.name)
        manifest[ck.name] = dict(router=rec['router'], width=rec['width'], seed=rec['seed'], epochs=rec['train']['epochs'], data=rec['data']['description'],
                                 accuracy_test=rec['test']['accuracy'], accuracy_embedded=checkpoint_accuracy(dest/ck.name), flops=rec['flops'], params=rec['params'])
    if not manifest: raise GoeError(f"no complete checkpoints at widths {widths} in {rd}: train first with goe-train-mnist --data <folder with mnist/>")
    write_json_atomic(dest/'manifest.json', manifest)
    return manifest

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('exp_dir', help="the experiment's folder (e.g. experiments/full_mnist)")
    p.add_argument('dest', help='where the checkpoints and manifest.json go (e.g. checkpoints/rotated_mnist)')
    p.add_argument('--run', type=int, default=0, help='which run of the experiment')
    p.add_argument('--widths', default='4', help='comma-separated widths to ship')
    a = p.parse_args()
    m = ship_checkpoints(a.exp_dir, a.dest, a.run, tuple(int(w) for w in a.widths.split(',')))
    print(f"{a.dest}: {len(m)} checkpoints ({', '.join(m)})")
