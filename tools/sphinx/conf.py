# Sphinx configuration of the docs site. `tools/docs.sh` (tools/build_docs.py) stages the executed notebooks
# and runs `sphinx-build -c tools/sphinx`; project facts come from pyproject.toml through nbdev's config.
import os, re
from pathlib import Path
from nbdev.config import get_config

_root = Path(os.environ.get('GOE_DOCS_ROOT', Path(__file__).resolve().parents[2]))
_cfg = get_config(_root)
_init = (_root/_cfg.lib_path/'__init__.py').read_text()

project = _cfg.title
author = _cfg.get('author', '')
release = version = re.search(r'__version__\s*=\s*[\'"]([^\'"]+)', _init).group(1)
copyright = author
html_title = f"{project} {release}"

extensions = ['myst_nb']
root_doc = 'index'
exclude_patterns = ['**.ipynb_checkpoints']

# The notebooks are executed by tools/build_docs.py (in the notebooks' folder, as nbdev-test runs them).
nb_execution_mode = 'off'
# `show_doc` output is markdown with tables and attributes: render it with the full MyST parser.
nb_render_markdown_format = 'myst'
nb_merge_streams = True
myst_enable_extensions = ['attrs_inline', 'colon_fence', 'dollarmath']
# Links stay as written (nbdev's `router.html#router` style): pages keep nbdev's file names.
myst_all_links_external = True
myst_heading_anchors = 0

html_theme = 'furo'
# No edit/view buttons: pages are named after nbdev's html names, not the notebooks' file names.
html_theme_options = {'navigation_with_keys': True, 'top_of_page_buttons': [],
                      'footer_icons': [{'name': 'GitHub', 'url': _cfg.git_url, 'html': 'source on GitHub', 'class': ''}]}
html_copy_source = False
html_show_sourcelink = False
html_static_path = ['_static']
html_css_files = ['goe.css']
html_favicon = 'favicon.svg'
# nbdev's `show_doc` entries sit under whatever heading the chapter has (Quarto does not mind a jump from # to ###).
suppress_warnings = ['myst.header']
# Sphinx loads MathJax (from its CDN) only on a page that has math; none has yet, so the site needs no network.
