"""serve.py: N Streamlit replicas behind HAProxy on 127.0.0.1. Its config (from deploy/haproxy.cfg.template) passes
`haproxy -c`; the proxy answers with a stickiness cookie naming a replica and keeps a browser that sends it on that
replica; every replica gets the one cookie secret and the shared folder; Ctrl-C, SIGTERM (and serve.py's own death)
leave no process behind; bad setup is one line."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, free_port

sys.path.insert(0, str(ROOT))
import serve  # noqa: E402

START_S = 300  # a busy 2-core machine can take a minute or more to start two Streamlit servers


def haproxy_or_skip() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if not found:
        if os.environ.get("VAE_REQUIRE_BROWSER"):  # CI installs it with Chromium
            pytest.fail(f"HAProxy is not installed ({serve.INSTALL_HAPROXY})")
        pytest.skip(f"HAProxy is not installed ({serve.INSTALL_HAPROXY})")
    return found


def run_serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "serve.py"), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def start_serve(*args: str, info: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """serve.py in the background; returns it and the address it printed, once it did."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), *args, "--info", str(info)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    deadline = time.time() + START_S
    for line in proc.stdout:
        if line.startswith("Students open: ") or line.startswith("No proxy here"):
            return proc, line.split()[2] if line.startswith("Students") else ""
        if time.time() > deadline:
            break
    proc.kill()
    raise AssertionError(f"serve.py did not start: {proc.stdout.read()}")


def get(url: str, cookie: str = ""):
    request = urllib.request.Request(url + "/_stcore/health", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, [h.split(";")[0] for h in r.headers.get_all("Set-Cookie") or []]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def gone(pids: list[int], within_s: float = 30) -> list[int]:
    deadline = time.time() + within_s
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


def environ(pid: int) -> dict:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


# ---- bad setup: one line, no traceback ---------------------------------------------------------------------------

def test_too_few_replicas_is_one_line():
    r = run_serve("--replicas", "0")
    assert r.returncode == 2 and r.stderr.strip() == "serve.py: --replicas must be at least 1 (got 0)"


def test_missing_haproxy_says_the_apt_command():
    r = run_serve("--haproxy", "/no/such/haproxy")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "HAProxy is not installed" in r.stderr and "apt-get install haproxy" in r.stderr


def test_several_hosts_without_a_shared_folder_is_one_line():
    for args in (["--no-proxy"], ["--remote", "10.0.0.5:8601"]):
        r = run_serve(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--shared" in r.stderr


def test_a_port_in_use_is_one_line():
    haproxy_or_skip()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_serve("--port", str(port), "--address", "127.0.0.1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert f"port {port} on 127.0.0.1 is not free" in r.stderr and "--port" in r.stderr


# ---- the config ------------------------------------------------------------------------------------------------

def test_the_template_makes_a_config_haproxy_accepts(tmp_path):
    haproxy = haproxy_or_skip()
    text = serve.haproxy_config("127.0.0.1:8501", [("a", "127.0.0.2", 8601), ("b", "10.0.0.5", 8601)])
    for needed in ("cookie vae_replica insert indirect nocache", "option httpchk GET /_stcore/health",
                   "option redispatch", "timeout tunnel 1h", "balance leastconn", "bind 127.0.0.1:8501",
                   "server a 127.0.0.2:8601 cookie a", "server b 10.0.0.5:8601 cookie b"):
        assert needed in text
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    check = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


# ---- serving -----------------------------------------------------------------------------------------------------

def test_replicas_behind_haproxy_sticky_shared_and_sigterm_leaves_nothing(tmp_path):
    haproxy_or_skip()
    info_file, shared, port = tmp_path / "serve.json", tmp_path / "shared", free_port()
    proc, address = start_serve("--replicas", "2", "--port", str(port), "--address", "127.0.0.1",
                                "--shared", str(shared), info=info_file)
    info = serve_info(info_file)
    pids = [r["pid"] for r in info["replicas"]] + [info["haproxy_pid"]]
    try:
        assert address == f"http://127.0.0.1:{port}"
        names = [r["name"] for r in info["replicas"]]
        status, cookies = get(address)
        assert status == 200
        first = next(c for c in cookies if c.startswith("vae_replica=")).split("=", 1)[1]
        assert first in names
        for name in names:  # a browser holding a replica's cookie stays there: no new cookie, ever
            for _ in range(3):
                status, cookies = get(address, f"vae_replica={name}")
                assert status == 200 and not any(c.startswith("vae_replica=") for c in cookies)
        envs = [environ(r["pid"]) for r in info["replicas"]]
        assert len({e["STREAMLIT_SERVER_COOKIE_SECRET"] for e in envs}) == 1
        assert (shared / "cookie_secret").read_text().strip() == envs[0]["STREAMLIT_SERVER_COOKIE_SECRET"]
        assert {e["VAE_RUNS_DIR"] for e in envs} == {str(shared / "runs")}
        assert {e["VAE_CACHE_DIR"] for e in envs} == {str(shared / "cache")}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert "Stopped" in proc.stdout.read()
        assert gone(pids) == []
    finally:
        proc.kill()
        for pid in pids:
            kill_quietly(pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "serve.py-killed"])
def test_ctrl_c_or_serve_dying_leaves_nothing(tmp_path, sig):
    haproxy_or_skip()
    info_file = tmp_path / "serve.json"
    proc, address = start_serve("--replicas", "1", "--port", str(free_port()), "--address", "127.0.0.1",
                                info=info_file)
    info = serve_info(info_file)
    pids = [info["replicas"][0]["pid"], info["haproxy_pid"]]
    try:
        assert get(address)[0] == 200
        proc.send_signal(sig)  # SIGKILL: the kernel tells the children (PR_SET_PDEATHSIG), serve.py cannot
        proc.wait(60)
        assert gone(pids) == []
    finally:
        proc.kill()
        for pid in pids:
            kill_quietly(pid)


def serve_info(path: Path) -> dict:
    import json
    deadline = time.time() + 30
    while not path.exists() and time.time() < deadline:
        time.sleep(0.1)
    return json.loads(path.read_text())


def kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
