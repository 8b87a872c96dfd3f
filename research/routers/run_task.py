"""Train and summarise one task's experiment through goe's Python API (`goe.run.run`), one process, one torch thread.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/run_task.py --task rotated_mnist --experiment_name routers_main \
        --widths 4,8 --num_runs 3 --out_dir /tmp/routers/exp [--data ../shared/data] [--num_epochs 15] [--vq_epochs 5]
        [--routers fixed,oracle,latent,learned] [--runs 0,1] [--learned '{"balance": 1.0}'] [--fit '{"head": 0}']
        [--reuse_fit OTHER_EXPERIMENT]

`--learned` overrides the learned router's settings (`goe.learned.LearnedSettings`), `--fit` the Latent router's (`goe.latent.LatentSettings`)
(a changed fit is a new router: use a new experiment name); `--reuse_fit` copies each run's fitted Latent router
(`latent_router.pt`) from another experiment of the same settings, so router variants are trained from one fit.
Prints the summary JSON lines of `research/routers/summary.py` at the end.
"""
import argparse, json, shutil, sys, dataclasses
from pathlib import Path
import torch
torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent))
import goe.run, goe.learned
from goe.config import RunConfig
from goe.task import get_task, register_task
from summary import summary_lines

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist'); p.add_argument('--data', default=None)
p.add_argument('--experiment_name', required=True); p.add_argument('--out_dir', default='/tmp/routers/exp')
p.add_argument('--widths', default='4,8'); p.add_argument('--num_runs', type=int, default=1); p.add_argument('--runs', default=None)
p.add_argument('--num_epochs', type=int, default=15); p.add_argument('--vq_epochs', type=int, default=5)
p.add_argument('--routers', default='fixed,oracle,latent,learned'); p.add_argument('--learned', default=None)
p.add_argument('--fit', default=None); p.add_argument('--reuse_fit', default=None); p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
task = a.task
settings = dict(latent=dict(json.loads(a.fit or '{}'), vq_epochs=a.vq_epochs), **(dict(learned=json.loads(a.learned)) if a.learned else {}))
runs = [int(r) for r in a.runs.split(',')] if a.runs else None
if a.reuse_fit:
    for r in (runs or range(a.num_runs)):
        src, dst = Path(a.out_dir)/a.reuse_fit/f'run_{r}'/'latent_router.pt', Path(a.out_dir)/a.experiment_name/f'run_{r}'/'latent_router.pt'
        if src.exists() and not dst.exists(): dst.parent.mkdir(parents=True, exist_ok=True); shutil.copyfile(src, dst)
cfg = RunConfig(task=task, data=a.data, experiment_name=a.experiment_name, out_dir=a.out_dir, widths=a.widths, num_runs=a.num_runs,
                num_epochs=a.num_epochs, settings=settings, routers=a.routers, seed=a.seed)
goe.run.run(cfg, runs=runs, log=lambda s: print(s, flush=True))
for line in summary_lines(Path(a.out_dir)/a.experiment_name): print(json.dumps(line), flush=True)
