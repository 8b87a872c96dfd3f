#!/usr/bin/env python
"""Give every record of a Latent fit under records/ its `router_fit.report`, read from the fit's logged `steps`.

    python tools/migrate_records.py            # records/ (the published experiments)
    python tools/migrate_records.py DIR ...    # or these folders (searched for run_*/*.json below them)

Records written before the fit reported its choices as data name them only in sentences (`router_fit.steps`).
This writes the same choices as the fields a fit now records (`report`: fits, starts, agree, agreement, learned,
rounds; the fit's time stays `router_fit.seconds`), so pages and tools read fields instead of parsing sentences:

- `fits`: the number of seeded fits (`fit i of n: ...` lines; 1 without them);
- `starts`: the start each fit kept (`start: ...; kept X`), one per fit;
- `agree`: the share of fits that must agree on an image for the router to learn it (`N fits: at least X% of them agree
  ...`; one fit: 1.0); `agreement`: with `agree='auto'` and several fits, each share's score (`agree: ...`), else {};
- `learned`: the share of fit images the router learns (`... agree on Y% of the images ...`; one fit: 1.0);
- `rounds`: the self-labelling rounds of the router it kept (`self-labelling round r (...): C% of the leaves changed,
  K% kept` -> `dict(changed=C/100, kept=K/100)`). With `agree='auto'` each share the fit tried ran its own rounds, in
  order, except the share 0 (every image is learned: nothing to relabel); the kept share's rounds are taken.

Only `router_fit.report` is added: every other byte of a record's content stays as it was (records are
`json.dumps(indent=1, sort_keys=True)`; a file not in that form is refused rather than rewritten). Each file is written
atomically. A record that already has a report is left alone, so running it again changes nothing.
"""
from __future__ import annotations
import re, sys, json
from pathlib import Path
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from goe.core import write_json_atomic

_FIT = re.compile(r'^fit (\d+) of (\d+): (.*)$')
_START = re.compile(r'^start: .*; kept (\S+)$')
_AGREE = re.compile(r'^agree: (.*); kept (\d+)%$')
_SHARE = re.compile(r'(\d+)% of the fits: agreement ([\d.]+)')
_FITS = re.compile(r'^(\d+) fits: at least (\d+)% of them agree on ([\d.]+)% of the images')
_ROUND = re.compile(r'^self-labelling round (\d+) \([^)]*\): ([\d.]+)% of the leaves changed, (\d+)% kept$')

def _pct(s) -> float: return round(float(s) / 100, 6)

def _share(pct:str, fits:int) -> float:
    "The share `k / fits` that the log printed as `pct` percent."
    hits = [k / fits for k in range(fits + 1) if round(100 * k / fits) == int(pct)]
    if len(hits) != 1: raise ValueError(f"{pct}% is no share of {fits} fits")
    return hits[0]

def report_from_steps(steps:list) -> dict:
    "The fit's report (fits, starts, agree, agreement, learned, rounds) from the sentences it logged."
    fits, starts, groups, agreement, kept, line = 1, [], [], {}, None, None
    for s in steps:
        if m := _FIT.match(s): fits, s = int(m[2]), m[3]
        if m := _START.match(s): starts.append(m[1])
        elif m := _ROUND.match(s):
            if int(m[1]) == 0: groups.append([])
            elif not groups: raise ValueError(f"round {m[1]} logged before round 0: {s!r}")
            groups[-1].append(dict(changed=_pct(m[2]), kept=_pct(m[3])))
        elif m := _AGREE.match(s): agreement, kept = dict(_SHARE.findall(m[1])), m[2]
        elif m := _FITS.match(s): line = m
    if line: fits = int(line[1])
    if len(starts) not in (0, fits): raise ValueError(f"{len(starts)} starts logged for {fits} fits")
    agree = _share(line[2], fits) if line else 1.0
    if kept is not None and _share(kept, fits) != agree: raise ValueError(f"the agree line keeps {kept}%, the fits line {line[2]}%")
    shares = [_share(p, fits) for p in agreement]
    if len(shares) > 1:                                   # 'auto': each share but 0 ran its rounds, in order
        tried = [a for a in shares if a > 0]
        if groups and len(groups) != len(tried): raise ValueError(f"{len(groups)} sets of rounds for the shares {tried}")
        rounds = groups[tried.index(agree)] if groups and agree > 0 else []
    else:
        if len(groups) > 1: raise ValueError(f"{len(groups)} sets of rounds for one router")
        rounds = groups[0] if groups else []
    return dict(fits=fits, starts=starts, agree=agree, agreement={str(_share(p, fits)): float(v) for p, v in agreement.items()} if len(shares) > 1 else {},
                learned=_pct(line[3]) if line else 1.0, rounds=rounds)

def migrate(path:Path) -> bool:
    "Add `router_fit.report` to the record at `path` when it has logged steps and no report; returns whether it wrote."
    text = path.read_text(); rec = json.loads(text)
    fit = rec.get('router_fit')
    if not isinstance(fit, dict) or 'report' in fit or not fit.get('steps'): return False
    if json.dumps(rec, indent=1, sort_keys=True) != text: raise ValueError(f"{path} is not in the records' JSON form: not rewritten")
    try: fit['report'] = report_from_steps(fit['steps'])
    except ValueError as e: raise ValueError(f"{path}: {e}") from None
    write_json_atomic(path, rec)
    return True

def main(folders):
    files = sorted(p for d in folders for p in Path(d).glob('**/run_*/*.json'))
    if not files: sys.exit(f"no records (run_*/*.json) under {', '.join(map(str, folders))}")
    try: done = [p for p in files if migrate(p)]
    except ValueError as e: sys.exit(str(e))
    print(f"{len(done)} of {len(files)} records given router_fit.report" + ('' if done else ' (the others have one, or no Latent fit)'))

if __name__ == '__main__': main(sys.argv[1:] or [root/'records'])
