"""Study: the Latent router's default fit (the library's settings, the same for every task) on tasks with different kinds
of groups, and the leave-one-task-out choice of how its ids are found.

One line per (task, seed): the fitted router's test routing (share of test images at their group's leaf, Hungarian-matched)
and ARI, the fit's seconds (VQ-VAE included), which ids `refine='auto'` kept and the `loco_agreement` of each candidate
(label-free), and how right each candidate's ids are on the fit images (against the TRUE groups: a diagnosis, never seen
by the fit).

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/label_free.py --task corrupted_mnist_1v --seed 0 >> research/routers/label_free.jsonl
    PYTHONPATH=. python research/routers/label_free.py --table research/routers/label_free.jsonl

The table's leave-one-task-out column: for each task, the rule (`style`, `mixture` or `auto`) whose ids are most right on
average over the OTHER tasks, and how right that rule's ids are on this task; so no task's groups choose its own fit.
A full-size fit takes 5-15 minutes on one thread.
"""
import sys, json, time, tempfile, argparse
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np, torch

def fit_line(task_name:str, data:str, seed:int) -> dict:
    import goe.latent as L
    from goe.task import get_task
    from goe.data import load_data
    from goe.run import fit_latent_router
    from diagnosis import racc
    task = get_task(task_name); tr, te, info = load_data(task, data)
    s = task.router_settings('latent'); x, g, y = tr.tensors()
    sub = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:s.fit_images or len(x)].sort().values
    gs, K = g[sub].numpy(), task.branching ** (task.depth - 1)
    cand, loco = {}, L.loco_agreement
    def spy(xx, yy, ids, n, *r):                     # the candidates' ids, as 'auto' scores them: style first, then the mixtures
        cand['style' if 'style' not in cand else 'mixture'] = racc(np.asarray(ids), gs, K); return loco(xx, yy, ids, n, *r)
    L.loco_agreement = spy
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        _, fi = fit_latent_router(task, tr, te, Path(d)/'run_0', seed, log=lambda l: print(f"{time.time() - t0:.0f}s {l}", file=sys.stderr, flush=True))
    L.loco_agreement = loco
    return dict(task=task_name, data=info['description'], seed=seed, threads=torch.get_num_threads(), kept=fi['report'].get('refine'),
                agreement=fi['report'].get('refine_agreement'), ids_right=cand, test_routing=fi['test']['routing_accuracy'],
                test_ari=fi['test']['ari'], train_routing=fi['train']['routing_accuracy'], fit_seconds=fi['seconds'])

def table(path) -> str:
    "The markdown table of a study file: per task, mean ± std (and range) over seeds, and the leave-one-task-out rule."
    from goe.core import markdown_table
    rows = [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]
    tasks = list(dict.fromkeys(r['task'] for r in rows))
    right = lambda r, rule: r['ids_right'].get(r['kept'] if rule == 'auto' else rule, np.nan)
    mean = {(t, rule): np.mean([right(r, rule) for r in rows if r['task'] == t]) for t in tasks for rule in ('style', 'mixture', 'auto')}
    pick = {t: max(('style', 'mixture', 'auto'), key=lambda rule: np.mean([mean[(u, rule)] for u in tasks if u != t])) for t in tasks}
    def fmt(v): return f"{np.mean(v):.1%}" + (f" ± {np.std(v, ddof=1):.1%} ({min(v):.1%}-{max(v):.1%})" if len(v) > 1 else '')
    out = []
    for t in tasks:
        rs = [r for r in rows if r['task'] == t]
        out.append([t, len(rs), fmt([right(r, 'style') for r in rs]), fmt([right(r, 'mixture') for r in rs]),
                    ', '.join(f"{k} ({sum(r['kept'] == k for r in rs)})" for k in ('style', 'mixture') if any(r['kept'] == k for r in rs)),
                    f"{pick[t]}: {mean[(t, pick[t])]:.1%}", fmt([r['test_routing'] for r in rs]), f"{np.mean([r['test_ari'] for r in rs]):.3f}",
                    f"{np.mean([r['fit_seconds'] for r in rs]):.0f}"])
    return markdown_table(['task', 'seeds', 'style ids right', 'mixture ids right', "'auto' kept", 'leave-one-task-out rule: ids right',
                           "test images at their group's leaf ('auto')", 'ARI', 'fit (s; one thread, 2 cores shared by 3-4 fits)'], out)

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--task'); p.add_argument('--data', default='embedded'); p.add_argument('--seed', type=int, default=0); p.add_argument('--table')
    a = p.parse_args()
    if a.table: print(table(a.table))
    else: print(json.dumps(fit_line(a.task, a.data, a.seed)), flush=True)
