#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb, executed, offline (nbdev-readme needs Quarto).

Markdown cells are copied as they are, code cells become ```python blocks followed by their text
output (a cell marked `#| echo: false` shows its output only), links to ../imgs/ become imgs/, and links to
notebooks point to their page on the docs site. `--check` exits 1 when README.md is out of step.
Cells marked `#| hide` are left out and not run here: they hold the README's own test, which runs README.md's
blocks (under nbdev-test) and so needs the README this script writes.
"""
import re, sys, json
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def _site_links(text:str) -> str:
    "`[x](02_router.ipynb)` -> the docs site's page of that notebook (nbdev's page names)."
    from nbdev.config import get_config, nbpath2html
    cfg = get_config(root); site = '/'.join(p for p in (cfg.doc_host.rstrip('/'), cfg.doc_baseurl.strip('/')) if p) + '/'
    return re.sub(r'\]\(([^)\s:#]+)\.ipynb(#[^)]*)?\)', lambda m: f"]({site}{nbpath2html(Path(m[1] + '.ipynb')).as_posix()}{m[2] or ''})", text)

def _hidden(cell) -> bool: return cell.cell_type == 'code' and cell.source.lstrip().startswith(('#| hide', '#|hide'))

def _executed(nb_path:Path) -> dict:
    "The notebook with its outputs: executed in its folder as nbdev-test runs it (outputs are not committed)."
    from fastcore.nbio import read_nb, nb2str
    from fastcore.xtras import working_directory
    from execnb.shell import CaptureShell
    nb = read_nb(nb_path)
    with working_directory(nb_path.parent): CaptureShell(nb_path).run_all(nb, exc_stop=True, preproc=_hidden)
    return json.loads(nb2str(nb))

def render(nb_path=root/'nbs'/'index.ipynb') -> str:
    nb = _executed(Path(nb_path))
    parts = []
    for c in nb['cells']:
        src = ''.join(c['source']).strip('\n')
        if c['cell_type'] == 'markdown': parts.append(src)
        elif c['cell_type'] == 'code':
            if not src or src.lstrip().startswith(('#| hide', '#|hide')): continue
            lines = [l for l in src.splitlines() if not l.startswith('#|')]
            if not re.search(r'^#\|\s*echo:\s*false', src, re.M): parts.append('```python\n' + '\n'.join(lines) + '\n```')
            out = ''.join(''.join(o.get('text', '')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')
            if out.strip(): parts.append('```\n' + out.rstrip('\n') + '\n```')
    text = _site_links('\n\n'.join(parts).replace('../imgs/', 'imgs/')) + '\n'
    return '<!-- README.md is generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook. -->\n\n' + text

if __name__ == '__main__':
    new, readme = render(), root/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != new:
            print("README.md is out of step with nbs/index.ipynb: run `python tools/make_readme.py`"); sys.exit(1)
        print("README.md is in step with nbs/index.ipynb")
    else:
        readme.write_text(new); print(f"wrote {readme}")
