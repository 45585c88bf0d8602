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
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import subprocess
import sys
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
from bench.harness import start_streamlit  # noqa: E402

TIMEOUT_S = 10.0  # a pad release or an upload that takes longer than this counts as an error
OPEN_TIMEOUT_S = 60.0  # opening a page (a full script run) that takes longer than this counts as an error
WARMUP_TIMEOUT_S = 600.0  # the teacher's first visit builds the caches (encoding the test set ...)
SETTLE_S = 300.0  # after a timeout, how long a session still waits for the page before its next step
DIGIT = ROOT / "tests" / "data" / "images" / "digit_on_paper.png"
READOUT = "Python received"
UPLOAD_LABEL = "Photos, scans or drawings"
VERBOSE = False


def log(*parts) -> None:
    if VERBOSE:
        print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


class Session:
    """One browser tab's worth of protocol: runs, fragment reruns, widget values, uploads."""

    def __init__(self, base_url: str, name: str, errors: list[str]):
        self.base_url, self.name, self.errors = base_url, name, errors
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
        def get_cookie() -> str:
            with urllib.request.urlopen(self.base_url + "/_stcore/health", timeout=OPEN_TIMEOUT_S) as r:  # sets it
                for header in r.headers.get_all("Set-Cookie") or []:
                    if header.startswith("_streamlit_xsrf="):
                        return header.split(";")[0].split("=", 1)[1]
            return ""

        self.xsrf = await asyncio.to_thread(get_cookie)
        ws_url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        # No protocol-level pings: a browser does not send them, and a busy server would be dropped for a late pong.
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2**27, ping_interval=None,
                                          open_timeout=OPEN_TIMEOUT_S,
                                          additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"})
        self._reader = asyncio.create_task(self._read())

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
            if exc.rcvd is None or exc.rcvd.code != 1000:
                self.errors.append(f"{self.name}: connection dropped ({exc})")
        except asyncio.CancelledError:
            pass

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
        self._waiters.append((predicate, future))
        return future

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
        await self.ws.send(msg.SerializeToString())
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
        await self.ws.send(msg.SerializeToString())
        if await self._await(got_urls, "upload URLs") is None:
            return None
        urls = next(iter(self.file_urls.values()))
        self.file_urls.clear()
        ok = await asyncio.to_thread(self._put, urls.upload_url, data)
        if not ok:
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
            "Cookie": f"_streamlit_xsrf={self.xsrf}"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
                return 200 <= r.status < 300
        except OSError as exc:
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


async def student(base_url: str, index: int, releases: int, start_delay: float, errors: list[str],
                  release_ms: list[float], upload_ms: list[float], digit: bytes,
                  open_timeout: float = OPEN_TIMEOUT_S) -> None:
    rng = random.Random(index)
    await asyncio.sleep(start_delay)
    s = Session(base_url, f"student {index}", errors)
    try:
        await s.connect()
        _, opened = await s.run(what="opening Explore", timeout=open_timeout, settle=SETTLE_S)
        log(f"student {index} opened Explore in {opened}")

        async def explore_a_while() -> None:
            for _ in range(releases):
                await asyncio.sleep(rng.uniform(0.4, 1.2))  # dragging: decoded in the browser, no server work
                z = [round(rng.uniform(-2.5, 2.5), 2), round(rng.uniform(-2.5, 2.5), 2)]
                latency = await s.release_pad(z)
                if latency is not None:
                    release_ms.append(1000 * latency)

        await explore_a_while()
        await s.run(page="reconstruct", what="opening Reconstruct", timeout=open_timeout, settle=SETTLE_S)
        await asyncio.sleep(rng.uniform(0.5, 2.0))  # picking the file
        done = await s.upload_digit(digit)
        if done is not None:
            upload_ms.append(1000 * done)
        await s.run(page="explore", what="back to Explore", timeout=open_timeout, settle=SETTLE_S)
        await explore_a_while()
    except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as exc:  # e.g. the handshake timed out
        errors.append(f"student {index}: {type(exc).__name__}: {exc}")
    finally:
        await s.close()


async def trainer(base_url: str, errors: list[str], stop: asyncio.Event, info: dict) -> None:
    """Opens the Train page, presses "Start training", and keeps the page's polling fragment running."""
    s = Session(base_url, "trainer", errors)
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
        name_box = s.find("text_input", label_part="Run name")
        widgets = [WidgetState(id=found[0], trigger_value=True)]
        if name_box:
            widgets.append(WidgetState(id=name_box[0], string_value="load bench"))
        await s.run(page="train", widgets=widgets, what="starting training", timeout=OPEN_TIMEOUT_S)
        info["started"] = True
        while not stop.is_set():
            for fragment, interval in list(s.auto_reruns.items()):
                await s.run(page="train", fragment_id=fragment, auto=True, what="training progress")
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


async def bench(args) -> dict:
    proc, url = start_streamlit(cwd=ROOT)
    runs_dir = ROOT / "runs" / "app"
    before = {d.name for d in runs_dir.iterdir()} if runs_dir.is_dir() else set()
    errors: list[str] = []
    release_ms: list[float] = []
    upload_ms: list[float] = []
    samples: list[float] = []
    digits = distinct_digits(DIGIT, args.sessions + 1)
    train_info: dict = {}
    try:
        # The teacher opens the app first: caches (encodings, figures, the pad's weights) are warm for the class.
        warm_errors: list[str] = []
        await student(url, -1, 1, 0.0, warm_errors, [], [], digits[-1], open_timeout=WARMUP_TIMEOUT_S)
        baseline = rss_mb(proc.pid)
        log(f"warm-up done ({len(warm_errors)} errors: {warm_errors[:2]}), server RSS {baseline:.0f} MB")

        stop = asyncio.Event()
        sampling = True

        async def sample_memory() -> None:
            while sampling:
                samples.append(rss_mb(proc.pid))
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample_memory())
        training = asyncio.create_task(trainer(url, errors, stop, train_info)) if args.train else None
        if training:
            await asyncio.sleep(3.0)  # the run is started before the class begins to interact
        started = time.perf_counter()
        cpu_before = (cpu_seconds(proc.pid), time.process_time(), machine_busy_s())
        students = asyncio.gather(*(student(url, i, args.releases, args.ramp * i / max(1, args.sessions), errors,
                                            release_ms, upload_ms, digits[i]) for i in range(args.sessions)))
        try:
            await asyncio.wait_for(students, args.max_seconds)  # bounded: a stuck server cannot hang the bench
        except asyncio.TimeoutError:
            errors.append(f"the class did not finish within {args.max_seconds:.0f} s")
        elapsed = time.perf_counter() - started
        cpu = [round(after - before, 1) for after, before in
               zip((cpu_seconds(proc.pid), time.process_time(), machine_busy_s()), cpu_before)]
        stop.set()
        if training:
            await training
        sampling = False
        await sampler
        peak_hwm = rss_mb(proc.pid, "VmHWM")
    finally:
        new_runs = bench_runs(runs_dir, before)
        train_peak = stop_training(runs_dir, new_runs)
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "sessions": args.sessions, "errors": len(errors),
        "release_to_update_p50_ms": percentile(release_ms, 0.5),
        "release_to_update_p95_ms": percentile(release_ms, 0.95),
        "release_to_update_max_ms": percentile(release_ms, 1.0),
        "releases_measured": len(release_ms), "releases_planned": 2 * args.releases * args.sessions,
        "upload_to_result_p50_ms": percentile(upload_ms, 0.5), "upload_to_result_p95_ms": percentile(upload_ms, 0.95),
        "uploads_measured": len(upload_ms),
        "server_rss_after_warmup_mb": round(baseline, 1),
        "server_peak_rss_mb": round(max(samples + [peak_hwm]), 1),
        "server_rss_end_mb": round(samples[-1], 1) if samples else None,
        "training_session": bool(train_info.get("started")), "training_process_peak_rss_mb": round(train_peak, 1),
        "duration_s": round(elapsed, 1),
        # Where the machine's CPU went while the class ran (duration_s x cpus is all there was): the server, this
        # bench's own 30 clients (other machines in a real class), and everything (training included).
        "cpu_s_server": cpu[0], "cpu_s_bench_clients": cpu[1], "cpu_s_machine": cpu[2],
        "cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
        "other_training_job_running": subprocess.run(["pgrep", "-f", "train_models.sh"],
                                                     capture_output=True).returncode == 0,
        "first_errors": errors[:5],
    }


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
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
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
