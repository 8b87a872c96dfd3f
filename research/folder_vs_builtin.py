"""Rotated MNIST read from a folder of PNGs (`goe-train --data FOLDER`) against the built-in task (`goe-train-mnist`), on the same images.

    OMP_NUM_THREADS=1 python research/folder_vs_builtin.py --out /tmp/folder_vs_builtin [--runs 3 --widths 4,8 --epochs 15]
        [--routers fixed,oracle,latent --settings builtin,folder_same_split,folder_source_split]

`--builtin EXP_DIR` reads the built-in task's records from an experiment `goe-train-mnist` already made (same epochs and
seeds) instead of training them again. Rerun with other --routers (same --out, --epochs) to add them: each command resumes its experiment and trains only what
is missing. research/folder_vs_builtin.jsonl holds the output of
`--settings builtin,folder_source_split --builtin experiments/demo --routers fixed,oracle --widths 4,8 --runs 3` (the built-in
side read from the main job's records, made by `goe-train-mnist --experiment_name demo --num_runs 3`; the folder side about
13 minutes on one thread of a shared 2-core machine).

The 5,000 embedded MNIST digits, in their four Rotated-MNIST groups (20,000 images), are written out as 28x28 PNGs with a
labels.csv (file, label = the digit, group, source = the source digit), twice:

- `folder_same_split`: goe's own train/test split of the source digits as a `split` column, in the built-in task's order;
  the folder task then holds the same tensors, network and Oracle, so its runs should repeat the built-in ones exactly;
- `folder_source_split`: no `split` column, so the folder task draws its own split by source digit (20% of them in test,
  seed 0): other test digits, so its accuracies should agree with the built-in ones within the run-to-run spread.

Each setting is trained with its command's flags (every router, random routing on, the commands' defaults otherwise) in a
subprocess of this checkout's code, one after the other: `parse_config` of the command line, then `run`, which is what
the command's run executes with `--direct`, in one process with one torch thread (the command's local executor would give
each run all cores, which on a shared machine is slower). Prints one JSON line per setting, model and width: the mean
and std of the test accuracy over runs and the per-run accuracies, then one line per folder setting with the largest
difference of its mean from the built-in mean.
"""
import os, sys, json, time, argparse, subprocess
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GROUPS = ['g0_inverted', 'g1_rot90', 'g2_rot180', 'g3_rot270']   # alphabetical = the built-in group order


def write_folders(out:Path) -> dict:
    "The two folders (written once; the second hard-links the first's images)."
    from goe.mnist import load_mnist
    from goe.data import rotated_versions
    from goe.folder import save_image_folder
    same, src = out/'data'/'folder_same_split', out/'data'/'folder_source_split'
    if not (same/'labels.csv').exists():
        s = load_mnist(None)
        tr, te = rotated_versions(s['x_train'], s['y_train']), rotated_versions(s['x_test'], s['y_test'])
        n_tr, n_te = len(s['x_train']), len(s['x_test'])
        sources = [f'train{i}' for i in np.tile(np.arange(n_tr), 4)] + [f'test{i}' for i in np.tile(np.arange(n_te), 4)]
        save_image_folder(same, tr, te, GROUPS, [str(c) for c in range(10)], sources)
    if not (src/'labels.csv').exists():
        df = pd.read_csv(same/'labels.csv', dtype=str)
        (src/'img').mkdir(parents=True, exist_ok=True)
        for f in df.file:
            if not (src/f).exists(): os.link(same/f, src/f)
        df.drop(columns='split').to_csv(src/'labels.csv', index=False)
    return {'folder_same_split': same, 'folder_source_split': src}


def train(setting:str, out:Path, folder, a) -> float:
    "Train the setting as its command would; returns the wall-clock seconds."
    task = "'rotated_mnist'" if folder is None else 'None'
    args = ['--experiment_name', setting, '--routers', a.routers, '--out_dir', str(out/'experiments'), '--num_runs', str(a.runs), '--widths', a.widths,
            '--num_epochs', str(a.epochs), '--direct'] + ([] if folder is None else ['--data', str(folder)])
    t0 = time.time()
    code = f"import sys; from goe.config import parse_config; from goe.run import run; run(parse_config(sys.argv[1:], task={task}))"
    with open(out/f'{setting}.log', 'a') as log:
        res = subprocess.run([sys.executable, '-c', code, *args], env=dict(os.environ, PYTHONPATH=str(ROOT), GOE_DATA='', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1'),
                             stdout=log, stderr=subprocess.PIPE, text=True)
    if res.returncode: sys.exit(f"{setting} failed: {res.stderr[-2000:]}")
    return time.time() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='/tmp/folder_vs_builtin'); p.add_argument('--runs', type=int, default=3)
    p.add_argument('--widths', default='4,8'); p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--routers', default='fixed,oracle,latent'); p.add_argument('--settings', default='builtin,folder_same_split,folder_source_split')
    p.add_argument('--builtin', default=None, help="read the built-in task's records from this experiment folder (made by goe-train-mnist with the same --num_epochs and seeds) instead of training them")
    a = p.parse_args(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    from goe.records import load_records
    settings = {k: v for k, v in {'builtin': None, **write_folders(out)}.items() if k in a.settings.split(',')}
    means = {}
    for setting, folder in settings.items():
        if setting == 'builtin' and a.builtin:
            secs, df = 0, load_records(a.builtin)
            df = df[df.router.isin(a.routers.split(',')) & df.width.isin([int(w) for w in a.widths.split(',')]) & (df.run < a.runs)]
        else: secs, df = train(setting, out, folder, a), load_records(out/'experiments'/setting)
        for (model, width), g in df.groupby(['model', 'width'], sort=False):
            acc = g.sort_values('run').accuracy.to_numpy()
            means[setting, model, width] = acc.mean()
            print(json.dumps(dict(setting=setting, model=model, width=int(width), runs=len(acc), mean=round(float(acc.mean()), 4),
                                  std=round(float(acc.std(ddof=1)), 4) if len(acc) > 1 else None, accuracies=[round(float(v), 4) for v in acc],
                                  data=g.data.iloc[0], seconds=round(secs))), flush=True)
    for setting in settings:
        if setting == 'builtin' or 'builtin' not in settings: continue
        d = {f'{m} w{w}': round(float(v - means['builtin', m, w]), 4) for (s, m, w), v in means.items() if s == setting and ('builtin', m, w) in means}
        print(json.dumps(dict(setting=setting, vs='builtin', mean_difference=d, largest=max(d.values(), key=abs))), flush=True)


if __name__ == '__main__': main()
