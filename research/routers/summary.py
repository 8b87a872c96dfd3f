"""Summarise an experiment's records as JSON lines: per (model, width) the test accuracy (mean, std over runs), the share of
test images routed to their group's leaf, FLOPs (router included), and the gaps in points to GoE Oracle and to Ref SqB at
equal inference FLOPs (Ref read off its curve, as `goe.results.gap_table`); for GoE Latent, each run's share of fit images and
test images its fitted router sends to their group's leaf (`router_fit` of the records).

    PYTHONPATH=. python research/routers/summary.py /tmp/routers/exp/routers_main [more experiment folders]
"""
import sys, json
from pathlib import Path
import numpy as np
from goe.records import load_records, summarize
from goe.results import gap_table

def summary_lines(exp_dir) -> list:
    df = load_records(exp_dir)
    s = summarize(df); g = gap_table(df).set_index('width') if (df.model == 'ref_sqb').any() else None
    ra = df[df.routing == 'trained'].groupby(['model', 'width']).routing_accuracy.agg(['mean', 'std', 'min'])
    out = []
    for r in s.itertuples():
        o = s[(s.model == 'goe_oracle') & (s.width == r.width)]
        line = dict(exp=Path(exp_dir).name, task=df.task.iloc[0], model=r.model, width=int(r.width), runs=int(r.runs), acc=round(r.acc_mean, 4),
                    std=None if not np.isfinite(r.acc_std) else round(r.acc_std, 4), flops=int(r.flops), router_flops=int(r.router_flops))
        if (r.model, r.width) in ra.index and np.isfinite(ra.loc[(r.model, r.width), 'mean']):
            line.update(routed=round(ra.loc[(r.model, r.width), 'mean'], 4), routed_min=round(ra.loc[(r.model, r.width), 'min'], 4))
        if len(o) and r.model != 'goe_oracle': line['minus_oracle'] = round(100 * (o.acc_mean.iloc[0] - r.acc_mean), 2)
        if g is not None and r.width in g.index and f'{r.model}_gap' in g.columns and np.isfinite(g.loc[r.width, f'{r.model}_gap']):
            line['over_ref_equal_flops'] = round(g.loc[r.width, f'{r.model}_gap'], 2)
        if r.model == 'goe_latent':                    # each run's fit: how many of its fit images and test images reach their group's leaf
            fits = [json.loads(q.read_text()).get('router_fit', {}) for q in sorted(Path(exp_dir).glob(f'run_*/latent_w{int(r.width)}.json'))]
            line.update(fit_routed_runs=[f['train']['routing_accuracy'] for f in fits if 'train' in f],
                        test_routed_runs=[f['test']['routing_accuracy'] for f in fits if 'test' in f])
        out.append(line)
    return out

if __name__ == '__main__':
    for d in sys.argv[1:]:
        for line in summary_lines(d): print(json.dumps(line))
