#!/usr/bin/env python
"""Check the built docs site (`_docs/`, from `tools/docs.sh`) in a real browser, offline.

Headless Chromium (Debian's `chromium` + `chromium-driver`, installed with apt-get when missing and we are root)
is driven by selenium against a local HTTP server on 127.0.0.1. It checks that

- every notebook in nbs/ has its page, the home page's navigation links to all of them, each under its own title,
  and each page loads (HTTP 200) with no console error (nothing fetched from the network either: a failed load is a
  console error);
- every internal link on every page points to a page that exists and, with a #fragment, to an id on it;
- every image on every page is displayed (`naturalWidth > 0`), and chapter 04_mnist shows imgs/rotated_mnist.png;
- the search page finds the Router documentation;

and saves a screenshot of the home page as `<out>/home.png`. Exits 0 when all pass, 1 otherwise.
"""
from __future__ import annotations
import os, re, sys, time, shutil, argparse, tempfile, threading, subprocess, urllib.request, urllib.error
from functools import partial
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'tools'))
CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'
FIGURE = ('mnist', 'rotated_mnist.png')   # (page, image file) that must be displayed


def ensure_chromium():
    "Install Debian's chromium and chromium-driver when one is missing (needs root and the Debian mirror)."
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(): return
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        sys.exit(f"need {CHROMIUM} and {CHROMEDRIVER}: run `apt-get install chromium chromium-driver` as root")
    print("installing chromium and chromium-driver with apt-get ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for cmd in (['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium', 'chromium-driver']):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode: sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")


class _Quiet(SimpleHTTPRequestHandler):
    "Static files from the site folder; remembers every request's status instead of printing it."
    statuses = []
    def log_message(self, *a): pass
    def log_request(self, code='-', size='-'): self.statuses.append((self.path, int(code) if str(code).isdigit() else code))


def serve(site:Path):
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), partial(_Quiet, directory=str(site)))   # port 0: a free port
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f'http://127.0.0.1:{httpd.server_address[1]}/'


class _Ids(HTMLParser):
    def __init__(self): super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ('id', 'name') and v: self.ids.add(v)


def page_ids(url, cache={}):
    "HTTP status and the set of element ids of the page at `url` (fetched once)."
    if url not in cache:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = r.read().decode('utf-8', 'replace') if 'html' in r.headers.get('Content-Type', '') else ''
                p = _Ids(); p.feed(body); cache[url] = (r.status, p.ids)
        except urllib.error.HTTPError as e: cache[url] = (e.code, set())
    return cache[url]


def expected_pages():
    "Page names the site must have: one per notebook nbdev sees, as tools/build_docs.py names them."
    from build_docs import notebooks, page_name
    nbs, files = notebooks()
    return [str(page_name(f, nbs)).replace(os.sep, '/') for f in files]


def browser(profile:str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ('--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage',
              f'--user-data-dir={profile}', '--window-size=1280,900'):
        o.add_argument(a)
    o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(options=o, service=Service(executable_path=CHROMEDRIVER))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default=str(root/'_docs'), help='built site folder')
    ap.add_argument('--out', default=os.environ.get('GOE_DOCS_TEST_OUT', str(root/'build'/'test_docs')), help='where the screenshot goes')
    args = ap.parse_args()
    site, out = Path(args.site).resolve(), Path(args.out).resolve()
    if not (site/'index.html').exists(): sys.exit(f"no site in {site}: build it with tools/docs.sh")
    out.mkdir(parents=True, exist_ok=True)
    ensure_chromium()
    try: import selenium  # noqa: F401
    except ImportError: sys.exit('selenium is missing: pip install -e ".[dev]"')
    os.environ['SE_OFFLINE'] = 'true'   # selenium must never try to download a driver or a browser

    t0 = time.time()
    pages = expected_pages()
    httpd, base = serve(site)
    profile = tempfile.mkdtemp(prefix='goe-chromium-')
    problems, checked_links = [], set()
    def bad(msg): problems.append(msg); print('  FAIL', msg, flush=True)
    drv = browser(profile)
    try:
        drv.set_page_load_timeout(30)
        for page in pages:
            url = urljoin(base, page + '.html')
            _Quiet.statuses.clear()
            drv.get(url)
            for _ in range(100):
                if drv.execute_script('return document.readyState') == 'complete': break
                time.sleep(0.1)
            time.sleep(0.3)   # let late scripts (furo, search index) report errors
            n_before = len(problems)
            status = page_ids(url)[0]
            if status != 200: bad(f"{page}.html: HTTP {status}")
            for path, code in list(_Quiet.statuses):
                if code != 200 and code != 304: bad(f"{page}.html: request {path} answered {code}")
            for e in drv.get_log('browser'):
                if e.get('level') == 'SEVERE': bad(f"{page}.html: console error: {e.get('message')}")
            title = drv.title
            # internal links: target page exists, fragment exists on it
            hrefs = drv.execute_script("return Array.from(document.querySelectorAll('a[href]'), a => a.href)")
            for h in set(hrefs):
                if urlsplit(h).netloc != urlsplit(base).netloc or h in checked_links: continue
                checked_links.add(h)
                target, frag = h.split('#', 1) if '#' in h else (h, '')
                st, ids = page_ids(target)
                if st != 200: bad(f"{page}.html: broken link {h} (HTTP {st})")
                elif frag and target.endswith('.html') and unquote(frag) not in ids: bad(f"{page}.html: link {h}: no id '{unquote(frag)}' on that page")
            imgs = drv.execute_script("""return Array.from(document.images, i =>
                [i.getAttribute('src'), i.complete, i.naturalWidth, i.getBoundingClientRect().width])""")
            for src, complete, nw, w in imgs:
                if not complete or not nw: bad(f"{page}.html: image {src} not displayed (naturalWidth {nw})")
            if page == FIGURE[0]:
                fig = [i for i in imgs if i[0] and i[0].endswith(FIGURE[1])]
                if not fig: bad(f"{page}.html: the figure {FIGURE[1]} is not on the page")
                elif not (fig[0][2] > 0 and fig[0][3] > 0): bad(f"{page}.html: the figure {FIGURE[1]} is not displayed: {fig[0]}")
                else: print(f"  figure {FIGURE[1]}: naturalWidth {fig[0][2]}, shown {fig[0][3]:.0f}px wide")
            ok = 'ok' if len(problems) == n_before else 'FAILED'
            print(f"{ok:6s} {page}.html  '{title}'  {len(set(hrefs))} links, {len(imgs)} images")

        # navigation: the home page's sidebar reaches every chapter
        drv.get(base + 'index.html')
        nav = set(drv.execute_script("return Array.from(document.querySelectorAll('.sidebar-tree a.reference.internal'), a => a.getAttribute('href'))"))
        missing = [p for p in pages if p != 'index' and p + '.html' not in nav]
        if missing: bad(f"index.html: navigation lacks {missing} (has {sorted(nav)})")
        else: print(f"ok     navigation: {len(nav)} chapters in the sidebar")
        titles = drv.execute_script("return Array.from(document.querySelectorAll('.sidebar-tree a.reference.internal'), a => a.textContent.trim())")
        dup = sorted({t for t in titles if titles.count(t) > 1})
        if dup: bad(f"index.html: the sidebar lists {dup} more than once: give each page its own title")
        else: print(f"ok     sidebar: {len(titles)} titles, each once")
        drv.save_screenshot(str(out/'home.png'))
        print(f"saved  {out/'home.png'}")
        drv.get_log('browser')

        # search: Sphinx's client-side index finds the Router docs
        drv.get(base + 'search.html?q=OracleRouter')
        hits = []
        for _ in range(100):
            hits = drv.execute_script("return Array.from(document.querySelectorAll('#search-results ul.search li a'), a => a.getAttribute('href'))")
            if hits: break
            time.sleep(0.1)
        if not any(h.startswith('router.html') for h in hits): bad(f"search.html?q=OracleRouter: no hit on router.html (hits: {hits})")
        else: print(f"ok     search 'OracleRouter': {len(hits)} hits, first {hits[0]}")
        for e in drv.get_log('browser'):
            if e.get('level') == 'SEVERE': bad(f"search.html: console error: {e.get('message')}")
    finally:
        drv.quit(); httpd.shutdown(); shutil.rmtree(profile, ignore_errors=True)

    print(f"docs browser test: {len(pages)} pages, {len(checked_links)} internal links, {len(problems)} problems, {time.time() - t0:.0f}s")
    sys.exit(1 if problems else 0)


if __name__ == '__main__': main()
