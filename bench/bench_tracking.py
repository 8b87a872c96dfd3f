"""What a tracker costs a run: the time spent inside its callback and its writes, as a share of the model's training time.

One model of the main job (GoE Oracle, width 4, Rotated MNIST's embedded digits, 15 epochs, 2 threads) trains once per tracker;
the tracker's callback (`TrackCallback`) and its `finish_model` are timed from inside, so the share does not depend on the
machine's noise between two runs (timing two whole runs on 2 shared cores varies by about 15%).

    python bench/bench_tracking.py [--epochs 15] [--threads 2]
"""
import argparse, tempfile, time, functools
from pathlib import Path
import torch
from goe.core import seed_everything
from goe.config import RunConfig, validate, config_dict
from goe.task import get_task
from goe.data import load_data
from goe.models import build_model
from goe.train import make_dls, fit, TrackCallback
from goe.track import open_tracker

p = argparse.ArgumentParser(); p.add_argument('--epochs', type=int, default=15); p.add_argument('--threads', type=int, default=2)
a = p.parse_args(); torch.set_num_threads(a.threads)
task = get_task('rotated_mnist'); train_ds, test_ds, _ = load_data(task, 'embedded')
spent = {}
def timed(f, key):
    @functools.wraps(f)
    def g(*args, **kw):
        t = time.perf_counter()
        try: return f(*args, **kw)
        finally: spent[key] = spent.get(key, 0.) + time.perf_counter() - t
    return g
for m in ('after_batch', 'after_epoch'): setattr(TrackCallback, m, timed(getattr(TrackCallback, m), 'tracker'))
out = Path(tempfile.mkdtemp())
print(f"GoE Oracle, width 4, {a.epochs} epochs, {a.threads} threads: time inside the tracker / training time")
for name in ('tensorboard', 'mlflow'):
    cfg = validate(RunConfig(task='rotated_mnist', experiment_name=name, tracker=name, out_dir=str(out), num_epochs=a.epochs))
    spent.clear(); seed_everything(0)
    t_open = time.perf_counter()
    with open_tracker(name, config_dict(cfg), 0, out/name/'run_0') as tr:
        spent['open'] = time.perf_counter() - t_open
        model, dls = build_model(task, 'oracle', 4), make_dls(train_ds, test_ds, 64)
        t0 = time.perf_counter(); fit(model, dls, a.epochs, cbs=[tr.callback('oracle_w4')], log=None); total = time.perf_counter() - t0
        rec = dict(test=dict(accuracy=0.5, accuracy_per_group=[0.5] * 4), train=dict(epochs=a.epochs), routing=dict(routing_accuracy=1.))
        t1 = time.perf_counter(); tr.finish_model('oracle_w4', rec); spent['finish'] = time.perf_counter() - t1
    share = (spent['tracker'] + spent['finish']) / total
    print(f"{name:12s} training {total:6.1f}s   inside the tracker {spent['tracker']:5.2f}s + finish {spent['finish']:4.2f}s = {100 * share:4.2f}%   (opening it: {spent['open']:.2f}s, once per run)")
