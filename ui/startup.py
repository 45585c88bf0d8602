"""What the server does once, when it starts: import what the first page will need, while the first browser is still
loading Streamlit's frontend.

Between a server's start and its first script run the browser downloads and compiles Streamlit's JavaScript
(~0.5 s here), and the server has nothing to do. The first run then imported NumPy, Pillow (Streamlit's favicon
code) and this app's modules before drawing anything: ~0.1-0.15 s of the first visit, measured (bench/browser.py,
cold_start_s). Imported here, in a thread started by app.py's lifespan, the first run finds them loaded. Importing
one module twice is not possible (Python's import lock makes a script that asks for a module being imported wait for
it), so starting early only ever saves time.

This module imports nothing heavy itself: app.py imports it before the server listens.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTER = ROOT / "router.py"
# Imported by Streamlit rather than by our files on the first run: Pillow turns the favicon into a URL.
ALSO = ("PIL.Image",)

log = logging.getLogger(__name__)


def modules_imported_by(path: Path) -> list[str]:
    """The modules a script imports at its top level, in order, read from its syntax tree (so this list cannot fall
    behind the script): `import a.b` gives a.b; `from a import b` gives a, and a.b when b is a module."""
    names: list[str] = []
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module != "__future__":
            names.append(node.module)
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                try:
                    if importlib.util.find_spec(sub) is not None:
                        names.append(sub)
                except (ImportError, ValueError):
                    pass  # b is a name in a, not a module
    return list(dict.fromkeys(names))


def first_page_modules() -> list[str]:
    """What the router and the page a first visit opens (ui.pages.DEFAULT) import, and ALSO."""
    from ui import pages

    return list(dict.fromkeys([*modules_imported_by(ROUTER), *modules_imported_by(ROOT / pages.PAGES[pages.DEFAULT]),
                               *ALSO]))


def prepare_first_page() -> list[str]:
    """Import first_page_modules(); returns those that failed (the first run will then show why)."""
    failed = []
    for name in first_page_modules():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a broken import is the first run's to report, with its traceback
            log.warning("preparing the first page: importing %s failed", name, exc_info=True)
            failed.append(name)
    return failed


@asynccontextmanager
async def lifespan(_app):
    """st.App's lifespan: start prepare_first_page in the background and serve at once. Also: a browser moved
    here from a dead replica gets its page run again (ui.reconnect)."""
    from ui import reconnect

    reconnect.install()
    threading.Thread(target=prepare_first_page, name="prepare-first-page", daemon=True).start()
    yield None
