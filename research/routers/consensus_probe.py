"""Probe: are ids agreed on by several seeds' fits more right than one fit's? The Latent fit (`align_with_mixtures`, the
default `start='auto'`) runs on one run's fit images with several seeds; each fit's ids are matched to the first fit's
by the Hungarian method and a majority vote gives one id per image. With `--exp`, the run's fitted Latent router (its
`latent_router.pt`) gets its head and encoder retrained, as the fit trains them, on the images all fits agree on
(`head_unanimous`), and routes the test images; with `--agree`, for each share the head is retrained (as `LatentRouter.fit` does with
`fits`, `agree`: the loss weighted to the images at least that share of the fits agree on) and scored (`head_agree`). Scores against
the TRUE groups are a diagnosis.

    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/consensus_probe.py --task rotated_mnist_1v --seeds 0,1,2,3 --exp OUT/rotated_mnist_1v
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/consensus_probe.py --task rotated_faces --data DATA --jobs 1 --exp OUT/faces_probe --agree 0,0.5,0.75,1 --cache /tmp/ids
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/consensus_probe.py --task rotated_mnist_1v --run_seed 2 --jobs 1 --seeds 2,3,4,5,6,7 --exp OUT/rotated_mnist_1v --agree 0.8,1 --cache /tmp/ids
    (and --seeds 2,3,4,5 --agree 1 with --rounds 1 --mode threshold, --rounds 2 --mode sinkhorn, or --cotrain; --run_seed 0 --seeds 0,1,2,3 --cotrain)
    OMP_NUM_THREADS=1 PYTHONPATH=. python research/routers/consensus_probe.py --task rotated_mnist_1v --run_seed R --seeds R,R+1,R+2,R+3 --jobs 1 --exp OUT/rotated_mnist_1v --agree 1 --rounds 3 --mode components --cache /tmp/ids
    (for R = 0, 1, 2: the seeds of run R's four fits; `--mode components` relabels the first fit's within-class components, as the fit does)

OUT/faces_probe holds a router fitted once (`python research/routers/run_task.py --task rotated_faces --data DATA --experiment_name
faces_probe --out_dir OUT --routers latent --widths 4 --num_epochs 1 --fit '{"fits": 1}'`; the probe used the same fit made by
`goe-train` before the task's default became four fits); OUT/rotated_mnist_1v is the Results page's command.

Output `consensus_probe.jsonl`. A few minutes per seed on one thread (`--jobs 2`: two seeds at once).
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, __import__('os').path.dirname(__file__))
from diagnosis import fit_images, racc, task_data, fitted_router, leaves, head_augment
from goe.mixtures import align_with_mixtures, consensus_ids, class_features, class_mixtures
from lab import fit_head_modes as fit_head

p = argparse.ArgumentParser()
p.add_argument('--task', default='rotated_mnist_1v'); p.add_argument('--data', default='embedded'); p.add_argument('--run_seed', type=int, default=0)
p.add_argument('--seeds', default='0,1,2,3,4'); p.add_argument('--jobs', type=int, default=2); p.add_argument('--one', type=int, default=None)
p.add_argument('--cache', default=None, help='a folder outside the repo for each seed\'s ids (they derive from the images)')
p.add_argument('--agree', default='', help='shares of agreeing fits to train heads on, comma-separated (with --exp)')
p.add_argument('--rounds', type=int, default=0, help='self-labelling rounds after each --agree head (fit_head rounds)'); p.add_argument('--mode', default='threshold')
p.add_argument('--cotrain', action='store_true', help='after each --agree head, retrain on the agreed images plus those where its leaf is the vote')
p.add_argument('--head_epochs', type=int, default=20, help="the head's epochs (every line was made with 20)")
p.add_argument('--exp', default=None, help='experiment folder whose run_<run_seed>/latent_router.pt gets a head trained on the unanimous ids')
a = p.parse_args(); torch.manual_seed(a.run_seed)   # the views' noise draws from torch's global generator
x, g, y, task, info = fit_images(a.task, a.data, a.run_seed)
K = task.branching ** (task.depth - 1)
if a.one is not None:                                   # a worker: one seed's fit, its ids on stdout
    print(json.dumps(align_with_mixtures(x, y, K, seed=a.one).tolist())); sys.exit()
seeds = [int(s) for s in a.seeds.split(',')]; t0 = time.time(); ids = {}
cache = Path(a.cache)/f'consensus_{a.task}_run{a.run_seed}.npz' if a.cache else None   # each seed's ids, kept so the heads can be retried without refitting
if cache and cache.exists(): ids = {int(k[1:]): v for k, v in np.load(cache).items() if int(k[1:]) in seeds}
todo = [s for s in seeds if s not in ids]
for i in range(0, len(todo), a.jobs):
    procs = {s: subprocess.Popen([sys.executable, __file__, '--task', a.task, '--data', a.data, '--run_seed', str(a.run_seed), '--one', str(s)],
                                 stdout=subprocess.PIPE, text=True) for s in todo[i:i + a.jobs]}
    for s, pr in procs.items(): ids[s] = np.array(json.loads(pr.communicate()[0]))
if todo and cache: cache.parent.mkdir(parents=True, exist_ok=True); np.savez(cache, **{f's{k}': v for k, v in ids.items()})
vote, share = consensus_ids([ids[s] for s in seeds], K); unanimous = share == 1
out = dict(task=a.task, data=info['description'], run_seed=a.run_seed, seeds=seeds, each=[racc(ids[s], g, K) for s in seeds],
           vote=racc(vote, g, K), unanimous_share=round(float(unanimous.mean()), 4), unanimous_right=racc(vote[unanimous], g[unanimous], K))
if a.exp:
    r = fitted_router(a.exp, a.run_seed)
    xt, gt, _ = task_data(a.task, a.data)[1][1].tensors(); gt = gt.numpy()
    out['fitted_test'] = racc(leaves(r, xt), gt, K)
    fit_head(r, x[torch.as_tensor(unanimous)], vote[unanimous], head_augment(task), a.head_epochs, seed=a.run_seed)
    out.update(head_unanimous_fit=racc(leaves(r, x), g, K), head_unanimous_test=racc(leaves(r, xt), gt, K))
    if a.agree:
        if a.rounds: out.update(rounds=a.rounds, mode=a.mode, head_epochs=a.head_epochs)
        comp = None
        if a.mode == 'components':                           # the first fit's within-class components, as LatentRouter.fit builds them
            lf = task.router_settings('latent'); comp = class_mixtures(class_features(x, y, lf.n_dims, seed=seeds[0], features=lf.features),
                                                        y, lf.n_components or 2 * K, seeds[0])
        out['head_agree'] = {}
        for ag in map(float, a.agree.split(',')):
            keep = share >= ag; rr = fitted_router(a.exp, a.run_seed)
            fit_head(rr, x, vote, head_augment(task), a.head_epochs, seed=a.run_seed, weight=keep, rounds=a.rounds, mode=a.mode, classes=y, components=comp)
            out['head_agree'][ag] = dict(share=round(float(keep.mean()), 4), fit=racc(leaves(rr, x), g, K), test=racc(leaves(rr, xt), gt, K))
            if a.cotrain:                                    # again, on the agreed images plus those where this head and the vote agree
                more = keep | (leaves(rr, x) == vote)
                fit_head(rr, x, vote, head_augment(task), a.head_epochs, seed=a.run_seed, weight=more)
                out['head_agree'][ag].update(cotrain_share=round(float(more.mean()), 4), cotrain_fit=racc(leaves(rr, x), g, K), cotrain_test=racc(leaves(rr, xt), gt, K))
print(json.dumps(dict(out, seconds=round(time.time() - t0))), flush=True)
