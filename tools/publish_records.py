#!/usr/bin/env python
"""Copy an experiment's complete records (JSON only: no checkpoints, no notebooks) into records/<name>/ for the docs pages.
    python tools/publish_records.py experiments/demo            # -> records/demo/run_<i>/<router>_w<width>.json
    python tools/publish_records.py experiments/celeba --name celeba
The docs site's Results page reads records/ only, so every number on it comes from a record a command wrote. Records hold
numbers, never images, so records of CelebA runs may be published (the images and checkpoints trained on them may not).
The previous copy of the experiment is replaced, so a rerun never leaves stale records beside new ones.
"""
import argparse, shutil, sys
from pathlib import Path
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from goe.records import read_record, records_frame, check_one_source

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('exp_dir'); ap.add_argument('--name', default=None, help='name under records/ (default: the experiment folder name)')
    a = ap.parse_args()
    src = Path(a.exp_dir); dest = root/'records'/(a.name or src.name)
    recs = {p: r for p in sorted(src.glob('run_*/*_w*.json')) if (r := read_record(p)) is not None}
    if not recs: sys.exit(f"no complete records in {src}/run_*/")
    check_one_source(records_frame(list(recs.values())), f"the records in {src}")
    shutil.rmtree(dest, ignore_errors=True)
    for p in recs: (dest/p.parent.name).mkdir(parents=True, exist_ok=True); shutil.copyfile(p, dest/p.parent.name/p.name)
    print(f"{len(recs)} records -> {dest}")

if __name__ == '__main__': main()
