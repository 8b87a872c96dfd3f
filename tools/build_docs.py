#!/usr/bin/env python
"""Build the docs site into `_docs/` offline, from the notebooks: `tools/docs.sh` runs this.

1. Every notebook that nbdev finds in `nbs/` (the ones `nbdev-test` runs) is executed, two at a time, in the
   notebooks' folder as `nbdev-test` does, skipping the same cells (`tst_flags`, `eval: false`). Before it
   runs, nbdev's `add_show_docs` adds a `show_doc` cell after each exported definition, so the API docs are
   computed with the rest of the notebook.
2. The executed notebook goes through nbdev's own doc processors (the ones `nbdev-docs` uses: hidden and
   exported cells removed, `show_doc` input hidden, directives stripped, symbols linked), and the Quarto
   cell options they leave are turned into MyST-NB cell tags. Pages get nbdev's names (`02_router.ipynb`
   -> `router.html`), so nbdev's symbol links (`router.html#router`) work inside the site.
3. Sphinx + MyST-NB (furo theme, configuration in `tools/sphinx/conf.py`) renders the staged notebooks,
   with a navigation tree of every chapter in file order and a search page, into `_docs/`.

`--flags realdata` also runs the cells marked with those test flags (as `nbdev-test --flags` does) and keeps their
outputs off the pages, so one execution can serve as the notebooks' tests and the site (`tools/test.sh` uses it that
way; `--results FILE` writes each notebook's outcome as JSON).

It also runs nbdev's own preprocessing for `nbdev-docs` (`proc_nbs`, into `_proc/`: everything but Quarto),
so a change that would break `nbdev-docs` for Quarto users fails here. Staging goes to `build/docs/`.
Nothing is downloaded. Exits 1 (naming the notebook and cell) when a
notebook fails to execute or Sphinx reports a problem.
"""
from __future__ import annotations
import os, re, sys, json, time, shutil, argparse, subprocess, traceback
from pathlib import Path
import multiprocessing as mp

root = Path(__file__).resolve().parent.parent
_PROCS_SKIPPED = {'FrontmatterProc', 'add_show_docs', 'exec_show_docs', 'insert_warning'}
_QUARTO_OPT = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')


def notebooks():
    "The notebooks nbdev sees (nbdev-test and nbdev-docs use the same glob), index first, then in file order."
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    nbs = get_config(root).nbs_path
    files = sorted(Path(f) for f in nbglob(nbs, as_path=True))
    return nbs, sorted(files, key=lambda f: (f.relative_to(nbs).parent.parts, f.stem != 'index', f.name))


def page_name(nb_path:Path, nbs:Path) -> Path:
    "Staged path (no suffix) of a notebook: nbdev's html name, e.g. `02_router.ipynb` -> `router`."
    from nbdev.config import nbpath2html
    return nbpath2html(nb_path.relative_to(nbs)).with_suffix('')


def page_title(nb_path:Path) -> str:
    "A page's title, as nbdev and the sidebar take it: the notebook's first `# ` heading."
    from fastcore.nbio import read_nb
    for c in read_nb(nb_path).cells:
        if c.cell_type == 'markdown' and (m := re.search(r'^# (.+?)\s*$', c.source, re.M)): return m[1]
    return nb_path.stem


def check_titles(files) -> dict:
    "Title -> notebook of every page; exits naming the notebooks when two pages share a title (the sidebar would list them alike)."
    seen = {}
    for f in files: seen.setdefault(page_title(f), []).append(f.name)
    dup = {t: fs for t, fs in seen.items() if len(fs) > 1}
    if dup: sys.exit('pages with the same title (rename one; the sidebar lists them alike): ' + '; '.join(f"{t!r}: {', '.join(fs)}" for t, fs in dup.items()))
    return {t: fs[0] for t, fs in seen.items()}


def _runs(cell, flags:set, dflt:bool) -> bool:
    "Does `nbdev-test` run this cell? (same rule: code, `eval` not false, no skipped flag)."
    from fastcore.nbio import does_cell_eval
    return cell.cell_type == 'code' and does_cell_eval(cell, dflt) and not (flags & cell.directives.keys())


def _tags_from_quarto(cell):
    "Turn the Quarto options the processors leave (`#| echo: false` ...) into MyST-NB tags; drop the lines."
    if cell.cell_type != 'code': return
    lines, opts = cell.source.splitlines(), {}
    while lines and _QUARTO_OPT.match(lines[0]):
        k, v = _QUARTO_OPT.match(lines.pop(0)).groups()
        opts[k] = v.strip('"\'').lower()
    cell.source = '\n'.join(lines)
    tags = set(cell.metadata.get('tags', []))
    if opts.get('include') == 'false': tags.add('remove-cell')
    if opts.get('echo') == 'false' or not cell.source.strip(): tags.add('remove-input')
    elif opts.get('code-fold') == 'true': tags.add('hide-input')   # folded: the reader opens the code if they want it
    if opts.get('output') == 'false': tags.add('remove-output')
    if tags: cell.metadata['tags'] = sorted(tags)


_IMG = re.compile(r'(!\[[^\]]*\]\()([^)\s]+)(\s*(?:"[^"]*")?\))|(<img\s[^>]*?src=")([^"]+)(")')

def _stage_images(cell, nb_dir:Path, page:Path, src_dir:Path, assets:list):
    "Relative images in markdown (`../imgs/x.png`) are copied into the staging tree and re-pointed there."
    if cell.cell_type != 'markdown': return
    def _fix(m):
        pre, target, post = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6))
        if re.match(r'^([a-z][a-z0-9+.-]*:|/|#)', target, re.I): return m.group(0)
        f = (nb_dir/target).resolve()
        try: rel = f.relative_to(root)
        except ValueError: return m.group(0)
        if not f.is_file(): raise FileNotFoundError(f"image {target} (from {page}) does not exist: {f}")
        assets.append(str(rel))
        return pre + os.path.relpath(src_dir/rel, (src_dir/page).parent).replace(os.sep, '/') + post
    cell.source = _IMG.sub(_fix, cell.source)


_NB_LINK = re.compile(r'(\]\()([^)\s#]+\.ipynb)(#[^)\s]*)?(\))')

def _link_pages(cell, nb_dir:Path, page:Path, nbs:Path):
    "Links to notebooks (`[graph](03_graph.ipynb)`) point to their pages (`graph.html`), as Quarto does."
    if cell.cell_type != 'markdown': return
    def _fix(m):
        target = m.group(2)
        if re.match(r'^([a-z][a-z0-9+.-]*:|/)', target, re.I): return m.group(0)
        f = (nb_dir/target).resolve()
        try: other = page_name(f, nbs)
        except ValueError: return m.group(0)
        href = os.path.relpath(Path(str(other) + '.html'), page.parent).replace(os.sep, '/')
        return m.group(1) + href + (m.group(3) or '') + m.group(4)
    cell.source = _NB_LINK.sub(_fix, cell.source)


_SD_HEAD = re.compile(r'^(#+) (\S+)[ \t]*$', re.M)

def _anchor_show_doc(cell):
    "Mark a `show_doc` cell (tag `show-doc`) and give its heading the id nbdev links to (`router.html#router.flops`)."
    cell.metadata['tags'] = sorted(set(cell.metadata.get('tags', [])) | {'show-doc'})
    for o in cell.get('outputs', []):
        md = o.get('data', {}).get('text/markdown')
        if md is None: continue
        md = ''.join(md) if isinstance(md, list) else md
        md = re.sub(r'^\s*---\s*\n', '', md)   # the rule above each entry comes from CSS (a rule inside an output is invalid)
        o['data']['text/markdown'] = _SD_HEAD.sub(_nbdev_id, md, count=1)


def _nbdev_id(m):
    "nbdev's anchor for `### Name` is `name` lowercased; Sphinx makes `make_id(name)`: add nbdev's where they differ."
    from docutils.nodes import make_id
    nid = m.group(2).lower()
    return m.group(0) if make_id(nid) == nid else f'<span id="{nid}"></span>\n\n{m.group(0)}'


def stage(nb_path:str, src_dir:str, force:tuple=()) -> dict:
    "Execute one notebook and write its processed copy for Sphinx; returns timing and images used, or the error."
    t0 = time.time()
    print(f"Starting {nb_path}", flush=True)
    try: res = _stage(Path(nb_path).resolve(), Path(src_dir).resolve(), set(force))
    except Exception as e: res = dict(nb=str(nb_path), error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    res['secs'] = time.time() - t0
    print(f"- {'FAILED' if 'error' in res else 'Completed'} {nb_path} ({res['secs']:.0f}s)", flush=True)
    return res


def _stage(nb_path:Path, src_dir:Path, force:set=frozenset()) -> dict:
    import inspect
    from fastcore.nbio import read_nb, write_nb, nb_frontmatter, fm_default_eval, dict2nb, nb2str
    from fastcore.xtras import working_directory
    from execnb.shell import CaptureShell
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.processors import add_show_docs, FilterDefaults
    cfg = get_config(root)
    nbs = cfg.nbs_path
    page = page_name(nb_path, nbs)
    os.environ['IN_TEST'] = '1'   # as under nbdev-test: notebooks may skip interactive-only work
    if str(root) not in sys.path: sys.path.insert(0, str(root))

    # 1. add the show_doc cells, then run the notebook as nbdev-test does
    nb = read_nb(nb_path)
    NBProcessor(nb=nb, procs=[add_show_docs], rm_directives=False).process()
    tst_flags = set(str(cfg.get('tst_flags', '')).split())
    flags = tst_flags - force   # the skipped ones
    fm = nb_frontmatter(nb)
    dflt = fm_default_eval(fm)
    skip_exec = str(fm.get('skip_exec', '')).lower() == 'true'
    k = CaptureShell(nb_path)
    k.run_cell('from nbdev.showdoc import show_doc')
    kw = {'cell_timeout': int(cfg.cell_timeout)} if cfg.get('cell_timeout') and 'cell_timeout' in inspect.signature(k.run_all).parameters else {}
    try:
        with working_directory(nb_path.parent):
            k.run_all(nb, exc_stop=True, preproc=lambda c: skip_exec or not _runs(c, flags, dflt), **kw)
    except Exception as e:
        return dict(nb=str(nb_path), error=f"{type(e).__name__}: {e}\n{k.prettytb(fname=nb_path) or traceback.format_exc()}")

    for c in nb.cells:   # a flagged cell (real data) shows its code, never its output: pages do not depend on the flags
        if c.cell_type == 'code' and tst_flags & c.directives.keys(): c.outputs = []
    # 2. nbdev's doc processors, then what Sphinx needs
    nb = dict2nb(json.loads(nb2str(nb)))   # as `read_nb` gives it: what nbdev's processors expect
    procs = [p for p in FilterDefaults().procs() if getattr(p, '__name__', '') not in _PROCS_SKIPPED]
    NBProcessor(nb=nb, procs=procs, rm_directives='quarto').process()
    # nbdev links its own symbols to the hosted site (doc_host + doc_baseurl): point them at this build instead
    site = f"{(cfg.doc_host or '').rstrip('/')}/{(cfg.doc_baseurl or '').strip('/')}".rstrip('/') + '/'
    up = '../' * (len(page.parts) - 1)
    assets = []
    for cell in nb.cells:
        for key in [key for key in list(cell) if key.endswith('_') or key == 'has_sd']: del cell[key]
        cell.get('metadata', {}).pop('execution', None)   # execnb's timings are not valid nbformat
        sd = cell.cell_type == 'code' and re.search(r'^show_doc\(', cell.source, re.M)   # nbdev's own test
        _tags_from_quarto(cell)
        if sd: _anchor_show_doc(cell)
        _stage_images(cell, nb_path.parent, page, src_dir, assets)
        _link_pages(cell, nb_path.parent, page, nbs)
        if not cfg.doc_host: continue
        cell.source = cell.source.replace(site, up)
        for o in cell.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is not None: o['data']['text/markdown'] = (''.join(md) if isinstance(md, list) else md).replace(site, up)
    dest = src_dir/page.with_suffix('.ipynb')
    dest.parent.mkdir(parents=True, exist_ok=True)
    nb.metadata.setdefault('kernelspec', {'display_name': 'python3', 'language': 'python', 'name': 'python3'})
    write_nb(nb, dest)
    return dict(nb=str(nb_path), page=str(page), assets=assets)


def _toctree(pages) -> str:
    body = '\n'.join(str(p).replace(os.sep, '/') for p in pages)
    return f"```{{toctree}}\n:hidden:\n:maxdepth: 2\n\n{body}\n```"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--workers', type=int, default=int(os.environ.get('GOE_DOCS_WORKERS', 2)), help='notebooks executed at once')
    ap.add_argument('--out', default=None, help='output folder (default: doc_path from pyproject.toml, `_docs`)')
    ap.add_argument('--flags', default='', help='test flags whose cells run too (space- or comma-separated), as nbdev-test --flags')
    ap.add_argument('--results', default=None, help="write each notebook's outcome (nb, ok, secs) to this JSON file")
    args = ap.parse_args()
    force = tuple(f for f in re.split(r'[\s,]+', args.flags) if f)
    from nbdev.config import get_config
    from fastcore.nbio import read_nb, write_nb, mk_cell
    cfg = get_config(root)
    out = Path(args.out).resolve() if args.out else cfg.doc_path
    build = root/'build'/'docs'
    src_dir = build/'src'
    shutil.rmtree(build, ignore_errors=True); src_dir.mkdir(parents=True)
    nbs, files = notebooks()
    if not any(f.stem == 'index' and f.parent == nbs for f in files): sys.exit(f"no {nbs/'index.ipynb'}: it is the site's home page")
    check_titles(files)
    t0 = time.time()
    print(f"executing {len(files)} notebooks, {args.workers} at a time" + (f"; flagged cells run too: {' '.join(force)}" if force else ''))
    # a fresh process per notebook (IPython's shell takes over `__main__`), as nbdev-test gives each its own
    # biggest notebooks first (they run longest), so the last one to start is a short one
    todo = sorted(files, key=lambda f: f.stat().st_size, reverse=True)
    with mp.get_context('spawn').Pool(max(1, args.workers), maxtasksperchild=1) as pool:
        done = dict(zip(todo, pool.starmap(stage, [(str(f), str(src_dir), force) for f in todo], chunksize=1)))
    results = [done[f] for f in files]
    failed = [r for r in results if 'error' in r]
    if args.results:
        Path(args.results).write_text(json.dumps([dict(nb=r['nb'], ok='error' not in r, secs=round(r['secs'], 1)) for r in results], indent=1))
    for r in results:
        if 'error' not in r: print(f"  {Path(r['nb']).name} -> {r['page']}.html  ({r['secs']:.0f}s)")
    if failed:
        for r in failed: print(f"\nFAILED to execute {r['nb']}:\n{r['error']}", file=sys.stderr)
        sys.exit(1)
    print(f"notebooks executed in {time.time() - t0:.0f}s")
    # nbdev-docs must keep working for whoever has Quarto: run its preprocessing (all of it but Quarto) too
    t1 = time.time()
    chk = subprocess.run([sys.executable, '-W', 'ignore', '-c', 'import sys; from nbdev.serve import proc_nbs; '
                          f'proc_nbs(sys.argv[1], n_workers={max(1, args.workers)}, force=True)', str(nbs)],
                         cwd=root, capture_output=True, text=True)
    if chk.returncode:
        sys.exit(f"nbdev-docs would fail: nbdev's proc_nbs (its preprocessing, before Quarto) failed:\n{chk.stderr[-3000:]}\n"
                 "(nbdev runs every cell that imports something: keep imports in cells of their own)")
    print(f"nbdev-docs preprocessing (nbdev's proc_nbs into _proc/) ok in {time.time() - t1:.0f}s")
    for a in sorted({a for r in results for a in r['assets']}):
        (src_dir/a).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(root/a, src_dir/a)

    # the home page carries the navigation: every other page, in notebook order
    pages = [Path(r['page']) for r in results]
    index = src_dir/'index.ipynb'
    nb = read_nb(index)
    nb.cells.append(mk_cell(_toctree([p for p in pages if p != Path('index')]), 'markdown'))
    write_nb(nb, index)

    # Sphinx renders into build/docs/html (MyST-NB keeps output files beside it), then the site moves to `out`.
    t1 = time.time()
    env = dict(os.environ, GOE_DOCS_ROOT=str(root))
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-W', '--keep-going', '-E', '-j', str(max(1, args.workers)),
           '-c', str(root/'tools'/'sphinx'), '-d', str(build/'doctrees'), str(src_dir), str(build/'html')]
    print('+ ' + ' '.join(cmd[1:]))
    rc = subprocess.run(cmd, env=env).returncode
    if rc: sys.exit(f"sphinx-build failed (exit {rc}): see the warnings above")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(build/'html', out)
    (out/'.nojekyll').touch()
    print(f"site rendered in {time.time() - t1:.0f}s: {out/'index.html'} ({len(pages)} pages; total {time.time() - t0:.0f}s)")


if __name__ == '__main__': main()
