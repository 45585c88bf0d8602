"""A classroom's load on one server: N students explore and upload at once while one more session trains.

    python bench/load.py --sessions 30          # prints one JSON line (add --verbose for progress on stderr)

Starts `streamlit run app.py` on 127.0.0.1 and opens N sessions as websocket clients speaking Streamlit's own
protocol (protobuf BackMsg/ForwardMsg over /_stcore/stream, uploads over HTTP PUT), exactly what a browser sends,
without N browsers competing with the server for this machine's 2 cores (in a classroom they are other machines).
Each student session:
  1. opens the app (the Explore page, full script run),
  2. RELEASES times: thinks 0.4-1.2 s (the drag itself decodes in the browser and costs the server nothing), then
     releases the latent pad: the pad's state {"z": [...]} is sent as a fragment rerun, as the browser does;
     latency = release sent -> the fragment's "Python received z = (...)" readout for that z arrives,
  3. opens the Reconstruct page and uploads a digit (tests/data/images/digit_on_paper.png, one pixel changed per
     student so no two files are alike and no upload finds another's result cached) to its uploader;
     latency = upload registered -> the page's run with the reconstruction finished,
  4. goes back to Explore and releases the pad RELEASES more times.
One more session opens the Train page and presses "Start training" (a background `python -m vae train` process at
low priority, polled by the page's 1 s fragment, which this client reruns like a browser); it is stopped at the end
and its run folder removed.
errors = server exceptions shown on a page + script runs that did not finish + timeouts (10 s) + failed uploads
+ dropped connections. Server memory is sampled from /proc (RSS of the server process; training runs in its own
process, reported separately). Latencies are measured at the client's socket: a browser adds its render time
(~10-30 ms on this machine, see bench/browser.py) and a real network adds its round trip.
Goal on this 2-core machine: 30 sessions, 0 errors, p95 release->update <= 250 ms, memory bounded.
--cpu-hogs N runs N busy loops beside it all along (each as entitled to a core as the server): a slower machine,
emulated. With N = 2 everything gets about half the CPU it would; with N = 4, about a third.

A lecture hall (serve.py: replicas behind HAProxy):
    python bench/load.py --replicas 2 --sessions 100 --ramp 20    # starts serve.py, runs the class through the proxy
    python bench/load.py --url http://127.0.0.1:8501 [--serve-info FILE]   # a server already running
Through the proxy every client keeps HAProxy's stickiness cookie, as a browser does; the teacher's warm-up visits
each replica once; server CPU and memory are the replicas' (from serve.py's --info file). --kill-replica-at S
SIGKILLs the first replica S seconds into the class (the training session is on it): its students reconnect as
Streamlit's frontend does (the proxy sends them to another replica) and their time from the kill to a working
Explore page is reported; their dropped connections are not errors, a recovery slower than 10 s is; errors on the
other replicas count as always.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLsRequest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import cpu_seconds  # noqa: E402  (user + system CPU seconds of a process)
from bench.harness import free_port, start_streamlit  # noqa: E402
from ui import supervisor  # noqa: E402  (a run's state as the app reads it: no Streamlit, no torch)

TIMEOUT_S = 10.0  # a pad release or an upload that takes longer than this counts as an error
OPEN_TIMEOUT_S = 60.0  # opening a page (a full script run) that takes longer than this counts as an error
WARMUP_TIMEOUT_S = 600.0  # the teacher's first visit builds the caches (encoding the test set ...)
SETTLE_S = 300.0  # after a timeout, how long a session still waits for the page before its next step
DIGIT = ROOT / "tests" / "data" / "images" / "digit_on_paper.png"
RECOVERY_S = 10.0  # a student of a killed replica must have a working page again within this
READOUT = "Python received"
UPLOAD_LABEL = "Photos, scans or drawings"
VERBOSE = False


def log(*parts) -> None:
    if VERBOSE:
        print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def _drop(future: asyncio.Future) -> None:
    """Fail a waiter because its replica was killed. Marked as retrieved at once: a waiter whose request never went
    out (the send raised Dropped first) is never awaited, and asyncio would log each one at exit."""
    future.set_exception(Dropped())
    future.exception()


class Dropped(Exception):
    """The connection of a session that reconnects (Session.reconnecting) was dropped."""


class Session:
    """One browser tab's worth of protocol: runs, fragment reruns, widget values, uploads."""

    def __init__(self, base_url: str, name: str, errors: list[str], cookies: dict | None = None):
        self.base_url, self.name, self.errors = base_url, name, errors
        self.cookies = dict(cookies or {})  # as a browser keeps them: the XSRF cookie, HAProxy's replica cookie
        self.reconnecting = False  # True: a dropped connection raises Dropped (the killed replica's students)
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path name -> page script hash
        self.elements: dict[str, tuple[str, str, object]] = {}  # widget id -> (kind, fragment id, proto)
        self.cached: set[str] = set()  # message hashes we hold, reported like the browser's cache
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (st.fragment(run_every=...))
        self.file_urls: dict[str, object] = {}
        self._waiters: list[tuple[callable, asyncio.Future]] = []
        self.ws = None
        self._reader: asyncio.Task | None = None
        self.xsrf = ""

    # ---- connection ---------------------------------------------------------------------------------------------
    async def connect(self) -> None:
        def get_cookies() -> None:
            request = urllib.request.Request(self.base_url + "/_stcore/health", headers=self.cookie_header())
            with urllib.request.urlopen(request, timeout=OPEN_TIMEOUT_S) as r:  # sets the cookies
                self.keep_cookies(r.headers.get_all("Set-Cookie") or [])

        await asyncio.to_thread(get_cookies)
        self.xsrf = self.cookies.get("_streamlit_xsrf", "")
        ws_url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        # No protocol-level pings: a browser does not send them, and a busy server would be dropped for a late pong.
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2**27, ping_interval=None,
                                          open_timeout=OPEN_TIMEOUT_S, additional_headers=self.cookie_header())
        self.keep_cookies(self.ws.response.headers.get_all("Set-Cookie"))
        self._reader = asyncio.create_task(self._read())

    def keep_cookies(self, headers) -> None:
        for header in headers:
            name, _, value = header.split(";")[0].partition("=")
            self.cookies[name.strip()] = value.strip()

    def cookie_header(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg, time.perf_counter())
        except websockets.ConnectionClosed as exc:
            if self.reconnecting:
                self._fail_waiters()
            elif exc.rcvd is None or exc.rcvd.code != 1000:
                self.errors.append(f"{self.name}: connection dropped ({exc})")
        except asyncio.CancelledError:
            pass

    def _fail_waiters(self) -> None:
        for _, future in self._waiters:
            if not future.done():
                _drop(future)
        self._waiters = []

    def _handle(self, msg: ForwardMsg, now: float) -> None:
        if msg.hash and msg.metadata.cacheable:
            self.cached.add(msg.hash)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            el_kind = el.WhichOneof("type")
            if el_kind == "exception":
                self.errors.append(f"{self.name}: exception on the page: {el.exception.message[:200]}")
            proto = getattr(el, el_kind)
            widget_id = getattr(proto, "id", "")
            if widget_id:
                self.elements[widget_id] = (el_kind, msg.delta.fragment_id, proto)
        elif kind == "file_urls_response":
            for urls in msg.file_urls_response.file_urls:
                self.file_urls[urls.file_id] = urls
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(kind, msg):
                future.set_result(now)
                self._waiters.remove((predicate, future))
        if kind == "file_urls_response":
            return

    def _expect(self, predicate) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self.reconnecting and self._reader is not None and self._reader.done():
            _drop(future)  # the connection is gone already
        else:
            self._waiters.append((predicate, future))
        return future

    async def send(self, msg: BackMsg) -> None:
        try:
            await self.ws.send(msg.SerializeToString())
        except websockets.ConnectionClosed:
            if self.reconnecting:
                raise Dropped() from None
            raise

    async def _await(self, future: asyncio.Future, what: str, timeout: float = TIMEOUT_S) -> float | None:
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            self.errors.append(f"{self.name}: timed out waiting for {what}")
            self._waiters = [(p, f) for p, f in self._waiters if f is not future]
            return None

    # ---- interactions --------------------------------------------------------------------------------------------
    async def run(self, page: str = "", fragment_id: str = "", widgets=(), update=None, what: str = "a run",
                  auto: bool = False, timeout: float = TIMEOUT_S,
                  settle: float = 0.0) -> tuple[float | None, float | None]:
        """Send one rerun; returns (send -> first message matching `update`, send -> script finished) in seconds.
        A run slower than `timeout` is an error; with settle > 0 we then still wait that long for it to end, so the
        next step starts from a drawn page (a student waits for the page too)."""
        finished = self._expect(lambda kind, msg: kind == "script_finished")
        updated = self._expect(update) if update else None
        msg = BackMsg()
        rs = msg.rerun_script
        rs.page_script_hash = self.pages.get(page, "") if page else ""
        if page:
            rs.page_name = page  # as a browser opening /<page> directly: the hash is unknown before the first run
        rs.fragment_id = fragment_id
        rs.is_auto_rerun = auto
        rs.cached_message_hashes.extend(sorted(self.cached))
        for state in widgets:
            rs.widget_states.widgets.append(state)
        sent = time.perf_counter()
        await self.send(msg)
        t_update = await self._await(updated, f"{what}: update", timeout) if updated else None
        t_done = await self._await(finished, f"{what}: end of run", timeout)
        if t_done is None and settle > 0:
            late = self._expect(lambda kind, msg: kind == "script_finished")
            try:
                await asyncio.wait_for(late, settle)
            except asyncio.TimeoutError:
                pass
        return (t_update - sent if t_update else None), (t_done - sent if t_done else None)

    def find(self, kind: str, label_part: str = "", key_part: str = ""):
        for widget_id, (el_kind, fragment, proto) in self.elements.items():
            if el_kind != kind:
                continue
            if label_part and label_part not in getattr(proto, "label", ""):
                continue
            if key_part and key_part not in widget_id:
                continue
            return widget_id, fragment, proto
        return None

    async def release_pad(self, z: list[float]) -> float | None:
        found = self.find("bidi_component", key_part="latent_pad")
        if found is None:
            self.errors.append(f"{self.name}: no latent pad on the Explore page")
            return None
        pad_id, fragment, _ = found
        state = WidgetState(id=pad_id, json_value=json.dumps({"z": z}))
        expected = ", ".join(f"{v:+.2f}" for v in z)

        def readout_shows_z(kind, msg) -> bool:
            element = msg.delta.new_element if kind == "delta" else None
            return (element is not None and element.WhichOneof("type") == "markdown"
                    and READOUT in element.markdown.body and expected in element.markdown.body)

        latency, _ = await self.run(fragment_id=fragment, widgets=[state], update=readout_shows_z, what="pad release")
        return latency

    async def upload_digit(self, data: bytes) -> float | None:
        found = self.find("file_uploader", label_part=UPLOAD_LABEL)
        if found is None:
            self.errors.append(f"{self.name}: no image uploader on the Reconstruct page")
            return None
        uploader_id, _, _ = found
        request_id = uuid.uuid4().hex
        got_urls = self._expect(lambda kind, msg: kind == "file_urls_response"
                                and msg.file_urls_response.response_id == request_id)
        msg = BackMsg()
        msg.file_urls_request.CopyFrom(FileURLsRequest(request_id=request_id, file_names=["digit.png"],
                                                       session_id=self.session_id))
        await self.send(msg)
        if await self._await(got_urls, "upload URLs") is None:
            return None
        urls = next(iter(self.file_urls.values()))
        self.file_urls.clear()
        ok = await asyncio.to_thread(self._put, urls.upload_url, data)
        if not ok:
            if self.reconnecting and self._reader is not None and self._reader.done():
                raise Dropped()
            return None
        state = WidgetState(id=uploader_id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, "digit.png", len(data)
        info.file_urls.CopyFrom(urls)
        _, done = await self.run(page="reconstruct", widgets=[state], what="upload", settle=SETTLE_S)
        return done

    def _put(self, upload_url: str, data: bytes) -> bool:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"digit.png\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        url = upload_url if upload_url.startswith("http") else self.base_url + upload_url
        request = urllib.request.Request(url, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self.xsrf,
            **self.cookie_header()})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
                return 200 <= r.status < 300
        except OSError as exc:
            if self.reconnecting and self._reader is not None and self._reader.done():
                return False  # the replica died under the upload: the student retries after reconnecting
            self.errors.append(f"{self.name}: upload failed ({exc})")
            return False


def distinct_digits(path: Path, n: int) -> list[bytes]:
    """n PNGs of the same photo, each with one pixel of its top row changed: a class uploads different files, so the
    server's per-content caches (preprocessing, encoding) must miss as they would in a real class."""
    from PIL import Image
    image = Image.open(path).convert("RGB")
    out = []
    for i in range(n):
        copy = image.copy()
        x, y = i % copy.width, i // copy.width
        r, g, b = copy.getpixel((x, y))
        copy.putpixel((x, y), ((r + 1) % 256, g, b))
        buf = io.BytesIO()
        copy.save(buf, format="PNG")
        out.append(buf.getvalue())
    assert len(set(out)) == n
    return out


class Kill:
    """--kill-replica-at: which replica dies when, and what its students saw (filled in as the class runs)."""

    def __init__(self, replica: dict | None, at_s: float | None):
        self.replica, self.at_s = replica, at_s
        self.killed_at: float | None = None  # perf_counter time of the SIGKILL
        self.recoveries_s: list[float] = []  # kill -> a working Explore page again, per student of the dead replica
        self.dropped_errors: list[str] = []  # what went wrong for them (not counted as the class's errors)

    def applies_to(self, s: Session) -> bool:
        return self.replica is not None and s.cookies.get(SERVER_COOKIE) == self.replica["name"]


SERVER_COOKIE = "vae_replica"  # serve.py's HAProxy cookie (its COOKIE)


async def reconnect(url: str, old: Session, kill: Kill, open_timeout: float) -> Session:
    """As Streamlit's frontend after a dropped connection: retry until the server answers, then a new session (the
    proxy's cookie still names the dead replica: HAProxy sends it elsewhere and sets a new one), the page again."""
    deadline = time.perf_counter() + max(open_timeout, 4 * RECOVERY_S)
    errors: list[str] = []
    while True:
        s = Session(url, old.name, kill.dropped_errors, cookies=old.cookies)
        s.reconnecting = True
        try:
            await s.connect()
            _, opened = await s.run(what="reopening Explore after the kill", timeout=open_timeout, settle=SETTLE_S)
            if opened is not None:
                return s
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException, Dropped) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        await s.close()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{old.name}: no working page after the kill ({errors[-1:]})")
        await asyncio.sleep(0.5)


async def student(base_url: str, index: int, releases: int, start_delay: float, errors: list[str],
                  release_ms: list[float], upload_ms: list[float], digit: bytes,
                  open_timeout: float = OPEN_TIMEOUT_S, kill: Kill | None = None, cookies: dict | None = None,
                  opened_s: list[float] | None = None) -> None:
    rng = random.Random(index)
    await asyncio.sleep(start_delay)
    s = Session(base_url, f"student {index}", errors, cookies=cookies)

    async def open_explore() -> None:
        _, opened = await s.run(what="opening Explore", timeout=open_timeout, settle=SETTLE_S)
        log(f"student {index} opened Explore in {opened}")
        if opened_s is not None and opened is not None:
            opened_s.append(opened)

    async def release_once() -> None:
        await asyncio.sleep(rng.uniform(0.4, 1.2))  # dragging: decoded in the browser, no server work
        z = [round(rng.uniform(-2.5, 2.5), 2), round(rng.uniform(-2.5, 2.5), 2)]
        latency = await s.release_pad(z)
        if latency is not None:
            release_ms.append(1000 * latency)

    async def upload() -> None:
        await s.run(page="reconstruct", what="opening Reconstruct", timeout=open_timeout, settle=SETTLE_S)
        await asyncio.sleep(rng.uniform(0.5, 2.0))  # picking the file
        done = await s.upload_digit(digit)
        if done is not None:
            upload_ms.append(1000 * done)
        await s.run(page="explore", what="back to Explore", timeout=open_timeout, settle=SETTLE_S)

    plan = [open_explore] + [release_once] * releases + [upload] + [release_once] * releases
    step = 0
    try:
        await s.connect()
        if kill is not None and kill.replica is not None:
            s.reconnecting = kill.applies_to(s)  # on the replica that will be killed
        while step < len(plan):
            try:
                await plan[step]()
                step += 1
            except Dropped:  # the replica was killed: reconnect like the browser, then go on from this step
                await s.close()
                s = await reconnect(base_url, s, kill, open_timeout)
                kill.recoveries_s.append(time.perf_counter() - (kill.killed_at or time.perf_counter()))
                s.errors = errors  # from now on a normal student of a live replica
                s.reconnecting = False
                if plan[step] is open_explore:
                    step += 1
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException, RuntimeError) as exc:
        errors.append(f"student {index}: {type(exc).__name__}: {exc}")  # e.g. the handshake timed out
    finally:
        await s.close()


async def trainer(base_url: str, errors: list[str], stop: asyncio.Event, info: dict,
                  kill: Kill | None = None) -> None:
    """Opens the Train page, presses "Start training", and keeps the page's polling fragment running. With a kill,
    it trains from the replica that will die, and afterwards polls from the one the proxy gives it."""
    cookies = {SERVER_COOKIE: kill.replica["name"]} if kill and kill.replica else None
    s = Session(base_url, "trainer", errors, cookies=cookies)
    try:
        await s.connect()
        found = None
        for _ in range(3):  # a fresh server's very first run may end early to reroute through app.py
            await s.run(page="train", what="opening Train", timeout=OPEN_TIMEOUT_S, settle=SETTLE_S)
            found = s.find("button", label_part="Start training")
            if found:
                break
        if found is None:
            errors.append("trainer: no 'Start training' button")
            return
        if found[2].disabled:  # no training split here (VAE_DATA_DIR): the demo run on the bundled test split
            found = s.find("button", label_part="bundled test split")
            info["demo"] = True
        name_box = s.find("text_input", label_part="Run name")
        widgets = [WidgetState(id=found[0], trigger_value=True)]
        if name_box:
            widgets.append(WidgetState(id=name_box[0], string_value="load bench"))
        await s.run(page="train", widgets=widgets, what="starting training", timeout=OPEN_TIMEOUT_S)
        info["started"] = True
        s.reconnecting = bool(kill and kill.replica)
        while not stop.is_set():
            try:
                for fragment, interval in list(s.auto_reruns.items()):
                    await s.run(page="train", fragment_id=fragment, auto=True, what="training progress")
            except Dropped:
                await s.close()
                s = Session(base_url, "trainer", errors, cookies=s.cookies)
                await s.connect()
                await s.run(page="train", what="reopening Train", timeout=OPEN_TIMEOUT_S, settle=SETTLE_S)
                info["reopened_after_kill"] = True
            await asyncio.sleep(1.0)
    except (OSError, websockets.WebSocketException) as exc:
        errors.append(f"trainer: {type(exc).__name__}: {exc}")
    finally:
        await s.close()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy (not idle or waiting on I/O) since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def bench_runs(runs_dir: Path, before: set[str]) -> list[Path]:
    return [d for d in runs_dir.iterdir() if d.is_dir() and d.name not in before] if runs_dir.is_dir() else []


def stop_training(runs_dir: Path, new_runs: list[Path]) -> float:
    """Ask the bench's run to stop (its stop file), wait for its process, remove its folder; returns its peak RSS."""
    peak = 0.0
    for run_dir in new_runs:
        try:
            pid = json.loads((run_dir / "run.json").read_text()).get("pid")
        except (OSError, ValueError):
            pid = None
        if pid:
            peak = max(peak, rss_mb(pid, "VmHWM"))
        (run_dir / "stop").touch()
        deadline = time.time() + 30
        while pid and Path(f"/proc/{pid}").exists() and time.time() < deadline:
            time.sleep(0.5)
        shutil.rmtree(run_dir, ignore_errors=True)
    return peak


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 1)


class Server:
    """What the class runs against: one `streamlit run` (default), serve.py started here (--replicas N), or an
    address already serving (--url, with --serve-info for its processes). Tracks the server processes' CPU and memory,
    the replicas' too after one dies (the last reading of each pid counts)."""

    def __init__(self, args):
        self.proc = self.serve = None
        self.info_path = args.serve_info
        if args.url:
            self.url = args.url.rstrip("/")
        elif args.replicas:
            self.info_path = Path(tempfile.mkdtemp(prefix="load-bench-")) / "serve.json"
            port = free_port()
            shared = ["--shared", str(args.shared)] if args.shared else []
            self.serve = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), "--replicas", str(args.replicas),
                                           "--port", str(port), "--address", "127.0.0.1", "--info",
                                           str(self.info_path), *shared], cwd=ROOT, stdout=subprocess.DEVNULL)
            deadline = time.time() + 300
            while not self.info_path.exists():
                if self.serve.poll() is not None or time.time() > deadline:
                    self.stop()  # serve.py (and whatever replicas it started) must not outlive the bench
                    raise RuntimeError("serve.py did not start (run it alone to see why)")
                time.sleep(0.5)
            self.url = f"http://127.0.0.1:{port}"
        else:
            self.proc, self.url = start_streamlit(cwd=ROOT)
        self.cpu: dict[int, float] = {}  # pid -> last CPU seconds read
        self.rss: dict[int, float] = {}

    def info(self) -> dict | None:
        try:
            return json.loads(self.info_path.read_text()) if self.info_path else None
        except (OSError, ValueError):
            return None

    def replicas(self) -> list[dict]:
        info = self.info()
        return info["replicas"] if info else []

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else [r["pid"] for r in self.replicas()]

    def sample(self) -> None:
        for pid in self.pids():
            try:
                self.cpu[pid] = cpu_seconds(pid)
            except (OSError, IndexError):
                pass
            rss = rss_mb(pid)
            if rss:
                self.rss[pid] = rss

    def cpu_seconds(self) -> float:
        self.sample()
        return sum(self.cpu.values())

    def rss_total(self) -> float:
        return sum(rss_mb(pid) for pid in self.pids())

    def peak_hwm(self) -> float:
        return sum(rss_mb(pid, "VmHWM") for pid in self.pids())

    def stop(self) -> None:
        for p in (self.proc, self.serve):
            if p is not None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


async def warm_up(server: Server, digit: bytes) -> dict:
    """The teacher opens the app first, once per replica (the proxy's cookie picks it), so caches are warm for the
    class. Returns the seconds each replica's first Explore page took (one after another: a replica after the first
    finds in the shared cache what the first stored)."""
    seconds = {}
    for replica in server.replicas() or [None]:
        warm_errors: list[str] = []
        opened: list[float] = []
        cookies = {SERVER_COOKIE: replica["name"]} if replica else None
        await student(server.url, -1, 1, 0.0, warm_errors, [], [], digit, open_timeout=WARMUP_TIMEOUT_S,
                      cookies=cookies, opened_s=opened)
        seconds[replica["name"] if replica else "server"] = round(opened[0], 2) if opened else None
        log(f"warm-up of {replica and replica['name']} done ({len(warm_errors)} errors: {warm_errors[:2]})")
    return seconds


async def bench(args) -> dict:
    server = Server(args)
    runs_dir = Path(args.runs_dir)
    before = {d.name for d in runs_dir.iterdir()} if runs_dir.is_dir() else set()
    errors: list[str] = []
    release_ms: list[float] = []
    upload_ms: list[float] = []
    samples: list[float] = []
    digits = distinct_digits(DIGIT, args.sessions + 1)
    train_info: dict = {}
    replicas = server.replicas()
    if args.kill_replica_at is not None and not replicas:
        server.stop()  # the server this bench started must not outlive it
        raise SystemExit("--kill-replica-at needs serve.py's replicas: --replicas N, or --url with --serve-info")
    kill = Kill(replicas[0] if args.kill_replica_at is not None else None, args.kill_replica_at)
    try:
        warmup_s = await warm_up(server, digits[-1])
        baseline = server.rss_total()

        stop = asyncio.Event()
        sampling = True

        async def sample_memory() -> None:
            while sampling:
                samples.append(server.rss_total())
                server.sample()
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample_memory())
        training = asyncio.create_task(trainer(server.url, errors, stop, train_info, kill)) if args.train else None
        if training:
            await asyncio.sleep(3.0)  # the run is started before the class begins to interact
        started = time.perf_counter()
        cpu_before = (server.cpu_seconds(), time.process_time(), machine_busy_s())
        students = asyncio.gather(*(student(server.url, i, args.releases, args.ramp * i / max(1, args.sessions),
                                            errors, release_ms, upload_ms, digits[i], kill=kill)
                                    for i in range(args.sessions)))

        async def killer() -> None:
            await asyncio.sleep(kill.at_s)
            kill.killed_at = time.perf_counter()
            os.kill(kill.replica["pid"], signal.SIGKILL)
            log(f"killed replica {kill.replica['name']} (pid {kill.replica['pid']})")

        killing = asyncio.create_task(killer()) if kill.replica else None
        try:
            await asyncio.wait_for(students, args.max_seconds)  # bounded: a stuck server cannot hang the bench
        except asyncio.TimeoutError:
            errors.append(f"the class did not finish within {args.max_seconds:.0f} s")
        elapsed = time.perf_counter() - started
        cpu = [round(after - before, 1) for after, before in
               zip((server.cpu_seconds(), time.process_time(), machine_busy_s()), cpu_before)]
        if killing:
            killing.cancel()
        stop.set()
        new_runs = bench_runs(runs_dir, before)
        training_after = [supervisor.read_status(d) for d in new_runs]
        if training:
            await training
        sampling = False
        await sampler
        peak_hwm = server.peak_hwm()
    finally:
        new_runs = bench_runs(runs_dir, before)
        train_peak = stop_training(runs_dir, new_runs)
        server.stop()
    result = {
        "sessions": args.sessions, "ramp_s": args.ramp, "errors": len(errors),
        "server": (f"{args.url} (already running)" if args.url else
                   f"serve.py, {args.replicas} replicas behind HAProxy" if args.replicas else "one streamlit process"),
        "release_to_update_p50_ms": percentile(release_ms, 0.5),
        "release_to_update_p95_ms": percentile(release_ms, 0.95),
        "release_to_update_max_ms": percentile(release_ms, 1.0),
        "releases_measured": len(release_ms), "releases_planned": 2 * args.releases * args.sessions,
        "upload_to_result_p50_ms": percentile(upload_ms, 0.5), "upload_to_result_p95_ms": percentile(upload_ms, 0.95),
        "uploads_measured": len(upload_ms),
        "first_explore_page_s": warmup_s,
        "server_rss_after_warmup_mb": round(baseline, 1),
        "server_peak_rss_mb": round(max(samples + [peak_hwm]), 1),
        "server_rss_end_mb": round(samples[-1], 1) if samples else None,
        "training_session": bool(train_info.get("started")) and bool(new_runs),
        "training_on": "the bundled test split (no VAE_DATA_DIR)" if train_info.get("demo") else "the training split",
        "training_process_peak_rss_mb": round(train_peak, 1),
        "duration_s": round(elapsed, 1),
        # Where the machine's CPU went while the class ran (duration_s x cpus is all there was): the server (all its
        # replicas), this bench's own clients (other machines in a real class), and everything (training included).
        "cpu_s_server": cpu[0], "cpu_s_server_per_student": round(cpu[0] / max(1, args.sessions), 3),
        "cpu_s_bench_clients": cpu[1], "cpu_s_machine": cpu[2],
        "cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
        "other_training_job_running": subprocess.run(["pgrep", "-f", "train_models.sh"],
                                                     capture_output=True).returncode == 0,
        "first_errors": errors[:5],
    }
    if kill.replica:
        result["kill"] = {
            "replica": kill.replica["name"], "at_s": kill.at_s, "done": kill.killed_at is not None,
            "students_reconnected": len(kill.recoveries_s),
            "recovery_max_s": round(max(kill.recoveries_s), 2) if kill.recoveries_s else None,
            "recovery_p50_s": round(sorted(kill.recoveries_s)[len(kill.recoveries_s) // 2], 2)
            if kill.recoveries_s else None,
            "recovered_within_10s": all(r <= RECOVERY_S for r in kill.recoveries_s),
            "their_dropped_errors": len(kill.dropped_errors), "their_first_errors": kill.dropped_errors[:3],
            "training_states_after": [st.state if st else None for st in training_after],
            "trainer_reopened_train_page": bool(train_info.get("reopened_after_kill")),
        }
    return result


def cpu_hogs(n: int) -> list[subprocess.Popen]:
    """n processes that only burn CPU (ended by main)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="simultaneous student sessions")
    parser.add_argument("--releases", type=int, default=5, help="pad releases before and after the upload")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the students arrive")
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="stop the class after this long")
    parser.add_argument("--no-train", dest="train", action="store_false", help="no training session")
    parser.add_argument("--cpu-hogs", type=int, default=0, help="busy loops beside the class: a slower machine")
    parser.add_argument("--replicas", type=int, default=0,
                        help="start serve.py with N replicas behind HAProxy and run the class through it")
    parser.add_argument("--url", default="", help="run the class against this running server (e.g. the proxy)")
    parser.add_argument("--serve-info", type=Path, default=None,
                        help="with --url: serve.py's --info file (the replicas' processes: CPU, memory, kill)")
    parser.add_argument("--shared", type=Path, default=None,
                        help="with --replicas: serve.py's --shared folder (an empty one: first visits from scratch)")
    parser.add_argument("--runs-dir", default=None,
                        help="the server's runs folder, where the bench's run is removed at the end (default: "
                             "--shared's runs/, else $VAE_RUNS_DIR, else runs/app)")
    parser.add_argument("--kill-replica-at", type=float, default=None, metavar="SECONDS",
                        help="SIGKILL the first replica this long after the class starts")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.runs_dir is None:
        args.runs_dir = (args.shared / "runs" if args.shared else os.environ.get("VAE_RUNS_DIR")
                         or ROOT / "runs" / "app")
    VERBOSE = args.verbose
    hogs = cpu_hogs(args.cpu_hogs)
    try:
        result = asyncio.run(bench(args))
    finally:
        for hog in hogs:
            hog.kill()
    print(json.dumps({**result, "cpu_hogs": args.cpu_hogs}))


if __name__ == "__main__":
    main()
