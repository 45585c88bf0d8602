"""Serve a lecture hall: N Streamlit replicas of the app behind HAProxy, with sticky sessions.

    python serve.py                      # one replica per core on 127.0.0.1, HAProxy on 0.0.0.0:8501
    python serve.py --replicas 2 --port 8080 --shared /mnt/vae-shared

One Streamlit server is one process, and its Python runs on one core: past about a core's worth of students the class
waits while the other cores idle. This starts N replicas (under the Python that runs this script) and HAProxy in front
(Debian's `haproxy` package): a cookie keeps each browser on the replica that holds its session (a session is a
websocket bound to one process; uploads and media files live in that process), health checks on /_stcore/health take
a dead replica out, and `option redispatch` sends its students to another one. All replicas get one
server.cookieSecret (Streamlit's default is random per process). The config is written from
deploy/haproxy.cfg.template. A replica that dies is started again (its students lose their session; the proxy sends
them to another replica meanwhile). Ctrl-C or SIGTERM stops the replicas and HAProxy; a training run started from
the app keeps going, as it does when one `streamlit run` stops (the Train page finds it again).

What replicas share is a folder (--shared, default: this repository's runs/app and cache/): the training runs (every
student sees the one run; "one run at a time" is a lock file there) and the model store's cache.

Past one machine: on each other host, `python serve.py --no-proxy --replica-address ITS_IP --replica-port 8601
--shared SAME_FOLDER` (the folder on NFS or similar); on the proxy's host the same --shared and `--remote
ITS_IP:8601 --remote ITS_IP:8602 ...`. The cookie secret is kept in the shared folder, so every host's replicas use
the same one.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEMPLATE = ROOT / "deploy" / "haproxy.cfg.template"
INSTALL_HAPROXY = "sudo apt-get install haproxy"
COOKIE = "vae_replica"  # HAProxy's stickiness cookie: which replica holds this browser's session
SECRET_FILE = "cookie_secret"  # in the shared folder: one server.cookieSecret for every host's replicas
START_TIMEOUT_S = 180.0  # a replica's first health answer (a busy machine imports Streamlit slowly)
STOP_TIMEOUT_S = 10.0  # after SIGTERM, before SIGKILL
RESTART_AFTER_S = 30.0  # a restarted replica that dies again sooner than this is left down (it would only crash-loop)


class SetupError(Exception):
    """Something about the setup that one line can say (printed without a traceback)."""


@dataclass
class Replica:
    name: str  # HAProxy's server name and cookie value
    address: str
    port: int
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    given_up: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"


# ---- checks ------------------------------------------------------------------------------------------------------

def find_haproxy(given: str | None) -> str:
    """HAProxy's executable: the given path, else on PATH, else Debian's /usr/sbin (not on a user's PATH)."""
    found = given if given and Path(given).is_file() else None
    if not given:
        found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise SetupError(f"HAProxy is not installed{f' at {given}' if given else ''}; install it with: "
                         f"{INSTALL_HAPROXY}")
    return found


def check_port_free(address: str, port: int, option: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as HAProxy and Tornado bind
        try:
            s.bind((address, port))
        except OSError as exc:
            raise SetupError(f"port {port} on {address} is not free ({exc.strerror}); pick another {option}") from None


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def parse_remote(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SetupError(f"--remote wants HOST:PORT, like 10.0.0.5:8601 (got {text!r})")
    return host, int(port)


# ---- shared state ------------------------------------------------------------------------------------------------

def cookie_secret(shared: Path | None) -> str:
    """One server.cookieSecret for all replicas: kept in the shared folder (so other hosts read the same), else made
    for this run. Created exclusively, so two hosts starting at once agree on the first one written."""
    if shared is None:
        return secrets.token_hex(32)
    path = shared / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    for _ in range(50):  # another host may be writing it this instant
        secret = path.read_text().strip()
        if secret:
            return secret
        time.sleep(0.1)
    raise SetupError(f"{path} is empty; delete it and start again")


def replica_env(shared: Path | None, secret: str) -> dict:
    env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secret}  # in the environment: not on `ps`'s lines
    if shared is not None:
        env["VAE_RUNS_DIR"] = str(shared / "runs")  # read by ui/state.py
        env["VAE_CACHE_DIR"] = str(shared / "cache")  # read by vae/store.py
    return env


# ---- processes ---------------------------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when serve.py dies, even by SIGKILL (no orphans)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_replica(replica: Replica, env: dict, log_dir: Path) -> None:
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(replica.port),
           "--server.address", replica.address, "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log_dir / f"{replica.name}.log", "ab") as log:
        replica.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    replica.started = time.time()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(replicas: list[Replica], log_dir: Path) -> None:
    waiting = list(replicas)
    deadline = time.time() + START_TIMEOUT_S
    while waiting:
        for r in list(waiting):
            if r.proc.poll() is not None:
                raise SetupError(f"replica {r.name} exited while starting (code {r.proc.returncode}); "
                                 f"see {log_dir / (r.name + '.log')}")
            if healthy(r.url):
                waiting.remove(r)
        if time.time() > deadline:
            raise SetupError(f"replica {waiting[0].name} did not answer in {START_TIMEOUT_S:.0f} s; "
                             f"see {log_dir / (waiting[0].name + '.log')}")
        time.sleep(0.3)


def haproxy_config(bind: str, servers: list[tuple[str, str, int]]) -> str:
    lines = "".join(f"    server {name} {host}:{port} cookie {name}\n" for name, host, port in servers)
    return string.Template(TEMPLATE.read_text()).substitute(bind=bind, servers=lines, cookie=COOKIE)


def start_haproxy(haproxy: str, config: Path, log_dir: Path) -> subprocess.Popen:
    check = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        alerts = [ln for ln in (check.stderr + check.stdout).splitlines() if "ALERT" in ln] or ["(no message)"]
        raise SetupError(f"HAProxy rejects {config}: {alerts[0]}")
    with open(log_dir / "haproxy.log", "ab") as log:
        return subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)


def stop_all(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to each, then SIGKILL to any still there after STOP_TIMEOUT_S; waits for all (no zombies)."""
    live = [p for p in procs if p is not None and p.poll() is None]
    for p in live:
        p.terminate()
    deadline = time.time() + STOP_TIMEOUT_S
    for p in live:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def students_address(bind_address: str, port: int) -> str:
    """The address to give the class: the machine's outward IP when HAProxy listens on every interface."""
    if bind_address not in ("0.0.0.0", "::", ""):
        return f"http://{bind_address}:{port}"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # picks the route's source address; sends nothing
            ip = s.getsockname()[0]
    except OSError:
        ip = socket.gethostname()
    return f"http://{ip}:{port}"


# ---- main --------------------------------------------------------------------------------------------------------

class Stop(Exception):
    pass


def _on_signal(signum, frame) -> None:
    raise Stop()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=os.cpu_count() or 1,
                   help="Streamlit processes on this host (default: one per core)")
    p.add_argument("--port", type=int, default=8501, help="the port students open (HAProxy's)")
    p.add_argument("--address", default="0.0.0.0", help="where HAProxy listens (default: every interface)")
    p.add_argument("--replica-address", default="127.0.0.1",
                   help="where this host's replicas listen (another host's proxy needs an address it can reach)")
    p.add_argument("--replica-port", type=int, default=0,
                   help="first replica port (the others follow); default: free ports")
    p.add_argument("--remote", action="append", default=[], metavar="HOST:PORT",
                   help="a replica another host runs (serve.py --no-proxy there); repeat for each")
    p.add_argument("--shared", type=Path, default=None,
                   help="the folder every replica shares: runs/ and cache/ (default: this repository's)")
    p.add_argument("--no-proxy", action="store_true", help="only this host's replicas, for a proxy elsewhere")
    p.add_argument("--haproxy", default=None, help="HAProxy's executable (default: found on PATH or /usr/sbin)")
    p.add_argument("--info", type=Path, default=None,
                   help="write the address and the processes' ids here as JSON (for bench/load.py)")
    return p.parse_args(argv)


def setup(args) -> tuple[list[Replica], list[tuple[str, int]], str | None]:
    """Everything checkable before a process starts; raises SetupError."""
    if args.replicas < 1:
        raise SetupError(f"--replicas must be at least 1 (got {args.replicas})")
    remotes = [parse_remote(r) for r in args.remote]
    if (remotes or args.no_proxy) and args.shared is None:
        raise SetupError("replicas on several hosts must share runs/, the cache and the cookie secret: give every "
                         "host's serve.py the same --shared folder (NFS or similar)")
    haproxy = None if args.no_proxy else find_haproxy(args.haproxy)
    if not args.no_proxy:
        check_port_free(args.address, args.port, "--port")
    if args.replica_port:
        ports = list(range(args.replica_port, args.replica_port + args.replicas))
        for port in ports:
            check_port_free(args.replica_address, port, "--replica-port")
    else:
        try:
            ports = [free_port(args.replica_address) for _ in range(args.replicas)]
        except OSError as exc:
            raise SetupError(f"cannot listen on {args.replica_address} ({exc.strerror})") from None
    if not args.no_proxy and args.port in ports:
        raise SetupError(f"port {args.port} is both HAProxy's and a replica's; pick another --port")
    tag = args.replica_address.replace(".", "_").replace(":", "_")
    replicas = [Replica(f"r{tag}_{port}", args.replica_address, port) for port in ports]
    return replicas, remotes, haproxy


def serve(args, replicas, remotes, haproxy) -> None:
    shared = args.shared.resolve() if args.shared else None
    if shared is not None:
        (shared / "runs").mkdir(parents=True, exist_ok=True)
        (shared / "cache").mkdir(parents=True, exist_ok=True)
    env = replica_env(shared, cookie_secret(shared))
    log_dir = Path(tempfile.mkdtemp(prefix="vae-serve-"))
    proxy = None
    try:
        for r in replicas:
            start_replica(r, env, log_dir)
        wait_healthy(replicas, log_dir)
        address = None
        if not args.no_proxy:
            servers = [(r.name, r.address, r.port) for r in replicas]
            servers += [(f"remote_{h.replace('.', '_').replace(':', '_')}_{p}", h, p) for h, p in remotes]
            config = log_dir / "haproxy.cfg"
            bind = f"[{args.address}]:{args.port}" if ":" in args.address else f"{args.address}:{args.port}"
            config.write_text(haproxy_config(bind, servers))
            proxy = start_haproxy(haproxy, config, log_dir)
            local = f"http://{'127.0.0.1' if args.address in ('0.0.0.0', '') else args.address}:{args.port}"
            deadline = time.time() + 30
            while not healthy(local):
                if proxy.poll() is not None or time.time() > deadline:
                    raise SetupError(f"HAProxy did not start; see {log_dir / 'haproxy.log'}")
                time.sleep(0.2)
            address = students_address(args.address, args.port)
        if args.info:
            write_info(args.info, address, replicas, proxy, log_dir)
        print(f"{len(replicas)} replica(s) on {', '.join(f'{r.address}:{r.port}' for r in replicas)}"
              + (f" and {len(remotes)} on other hosts" if remotes else "") + f"; logs in {log_dir}", flush=True)
        if address:
            print(f"Students open: {address}   (Ctrl-C stops)", flush=True)
        else:
            print("No proxy here: on the proxy's host pass " + " ".join(f"--remote {r.address}:{r.port}"
                                                                         for r in replicas), flush=True)
        watch(replicas, proxy, env, log_dir, args.info, address)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        stop_all([proxy] + [r.proc for r in replicas])


def watch(replicas, proxy, env, log_dir, info, address) -> None:
    """Until stopped: a replica that dies is started again (HAProxy sends its students elsewhere meanwhile), unless
    it died soon after being restarted (then it is left down: the others carry the class)."""
    while True:
        time.sleep(1.0)
        if proxy is not None and proxy.poll() is not None:
            raise SetupError(f"HAProxy exited (code {proxy.returncode}); see {log_dir / 'haproxy.log'}")
        for r in replicas:
            if r.proc.poll() is None or r.given_up:
                continue
            code, ran = r.proc.returncode, time.time() - r.started
            if r.restarts and ran < RESTART_AFTER_S:
                r.given_up = True
                print(f"replica {r.name} exited again after {ran:.0f} s (code {code}); left down, see "
                      f"{log_dir / (r.name + '.log')}", flush=True)
                continue
            print(f"replica {r.name} exited (code {code}); starting it again", flush=True)
            r.restarts += 1
            start_replica(r, env, log_dir)
            if info:
                write_info(info, address, replicas, proxy, log_dir)


def write_info(path: Path, address, replicas, proxy, log_dir: Path) -> None:
    data = {"url": address, "serve_pid": os.getpid(), "haproxy_pid": proxy.pid if proxy else None,
            "log_dir": str(log_dir), "cookie": COOKIE,
            "replicas": [{"name": r.name, "url": r.url, "pid": r.proc.pid} for r in replicas]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        replicas, remotes, haproxy = setup(args)
    except SetupError as exc:
        print(f"serve.py: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        serve(args, replicas, remotes, haproxy)
    except Stop:
        print("Stopped: the replicas and HAProxy have exited.", flush=True)
        return 0
    except SetupError as exc:
        print(f"serve.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
