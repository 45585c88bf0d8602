// A drawing canvas for one digit: mouse, pen and touch through pointer events, a thick round brush, undo and
// clear. Strokes are kept as vectors (lists of points), so undo redraws the rest and the picture sent to Python is
// re-rendered at the output size with anti-aliasing rather than shrunk from screen pixels. Python hears the
// drawing only at the END of a stroke (and after undo or clear): setStateValue("drawing", {size, ink, strokes}),
// where ink is the base64 of size*size bytes, each pixel's ink coverage 0..255 (the canvas's alpha channel).

// Module scope survives reruns and re-invocations: the strokes of each canvas (by component key).
const DRAWINGS = new Map();  // key -> {strokes: [[x, y], ...][], version}
const STATS = (window.__drawCanvas = window.__drawCanvas || {sends: 0, strokes: 0});

function drawStrokes(ctx, strokes, scale, brush) {
  ctx.save();
  ctx.scale(scale, scale);
  ctx.strokeStyle = ctx.fillStyle = "#000";
  ctx.lineWidth = brush;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of strokes) {
    if (stroke.length === 1) {  // a tap: a round dot
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], brush / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (let i = 1; i < stroke.length; i++) ctx.lineTo(stroke[i][0], stroke[i][1]);
    ctx.stroke();
  }
  ctx.restore();
}

function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export default function (component) {
  const {parentElement, setStateValue, key} = component;
  const cfg = typeof component.data === "string" ? JSON.parse(component.data) : component.data || {};
  const size = cfg.size_px || 280, out = cfg.out_px || 56, brush = cfg.brush_px || 22;
  const root = parentElement.querySelector(".dc");
  const canvas = root.querySelector(".dc-canvas");
  const undoBtn = root.querySelector(".dc-undo");
  const clearBtn = root.querySelector(".dc-clear");
  const status = root.querySelector(".dc-status");
  if (!DRAWINGS.has(key)) DRAWINGS.set(key, {strokes: [], version: 0});
  const drawing = DRAWINGS.get(key);

  const dpr = window.devicePixelRatio || 1;  // sharp on retina screens and projectors
  canvas.style.width = canvas.style.height = `${size}px`;
  canvas.width = canvas.height = Math.round(size * dpr);
  const ctx = canvas.getContext("2d");

  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawStrokes(ctx, drawing.strokes, dpr, brush);
    undoBtn.disabled = clearBtn.disabled = drawing.strokes.length === 0;
    status.textContent = drawing.strokes.length ? "" : "Draw one digit, large, in the middle.";
  }

  function send() {
    // Render the strokes again at out x out (anti-aliased) and send each pixel's coverage: the alpha channel.
    const small = document.createElement("canvas");
    small.width = small.height = out;
    const sctx = small.getContext("2d", {willReadFrequently: true});
    drawStrokes(sctx, drawing.strokes, out / size, brush);
    const rgba = sctx.getImageData(0, 0, out, out).data;
    const ink = new Uint8Array(out * out);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i + 3];
    drawing.version += 1;
    STATS.sends += 1;
    setStateValue("drawing", {size: out, ink: toBase64(ink), strokes: drawing.strokes.length,
                              version: drawing.version});
  }

  function point(e) {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * size) / r.width, ((e.clientY - r.top) * size) / r.height];
  }

  let current = null;
  const controller = new AbortController();
  const opts = {signal: controller.signal};
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 && e.pointerType === "mouse") return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);  // keep the stroke even if the pointer leaves the canvas
    current = [point(e)];
    drawing.strokes.push(current);
    redraw();
  }, opts);
  canvas.addEventListener("pointermove", (e) => {
    if (!current) return;
    // Coalesced events: a fast pen or mouse delivers several positions per frame; keep them all for a smooth line.
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) current.push(point(ev));
    redraw();
  }, opts);
  const end = () => {
    if (!current) return;
    current = null;
    STATS.strokes += 1;
    send();
  };
  canvas.addEventListener("pointerup", end, opts);
  canvas.addEventListener("pointercancel", end, opts);
  undoBtn.addEventListener("click", () => {
    drawing.strokes.pop();
    redraw();
    send();
  }, opts);
  clearBtn.addEventListener("click", () => {
    drawing.strokes = [];
    redraw();
    send();
  }, opts);

  redraw();
  return () => controller.abort();  // Streamlit calls this before re-invoking us, and on unmount
}
