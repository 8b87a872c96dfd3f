#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb, offline (nbdev-readme needs Quarto).

Markdown cells are copied as they are, code cells become ```python blocks followed by their text
output, and links to ../imgs/ become imgs/. `--check` exits 1 when README.md is out of step.
"""
import sys, json
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def render(nb_path=root/'nbs'/'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = []
    for c in nb['cells']:
        src = ''.join(c['source']).strip('\n')
        if c['cell_type'] == 'markdown': parts.append(src)
        elif c['cell_type'] == 'code':
            if not src or src.lstrip().startswith(('#| hide', '#|hide')): continue
            lines = [l for l in src.splitlines() if not l.startswith('#|')]
            parts.append('```python\n' + '\n'.join(lines) + '\n```')
            out = ''.join(''.join(o.get('text', '')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')
            if out.strip(): parts.append('```\n' + out.rstrip('\n') + '\n```')
    text = '\n\n'.join(parts).replace('../imgs/', 'imgs/') + '\n'
    return '<!-- README.md is generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook. -->\n\n' + text

if __name__ == '__main__':
    new, readme = render(), root/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != new:
            print("README.md is out of step with nbs/index.ipynb: run `python tools/make_readme.py`"); sys.exit(1)
        print("README.md is in step with nbs/index.ipynb")
    else:
        readme.write_text(new); print(f"wrote {readme}")
