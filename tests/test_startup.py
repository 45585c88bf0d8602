"""The server's start (app.py, ui.startup): app.py serves router.py through st.App, and while the first browser loads
Streamlit's frontend it imports what the first page needs, and nothing heavier."""
import subprocess
import sys
from pathlib import Path

from ui import startup

ROOT = Path(__file__).resolve().parent.parent


def test_app_py_is_the_server_and_router_py_the_script():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"  # what `streamlit run app.py` serves with uvicorn
    assert not discover_asgi_app(ROOT / "router.py").is_asgi_app  # the script every run executes
    assert startup.ROUTER == ROOT / "router.py"


def test_modules_imported_by_reads_every_import_form(tmp_path):
    script = tmp_path / "page.py"
    script.write_text("from __future__ import annotations\n"
                      "import json, os.path\n"
                      "import numpy as np\n"
                      "from ui import keys, pages\n"
                      "from vae.store import relpath\n"
                      "from . import nothing_relative\n"
                      "def later():\n"
                      "    import torch  # inside a function: not imported when the page starts\n")
    assert startup.modules_imported_by(script) == ["json", "os.path", "numpy", "ui", "ui.keys", "ui.pages",
                                                   "vae.store"]


def test_first_page_modules_cover_the_router_and_the_default_page():
    names = startup.first_page_modules()
    for name in ("streamlit", "ui.state", "ui.share", "ui.lessons", "numpy", "ui.components.latent_pad",
                 "ui.cache", "vae.numpy_model", "PIL.Image"):
        assert name in names, name


def test_preparing_imports_the_first_page_without_torch():
    """In a fresh interpreter, as in a server that has just started: every module comes in, none fails, and torch
    (1.8 s, and needed by no first page) stays out."""
    code = ("import sys\n"
            "from ui import startup\n"
            "assert 'numpy' not in sys.modules\n"
            "failed = startup.prepare_first_page()\n"
            "missing = [m for m in startup.first_page_modules() if m not in sys.modules]\n"
            "print('FAILED', failed, 'MISSING', missing, 'TORCH', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "FAILED [] MISSING [] TORCH False" in out.stdout, out.stdout + out.stderr[-2000:]
