// The latent surface: the map of the test digits IS the decoder. Every test digit sits at its posterior mean mu,
// coloured by label; hover anywhere and the digit at that z is decoded in the same animation frame (createDecoder,
// prepended from latent_pad_decoder.js); press and drag moves z; click a dot to select that test digit (its image,
// its reconstruction and its posterior ellipse show at once, and Python hears the index). Wheel or pinch zooms,
// Shift+drag or two fingers pan; zoomed in far enough, the dots become the digits themselves.
// Python hears z on release (setStateValue("z")), a selected test digit ("selected") and a clicked mark ("mark").
//
// The state is one vector z (D values). The surface shows a plane through latent space: origin o, orthonormal axes
// u and v. Plane coordinates are a = (z - o).u and b = (z - o).v; moving to (a', b') adds (a'-a) u + (b'-b) v to z,
// so the dimensions off the plane keep the sliders' values. A t-SNE view has no inverse: there the surface decodes
// the mu of the test digit nearest the pointer ("snap" mode).

// Module scope survives reruns (Streamlit imports this module once per page): files are fetched once per model.
const MODELS = new Map();     // model id -> Promise<{decode, mu, sigma, labels}>
const FILES = new Map();      // url -> Promise<ArrayBuffer> (test images, t-SNE points)
const INSTANCES = new Map();  // component key -> {z, nonce, view, hidden, selected, selectNonce}: survives reruns

// Test and benchmark hook: window.__latentPad reads the state of one pad (the focused one, else the one last used,
// else the first on screen); window.__latentPad.pad(key) reads a given pad's. Each pad keeps its own state: two pads
// on a page (Reconstruct's tabs) do not share a zoom, a selection or a draw count.
const PAD_FIELDS = ["draws", "lastDrawMs", "ready", "selected", "highlightMs", "thumbs", "zoom", "hidden", "imagesReady",
                    "backgroundMs", "marks", "stacked", "surfacePx", "pointPx", "nPoints", "surfaceRect", "z",
                    "announced", "digitLabel", "classNames", "key"];
function padHook() {
  if (window.__latentPad && window.__latentPad.pads) return window.__latentPad;
  const pads = new Map();  // component key -> that pad's stats
  const shown = (s) => s.el && s.el.isConnected && s.el.getClientRects().length > 0;
  const pick = () => {
    const all = [...pads.values()], live = all.filter(shown);
    return live.find((s) => s.el.matches(":focus")) || live.find((s) => s.key === hook.current) || live[0] ||
      all.find((s) => s.el && s.el.isConnected) || all[all.length - 1] || {};
  };
  const hook = {pads, current: null, invocations: 0, errors: [], pad: (key) => pads.get(key)};
  for (const f of PAD_FIELDS) Object.defineProperty(hook, f, {get: () => pick()[f], enumerable: true});
  window.__latentPad = hook;
  return hook;
}
const HOOK = padHook();

function padStats(key) {  // one pad's stats, kept across re-invocations of the same key
  if (!HOOK.pads.has(key)) {
    HOOK.pads.set(key, {key, draws: 0, lastDrawMs: 0, ready: false, errors: HOOK.errors, selected: null,
                        highlightMs: 0, thumbs: 0, zoom: 1, hidden: [], imagesReady: false, backgroundMs: 0, marks: 0,
                        stacked: false, surfacePx: 0, z: null, announced: "", digitLabel: null, el: null});
  }
  return HOOK.pads.get(key);
}

function fetchBuffer(url, gz) {
  if (!FILES.has(url)) {
    const early = window.__vaeEarly && window.__vaeEarly.get(url);  // started by the loader with this code
    if (early) window.__vaeEarly.set(url, null);  // a Response is read once
    const p = (early || fetch(url)).then((r) => {
      if (!r.ok) throw new Error(`could not load ${url} (${r.status} ${r.statusText})`);
      if (gz && typeof DecompressionStream !== "undefined")
        return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
      if (gz) throw new Error("this browser cannot unpack the digit images");
      return r.arrayBuffer();
    });
    p.catch(() => { FILES.delete(url); if (early) window.__vaeEarly.delete(url); });  // a later mount may retry
    FILES.set(url, p);
  }
  return FILES.get(url);
}

function loadModel(model) {
  if (!MODELS.has(model.id)) {
    const promise = fetchBuffer(model.url, !!model.gz).then((buffer) => {
      const all = new Float32Array(buffer);
      const n = model.n_points, d = model.latent_dim;
      return {
        decode: createDecoder(model.layers, all.subarray(0, model.mu_offset)),
        mu: all.subarray(model.mu_offset, model.mu_offset + n * d),
        sigma: model.sigma_offset ? all.subarray(model.sigma_offset, model.sigma_offset + n * d) : null,
        labels: all.subarray(model.labels_offset, model.labels_offset + n),
      };
    });
    promise.catch(() => MODELS.delete(model.id));
    MODELS.set(model.id, promise);
  }
  return MODELS.get(model.id);
}

function gaussian() {  // Box-Muller
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

// The map's keys: its accessible name and the line under it say them (latent_pad.py's KEYS_HINT is the visible one).
const KEYS = "Arrow keys move z, with Shift in larger steps; Enter or Space selects the test digit nearest z; Escape " +
  "clears the selection; plus and minus zoom at z; W, A, S and D pan; 0 shows the whole map; Home returns z to the " +
  "origin.";

function num(x) {  // 2 decimals with a true minus sign (a screen reader says "minus"), and no "-0.00"
  return Math.abs(x) < 0.005 ? "0.00" : x.toFixed(2).replace("-", "\u2212");
}

function fmt(x) {
  return (x >= 0 ? "\u2007" : "") + x.toFixed(2);  // figure space keeps columns aligned
}

function niceStep(span, target) {  // a 1-2-5 step giving about `target` grid lines over span
  const raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  return p * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

function toGrey(ctxCanvas, pixels) {  // 784 values in [0, 1] (or 0..255 with scale) -> white ink on black
  const ctx = ctxCanvas.getContext("2d"), img = ctx.createImageData(28, 28);
  const scale = pixels instanceof Uint8Array ? 1 : 255;
  for (let i = 0; i < 784; i++) {
    const g = Math.round(pixels[i] * scale);
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function base64Bytes(text) {
  const raw = atob(text), out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export default function (component) {
  HOOK.invocations += 1;  // Streamlit re-invokes us only when the data changes (tests count this)
  const {parentElement, setStateValue, key} = component;
  const STATS = padStats(key);
  const data = JSON.parse(component.data.spec);
  const root = parentElement.querySelector(".lp");
  const $ = (sel) => root.querySelector(sel);
  const pad = $(".lp-pad"), digit = $(".lp-digit"), readout = $(".lp-z"), status = $(".lp-status");
  const note = $(".lp-note"), slidersBox = $(".lp-sliders"), legend = $(".lp-legend"), row = $(".lp-row");
  const selBox = $(".lp-selected");
  STATS.el = pad;
  const D = data.model.latent_dim;
  const plane = data.plane;
  const snap = !!data.view;  // t-SNE: points at given 2-D positions, the pointer picks the nearest digit
  const [lo, hi] = plane.extent;
  const large = !!data.large;
  const fontPx = large ? 18 : 12;
  root.classList.toggle("lp-large", large);
  // a touch screen has no hover, Shift key or wheel: its own line of gestures when the page gave one
  const touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  $(".lp-hint").textContent = (touch && data.hint_touch) || data.hint || "";
  $(".lp-keys").textContent = data.keys_hint || "";
  $(".lp-keysbox").hidden = !data.keys_hint;
  if (!touch) $(".lp-keysbox").open = true;  // folded on a touch screen (one line), where keys are rare
  const marks = (data.marks || []).map((m) => ({...m, pixels: m.image ? base64Bytes(m.image) : null}));
  STATS.marks = marks.length;

  // --- state that survives reruns; Python moves z or the selection by sending a new nonce
  let inst = INSTANCES.get(key);
  if (!inst || inst.z.length !== D) {
    inst = {z: Float64Array.from(data.z), nonce: data.z_nonce, view: null, hidden: new Set(), selected: null,
            selectNonce: null, extent: null};
    INSTANCES.set(key, inst);
  }
  if (inst.nonce !== data.z_nonce) { inst.z = Float64Array.from(data.z); inst.nonce = data.z_nonce; }
  if (inst.selectNonce !== data.select_nonce) { inst.selected = data.selected ?? null; inst.selectNonce = data.select_nonce; }
  if (!inst.view || inst.extent !== `${lo},${hi},${snap}`) {  // a new plane or view: show all of it
    inst.view = {cx: (lo + hi) / 2, cy: (lo + hi) / 2, span: hi - lo};
    inst.extent = `${lo},${hi},${snap}`;
  }
  const z = inst.z, view = inst.view, hidden = inst.hidden;
  let highlight = data.highlight ?? null;  // the mark Python asked to highlight
  let preview = null;  // z under a hovering (not pressed) pointer; drawn but not committed
  let cursor = null;  // surface pixel position of the pointer, or null when it is outside
  let snapIndex = null;  // snap mode: the digit whose mu z is

  // --- geometry: the surface is a square canvas, W css px, sized to the column (and the screen's height)
  const dpr = window.devicePixelRatio || 1;
  if (!data.digit_px) data.digit_px = 196;
  let W = 300, digitPx = data.digit_px;
  const background = document.createElement("canvas");
  const padCtx = pad.getContext("2d");
  const digitCtx = digit.getContext("2d");
  const image = digitCtx.createImageData(28, 28);

  function layout() {
    const avail = Math.max(root.clientWidth || parentElement.clientWidth || 360, 240);
    const side = (large ? data.digit_px : Math.max(data.digit_px, 250)) + 16;  // large: a projector's width goes to the map
    const stacked = avail < side + 380;
    // the whole surface on the first screen: from where it starts down to the window's bottom edge
    const top = root.getBoundingClientRect().top + window.scrollY;
    // (a projector's 720 rows: at least 62 % of them, even if its bottom edge then needs a little scroll)
    const tall = Math.max(320, Math.round(Math.min(Math.max(window.innerHeight - Math.min(top, 400) - 16,
                                                            window.innerHeight * (large ? 0.62 : 0.5)),
                                                   window.innerHeight * 0.9)));
    const w = Math.floor(stacked ? Math.min(avail - 2, Math.max(tall, 0.9 * avail)) :
                         Math.min(avail - side - 2, data.surface_px || 640, tall));
    row.classList.toggle("lp-stacked", stacked);
    const d = stacked ? Math.min(data.digit_px, Math.floor(avail * 0.62)) : data.digit_px;
    STATS.stacked = stacked;
    if (w === W && d === digitPx && pad.width === Math.round(w * dpr)) return false;
    W = w; digitPx = d;
    STATS.surfacePx = W;
    pad.width = pad.height = background.width = background.height = Math.round(W * dpr);
    pad.style.width = pad.style.height = W + "px";
    digit.style.width = digit.style.height = digitPx + "px";
    $(".lp-surfacewrap").style.width = W + 2 + "px";
    $(".lp-side").style.width = stacked ? "100%" : side - 16 + "px";
    return true;
  }

  let T = null;  // the view's pixel mapping (plane_geometry.js), rebuilt when the view or the size changes
  const tf = () => (T && T.cx === view.cx && T.cy === view.cy && T.span === view.span && T.W === W ? T
    : (T = {...viewTransform(view, W), cx: view.cx, cy: view.cy, span: view.span, W}));
  const scale = () => tf().scale;  // css px per latent unit
  const toX = (a) => tf().toX(a), toY = (b) => tf().toY(b);
  const fromX = (x) => tf().fromX(x), fromY = (y) => tf().fromY(y);
  const o = Float64Array.from(plane.origin), u = Float64Array.from(plane.u), v = Float64Array.from(plane.v);
  const coords = (vec, off = 0) => planeCoords(o, u, v, vec, off);
  const moveTo = (vec, a, b) => moveInPlane(o, u, v, vec, a, b);

  // --- the model's points in plane (or t-SNE) coordinates, filled once loaded
  let model = null, PA = null, PB = null, byClass = null, images = null, selSigma = null;
  const thumbCache = new Map();

  function projectPoints(points2d) {
    const n = model.labels.length;
    PA = new Float32Array(n); PB = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      if (points2d) { PA[k] = points2d[2 * k]; PB[k] = points2d[2 * k + 1]; }
      else { const [a, b] = coords(model.mu, k * D); PA[k] = a; PB[k] = b; }
    }
    byClass = new Map();
    for (let k = 0; k < n; k++) {
      const c = model.labels[k];
      if (!byClass.has(c)) byClass.set(c, []);
      byClass.get(c).push(k);
    }
  }

  function thumb(k) {  // the test digit's ink in its class colour, on transparent, cached
    let c = thumbCache.get(k);
    if (!c) {
      c = document.createElement("canvas");
      c.width = c.height = 28;
      const ctx = c.getContext("2d"), img = ctx.createImageData(28, 28);
      const hex = data.colors[model.labels[k] % data.colors.length];
      const r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
      for (let i = 0; i < 784; i++) {
        img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b;
        img.data[4 * i + 3] = images[k * 784 + i];
      }
      ctx.putImageData(img, 0, 0);
      if (thumbCache.size > 4000) thumbCache.delete(thumbCache.keys().next().value);
      thumbCache.set(k, c);
    }
    return c;
  }

  function drawBackground() {
    const t0 = performance.now();
    STATS.zoom = (hi - lo) / view.span;  // before the points: they are drawn at this redraw's zoom
    const ctx = background.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, W);
    // grid and tick labels at a 1-2-5 step, so the numbers stay readable at every zoom
    const step = niceStep(view.span, W / (fontPx * 6));
    const a0 = fromX(0), a1 = fromX(W), b0 = fromY(W), b1 = fromY(0);
    ctx.lineWidth = 1;
    ctx.font = `${fontPx}px sans-serif`;
    const ticks = [];
    for (let t = Math.ceil(a0 / step) * step; t <= a1; t += step) ticks.push(["x", t]);
    for (let t = Math.ceil(b0 / step) * step; t <= b1; t += step) ticks.push(["y", t]);
    for (const [axis, t] of ticks) {
      const zero = Math.abs(t) < step / 1e3;
      ctx.strokeStyle = zero && !snap ? "#94a3b8" : "#e9eef5";
      ctx.beginPath();
      if (axis === "x") { ctx.moveTo(toX(t), 0); ctx.lineTo(toX(t), W); }
      else { ctx.moveTo(0, toY(t)); ctx.lineTo(W, toY(t)); }
      ctx.stroke();
    }
    if (model) drawPoints(ctx);
    ctx.fillStyle = "#475569";
    const label = (t) => (Math.abs(t) < step / 1e3 ? "0" : +t.toFixed(6) + "");
    const text = (s, x, y) => { ctx.strokeText(s, x, y); ctx.fillText(s, x, y); };  // a white halo: readable on digits
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    ctx.lineWidth = 3;
    ctx.lineJoin = "round";
    for (const [axis, t] of ticks) {
      if (axis === "x") { const x = toX(t); if (x > 14 && x < W - 30) text(label(t), x + 3, W - 5); }
      else { const y = toY(t); if (y > 2 * fontPx + 44 && y < W - fontPx - 8) text(label(t), 4, y - 3); }
    }
    ctx.font = `600 ${fontPx + 1}px sans-serif`;
    ctx.fillStyle = "#334155";
    const [nx, ny] = data.axis_labels || plane.axis_labels;
    const xw = ctx.measureText(nx + " \u2192").width;
    text(nx + " \u2192", W - xw - 6, W - fontPx - 10);
    text(ny + " \u2191", 6, fontPx + 4 + (large ? 6 : 0) + 26);
    STATS.backgroundMs = performance.now() - t0;
  }

  function drawPoints(ctx) {  // the dots (or, zoomed in, the digits) and each class's name at its cluster's centre
    const a0 = fromX(0), a1 = fromX(W), b0 = fromY(W), b1 = fromY(0);
    const visible = [], inView = new Map();
    for (const [c, idx] of byClass) {
      if (hidden.has(c)) continue;
      const here = idx.filter((k) => PA[k] >= a0 && PA[k] <= a1 && PB[k] >= b0 && PB[k] <= b1);
      inView.set(c, here);
      for (const k of here) visible.push(k);
    }
    drawDots(ctx, visible);
    if (data.show_points) drawClassNames(ctx, inView);
  }

  // Colour is never the only cue: each class's name is written at the median of its points in view (a white halo
  // keeps it readable on the dots), at every zoom.
  function drawClassNames(ctx, inView) {
    const size = fontPx + 8, placed = [];
    ctx.save();
    ctx.font = `700 ${size}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    const named = [];
    let total = 0;
    for (const here of inView.values()) total += here.length;
    for (const [c, here] of inView) {
      if (here.length < Math.max(5, 0.02 * total)) continue;  // a few strays are no cluster: named where they gather
      const [a] = percentiles(Array.from(here, (k) => PA[k]), [50]);
      const [b] = percentiles(Array.from(here, (k) => PB[k]), [50]);
      named.push([here.length, c, toX(a), toY(b)]);
    }
    named.sort((p, q) => q[0] - p[0]);  // the biggest clusters first; a name that would cover another moves aside
    STATS.classNames = [];
    const free = ([x, y]) => !placed.some(([px, py]) => Math.abs(px - x) < size * 1.1 && Math.abs(py - y) < size);
    for (const [, c, x0, y0] of named) {
      const spots = [[0, 0], [0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, 1], [0, -2], [0, 2]]
        .map(([dx, dy]) => [x0 + dx * size, y0 + dy * size]);
      const [x, y] = spots.find(free) || spots[0];
      placed.push([x, y]);
      const name = String(data.class_names[c] ?? c);
      ctx.strokeStyle = "rgba(255, 255, 255, 0.95)";
      ctx.lineWidth = 5;
      ctx.strokeText(name, x, y);
      ctx.fillStyle = "#0f172a";
      ctx.fillText(name, x, y);
      STATS.classNames.push(c);
    }
    ctx.restore();
  }

  function drawDots(ctx, visible) {
    // zoomed in far enough that each digit has room: draw the digits themselves, as the Embedding Projector does
    const room = Math.sqrt((W * W) / Math.max(visible.length, 1)), zoom = (hi - lo) / view.span;
    STATS.thumbs = 0;
    if (images && data.show_points && visible.length <= 1500 && room >= 14 && zoom >= 2) {
      const size = Math.min(Math.max(room * 0.9, 16), 64);
      ctx.imageSmoothingEnabled = true;
      for (const k of visible) ctx.drawImage(thumb(k), toX(PA[k]) - size / 2, toY(PB[k]) - size / 2, size, size);
      STATS.thumbs = visible.length;
      return;
    }
    if (!data.show_points) return;
    const r = Math.min(1.3 * Math.sqrt(Math.max(zoom, 1)), 4);
    ctx.globalAlpha = 0.85;  // nearly solid: at half opacity neighbouring classes' colours run together
    for (const [c, idx] of byClass) {
      if (hidden.has(c)) continue;
      ctx.fillStyle = data.colors[c % data.colors.length];
      for (const k of idx) ctx.fillRect(toX(PA[k]) - r, toY(PB[k]) - r, 2 * r, 2 * r);
    }
    ctx.globalAlpha = 1;
  }

  function drawEllipse(ctx, x, y, sig, colour, width) {  // the posterior's 1-sigma ellipse; returns its magnification
    const e = ellipsePx(planeEllipse(u, v, sig), scale());
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.ellipse(x, y, e.rx, e.ry, e.angle, 0, 2 * Math.PI);
    ctx.stroke();
    return e.mag;
  }

  // --- drawing: one decode + draw per animation frame at most
  let frameBusy = false, pending = false, backgroundDirty = true, selectionDrawn = null;
  const notes = [];

  function drawNow() {
    const shown = preview || z;
    if (model) {
      const x = model.decode(shown);
      const px = image.data;
      for (let i = 0; i < 784; i++) {  // white ink on black, as MNIST and every other picture on the page
        const g = Math.round(x[i] * 255);
        px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = g;
        px[4 * i + 3] = 255;
      }
      digitCtx.putImageData(image, 0, 0);
      STATS.draws += 1;
      STATS.lastDrawMs = performance.now();
    }
    if (backgroundDirty) { drawBackground(); backgroundDirty = false; }
    padCtx.setTransform(1, 0, 0, 1, 0, 0);
    padCtx.drawImage(background, 0, 0);
    padCtx.setTransform(dpr, 0, 0, dpr, 0, 0);
    notes.length = 0;
    drawMarks();
    drawSelection();
    if (!snap || snapIndex !== null) {  // the committed z: a ring (snap mode: at the digit it stands for)
      const [a, b] = snap ? [PA[snapIndex], PB[snapIndex]] : coords(z);
      padCtx.strokeStyle = "#0f172a";
      padCtx.lineWidth = 2;
      padCtx.beginPath();
      padCtx.arc(toX(a), toY(b), 7, 0, 2 * Math.PI);
      padCtx.stroke();
    }
    // the digit under the cursor (or, moved by keys, at z), drawn beside it so the pointer does not hide it: by
    // keyboard it stays in view on the map, whatever the page's scroll
    const at = keyboard ? (() => { const [a, b] = zAB(); return [toX(a), toY(b)]; })() : cursor;
    if (at && model) {
      const size = large ? 84 : 64, gx = at[0] + 14 + size > W ? at[0] - 14 - size : at[0] + 14;
      // (by keys on a map with marks: below z, since a mark's own picture sits above and to its right)
      const gy = Math.min(Math.max(keyboard && marks.length ? at[1] + 14 : at[1] - size - 14, 0), W - size);
      padCtx.imageSmoothingEnabled = false;
      padCtx.drawImage(digit, gx, gy, size, size);
      padCtx.strokeStyle = "#2563eb";
      padCtx.lineWidth = 2;
      padCtx.strokeRect(gx, gy, size, size);
    }
    note.textContent = notes.join(" ");
    updateReadout(shown);
    nameDigit();
    if (selectionDrawn !== inst.selected) {
      selectionDrawn = inst.selected;
      STATS.selected = inst.selected;
      STATS.highlightMs = performance.now();
    }
  }

  function drawSelection() {
    const k = inst.selected;
    if (k === null || !model || !PA || k >= PA.length) return;
    const x = toX(PA[k]), y = toY(PB[k]);
    if (!snap && selSigma) {
      const mag = drawEllipse(padCtx, x, y, selSigma, "#dc2626", 2.5);
      notes.push(`Red: test digit #${k}'s posterior q(z|x), its 1σ ellipse` +
                 (mag > 1 ? `, drawn ${mag}× larger than true scale (too small to see).` : ", at true scale."));
    } else if (snap) {
      notes.push("t-SNE distorts distances, so no posterior ellipse is drawn in this view.");
    }
    padCtx.fillStyle = "#dc2626";
    padCtx.strokeStyle = "#ffffff";
    padCtx.lineWidth = 2;
    padCtx.beginPath();
    padCtx.arc(x, y, 5, 0, 2 * Math.PI);
    padCtx.fill();
    padCtx.stroke();
  }

  function drawMarks() {
    marks.forEach((m, i) => {
      const [a, b] = coords(m.z);
      const x = toX(a), y = toY(b), hot = i === highlight;
      let mag = 1;
      if (m.sigma) mag = drawEllipse(padCtx, x, y, m.sigma, hot ? "#dc2626" : "#334155", hot ? 3 : 1.5);
      if (m.sigma && (hot || marks.length === 1))
        notes.push(`Ring around ${m.name}: its posterior's 1σ ellipse` +
                   (mag > 1 ? `, drawn ${mag}× larger than true scale.` : ", at true scale."));
      const t = large ? 44 : 34;  // its own picture beside its number
      if (m.pixels) {
        const c = document.createElement("canvas");
        c.width = c.height = 28;
        toGrey(c, m.pixels);
        padCtx.imageSmoothingEnabled = false;
        padCtx.drawImage(c, x + 10, y - t - 4, t, t);
        padCtx.strokeStyle = hot ? "#dc2626" : "#334155";
        padCtx.lineWidth = hot ? 3 : 1;
        padCtx.strokeRect(x + 10, y - t - 4, t, t);
      }
      const r = large ? 13 : 10;
      padCtx.fillStyle = hot ? "#dc2626" : "#0f172a";
      padCtx.beginPath();
      padCtx.arc(x, y, r, 0, 2 * Math.PI);
      padCtx.fill();
      padCtx.fillStyle = "#ffffff";
      padCtx.font = `700 ${large ? 16 : 12}px sans-serif`;
      padCtx.textAlign = "center";
      padCtx.textBaseline = "middle";
      padCtx.fillText(String(m.short || i + 1), x, y + 0.5);
      padCtx.textAlign = "start";
      padCtx.textBaseline = "alphabetic";
    });
  }

  function requestDraw(redrawBackground = false) {
    if (redrawBackground) backgroundDirty = true;
    if (frameBusy) { pending = true; return; }
    drawNow();
    frameBusy = true;
    requestAnimationFrame(() => {
      frameBusy = false;
      if (pending) { pending = false; requestDraw(); }
    });
  }

  // --- what a screen reader hears. The map's name says what it is and its keys; a polite live region says what
  // changed, at most once per 500 ms (the last message wins: a reader cannot keep up with a frame's worth); the
  // decoded digit's name says which digit it looks like (the labels of the 5 test digits nearest z).
  pad.setAttribute("aria-label", `The latent map of the test digits${snap ? " (t-SNE view)" : ""}. ${KEYS}`);
  const live = $(".lp-live");
  let liveText = null, liveTimer = null, liveAt = -1e9;
  function announce(text) {
    liveText = text;
    if (liveTimer) return;
    liveTimer = setTimeout(() => {
      liveTimer = null;
      liveAt = performance.now();
      live.textContent = liveText;
      STATS.announced = liveText;
    }, Math.max(0, liveAt + 500 - performance.now()));
  }
  function zText(shown) {
    if (snap) return snapIndex === null ? "no test digit" : `z = μ of test digit #${snapIndex}`;
    const [a, b] = coords(shown);
    return D === 2 ? `z = (${num(a)}, ${num(b)})`
      : `(${plane.axis_labels[0]}, ${plane.axis_labels[1]}) = (${num(a)}, ${num(b)})`;
  }
  const className = (c) => String(data.class_names[c] ?? c);
  const aClass = (c) => (/^(8|11|18|[aeiou])/i.test(className(c)) ? "an " : "a ") + className(c);
  function announceZ() {
    if (!model) return;
    const [a, b] = zAB(), k = nearestAB(a, b);
    announce(`${zText(z)}, nearest test digit: ${k === null ? "none shown" : aClass(model.labels[k])}.`);
  }
  function looksLike(vec) {  // the most common label among the 5 test digits nearest vec in latent space
    const best = [];  // [distance, label], sorted, at most 5
    for (let k = 0, n = model.labels.length; k < n; k++) {
      let d = 0;
      for (let i = 0; i < D && (best.length < 5 || d < best[4][0]); i++) d += (model.mu[k * D + i] - vec[i]) ** 2;
      if (best.length === 5 && d >= best[4][0]) continue;
      best.push([d, model.labels[k]]);
      best.sort((p, q) => p[0] - q[0]);
      if (best.length > 5) best.pop();
    }
    const votes = new Map();
    for (const [, c] of best) votes.set(c, (votes.get(c) || 0) + 1);
    return best.reduce((top, [, c]) => (votes.get(c) > votes.get(top) ? c : top), best[0][1]);
  }
  let namedAt = -1e9, nameTimer = null;
  function nameDigit() {  // the decoded digit's name: at most every 250 ms, and once more when z comes to rest
    if (!model || nameTimer) return;
    nameTimer = setTimeout(() => {
      nameTimer = null;
      namedAt = performance.now();
      const shown = preview || z, c = looksLike(shown);
      STATS.digitLabel = c;
      STATS.z = Array.from(shown);
      digit.setAttribute("aria-label", `Decoded digit at ${zText(shown)}: looks like ${aClass(c)}`);
    }, Math.max(0, namedAt + 250 - performance.now()));
  }

  // --- sliders, one per latent dimension (native ranges: they fire `input` while dragging)
  const ranges = [], valueLabels = [];
  slidersBox.textContent = "";
  for (let i = 0; i < D; i++) {
    const line = document.createElement("label");
    line.className = "lp-slider";
    const name = document.createElement("span");
    name.textContent = `z${i + 1}`;
    const range = document.createElement("input");
    Object.assign(range, {type: "range", min: data.slider_range[0], max: data.slider_range[1], step: 0.01});
    range.dataset.dim = i;
    const value = document.createElement("span");
    value.className = "lp-value";
    line.append(name, range, value);
    slidersBox.append(line);
    ranges.push(range);
    valueLabels.push(value);
  }

  function updateReadout(shown) {
    for (let i = 0; i < D; i++) {
      ranges[i].value = shown[i];
      valueLabels[i].textContent = fmt(shown[i]);
    }
    if (snap) {
      readout.textContent = snapIndex === null ? "" : `z = μ of test digit #${snapIndex}`;
    } else {
      const [a, b] = coords(shown);
      readout.textContent = D === 2 ? `z = (${a.toFixed(2)}, ${b.toFixed(2)})`
        : `(${plane.axis_labels[0]}, ${plane.axis_labels[1]}) = (${a.toFixed(2)}, ${b.toFixed(2)})`;
    }
    readout.classList.toggle("lp-preview", !!preview);
  }

  function commit() {
    setStateValue("z", Array.from(z, (x) => Math.round(x * 1e4) / 1e4));
  }

  // --- the selected test digit: highlighted on the surface, its picture and reconstruction beside
  function showSelection() {
    const k = inst.selected;
    if (k === null || !model || k >= model.labels.length) { selBox.hidden = true; selSigma = null; return; }
    selBox.hidden = false;
    $(".lp-seltitle").textContent = `Test digit #${k} (label ${className(model.labels[k])})`;
    $(".lp-selx").setAttribute("aria-label", `Test digit #${k}, ${aClass(model.labels[k])}: the digit itself`);
    $(".lp-selr").setAttribute("aria-label", `Test digit #${k}, ${aClass(model.labels[k])}: decoded from its μ`);
    selSigma = model.sigma ? model.sigma.subarray(k * D, (k + 1) * D) : null;
    const px = Math.round(Math.min(digitPx * 0.5, 112));
    for (const c of [$(".lp-selx"), $(".lp-selr")]) c.style.width = c.style.height = px + "px";
    $(".lp-selx").closest("figure").hidden = !images;  // (Reconstruct sends no test images: no empty box)
    if (images) toGrey($(".lp-selx"), images.subarray(k * 784, (k + 1) * 784));
    toGrey($(".lp-selr"), model.decode(model.mu.subarray(k * D, (k + 1) * D)));
  }

  function select(k) {
    inst.selected = k;
    if (k !== null) {
      z.set(model.mu.subarray(k * D, (k + 1) * D));
      if (snap) snapIndex = k;
    }
    preview = null;
    showSelection();
    requestDraw();
    setStateValue("selected", k === null ? -1 : k);
    announce(k === null ? "Selection cleared." : `Selected test digit #${k}, ${aClass(model.labels[k])}.`);
  }

  function nearest(x, y, maxPx) {  // the visible test digit nearest a surface pixel, within maxPx (or any)
    return nearestAB(fromX(x), fromY(y), maxPx === undefined ? Infinity : (maxPx / scale()) ** 2);
  }

  function nearestAB(a, b, bestD = Infinity) {  // the shown test digit nearest plane point (a, b), or null
    if (!PA) return null;
    let best = null;
    for (const [c, idx] of byClass) {
      if (hidden.has(c)) continue;
      for (const k of idx) {
        const d = (PA[k] - a) ** 2 + (PB[k] - b) ** 2;
        if (d < bestD) { bestD = d; best = k; }
      }
    }
    return best;
  }

  function markAt(x, y) {
    const r = large ? 14 : 11;
    for (let i = marks.length - 1; i >= 0; i--) {
      const [a, b] = coords(marks[i].z);
      if ((toX(a) - x) ** 2 + (toY(b) - y) ** 2 <= r * r) return i;
    }
    return null;
  }

  // --- view: zoom about a point, pan, reset
  function zoomAt(x, y, factor) {
    const a = fromX(x), b = fromY(y);
    const full = hi - lo;
    view.span = Math.min(Math.max(view.span / factor, full / 200), full * 2);
    view.cx = a - (x - W / 2) / scale();
    view.cy = b + (y - W / 2) / scale();
    requestDraw(true);
  }
  function resetView() {
    Object.assign(view, {cx: (lo + hi) / 2, cy: (lo + hi) / 2, span: hi - lo});
    requestDraw(true);
  }

  // --- pointers: hover previews, press/drag moves z, a click on a dot selects it; Shift+drag or two fingers pan,
  // wheel or pinch zoom
  const controller = new AbortController();
  const opts = {signal: controller.signal};
  const pointers = new Map();
  let mode = null;  // "drag" | "pan" | "pinch"
  let down = null, zBefore = null, pinch = null, lastPan = null;
  const surfacePoint = (e) => {
    const r = pad.getBoundingClientRect();
    return [Math.min(Math.max(e.clientX - r.left, 0), W), Math.min(Math.max(e.clientY - r.top, 0), W)];
  };
  const zAt = (p) => {
    if (snap) {
      const k = nearest(p[0], p[1]);
      if (k === null) return Float64Array.from(z);
      snapIndex = k;
      return Float64Array.from(model.mu.subarray(k * D, (k + 1) * D));
    }
    return moveTo(z, fromX(p[0]), fromY(p[1]));
  };
  const pinchState = () => {
    const [p, q] = [...pointers.values()];
    return {d: Math.hypot(p[0] - q[0], p[1] - q[1]), mx: (p[0] + q[0]) / 2, my: (p[1] + q[1]) / 2};
  };

  pad.addEventListener("pointerdown", (e) => {
    const p = surfacePoint(e);
    keyboard = false;
    HOOK.current = STATS.key;
    pointers.set(e.pointerId, p);
    try { pad.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events have no real pointer */ }
    e.preventDefault();
    if (pointers.size === 2) {  // a second finger: pinch and pan; the first finger's move of z is undone
      if (mode === "drag" && zBefore) { z.set(zBefore); requestDraw(); }
      mode = "pinch";
      pinch = {...pinchState(), view: {...view}};
      return;
    }
    if (pointers.size > 2 || !model) return;
    cursor = p;
    down = p;
    if (e.shiftKey || e.button === 1) { mode = "pan"; lastPan = p; return; }
    mode = "drag";
    zBefore = Float64Array.from(z);
    z.set(zAt(p));
    preview = null;
    requestDraw();
  }, opts);

  pad.addEventListener("pointermove", (e) => {
    const p = surfacePoint(e);
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, p);
    if (mode === "pinch" && pointers.size === 2) {
      const now = pinchState(), s0 = pinch.view.span;
      view.span = Math.min(Math.max(s0 * pinch.d / Math.max(now.d, 1), (hi - lo) / 200), (hi - lo) * 2);
      const k0 = W / s0, k1 = W / view.span;  // keep the latent point under the first midpoint under the new one
      const a = pinch.view.cx + (pinch.mx - W / 2) / k0, b = pinch.view.cy - (pinch.my - W / 2) / k0;
      view.cx = a - (now.mx - W / 2) / k1;
      view.cy = b + (now.my - W / 2) / k1;
      requestDraw(true);
      return;
    }
    if (mode === "pan") {
      view.cx -= (p[0] - lastPan[0]) / scale();
      view.cy += (p[1] - lastPan[1]) / scale();
      lastPan = p;
      requestDraw(true);
      return;
    }
    if (!model) return;
    cursor = p;
    keyboard = false;
    if (mode === "drag") { z.set(zAt(p)); preview = null; }
    else preview = zAt(p);
    requestDraw();
  }, opts);

  const release = (e) => {
    const p = pointers.get(e.pointerId) || surfacePoint(e);
    pointers.delete(e.pointerId);
    if (mode === "pinch") { if (pointers.size === 0) mode = null; return; }
    const was = mode;
    mode = null;
    if (was !== "drag") return;
    const click = down && Math.hypot(p[0] - down[0], p[1] - down[1]) < 5 && e.type === "pointerup";
    if (click) {  // a click on a mark or a dot selects it; on empty ground it moves z there (committed below)
      const m = markAt(p[0], p[1]);
      if (m !== null) {
        highlight = m;
        z.set(zBefore);
        requestDraw();
        setStateValue("mark", m);
        return;
      }
      const k = data.show_points ? nearest(p[0], p[1], large ? 10 : 7) : null;
      if (k !== null) { select(k); return; }
    }
    commit();
    requestDraw();
    announceZ();
  };
  pad.addEventListener("pointerup", release, opts);
  pad.addEventListener("pointercancel", release, opts);
  pad.addEventListener("pointerleave", () => {
    if (mode) return;
    cursor = null;
    preview = null;
    requestDraw();
  }, opts);
  pad.addEventListener("wheel", (e) => {
    e.preventDefault();  // the map zooms; the page scrolls when the pointer is off the map
    const p = surfacePoint(e);
    zoomAt(p[0], p[1], Math.exp(-Math.max(Math.min(e.deltaY, 200), -200) * 0.002));
  }, {signal: controller.signal, passive: false});
  // --- the keyboard, on the focused map (KEYS in the hint and the map's name): arrows move z, Shift for larger
  // steps, the decoded digit following as when dragging; Python hears z 400 ms after the last key, as on a release
  let commitTimer = null;
  const commitSoon = () => { clearTimeout(commitTimer); commitTimer = setTimeout(commit, 400); };
  let keyboard = false;  // z was last moved by a key: its decoded digit is drawn beside it on the map
  let snapAB = null;  // snap mode: the keyboard's point in the view's coordinates (z is the digit nearest it)
  const zAB = () => (snap ? (snapIndex === null ? (snapAB || [view.cx, view.cy]) : [PA[snapIndex], PB[snapIndex]])
    : coords(z));

  function keepInView(a, b) {  // pan so plane point (a, b) stays inside the view, a tenth from its edges
    const half = view.span * 0.4;
    view.cx = Math.min(Math.max(view.cx, a - half), a + half);
    view.cy = Math.min(Math.max(view.cy, b - half), b + half);
    requestDraw(true);
  }

  function moveZ(da, db, big) {
    if (!model) return;
    const step = view.span * (big ? 0.1 : 0.02);
    const [a0, b0] = zAB(), a = a0 + da * step, b = b0 + db * step;
    if (snap) {
      snapAB = [a, b];
      const k = nearestAB(a, b);
      if (k === null) return;
      snapIndex = k;
      z.set(model.mu.subarray(k * D, (k + 1) * D));
    } else {
      z.set(moveTo(z, a, b));
    }
    keyboard = true;
    preview = null;
    keepInView(a, b);
    announceZ();
    commitSoon();
  }

  function zoomAtZ(factor) {
    const [a, b] = zAB(), x = toX(a), y = toY(b);
    if (x >= 0 && x <= W && y >= 0 && y <= W) zoomAt(x, y, factor);
    else { view.cx = a; view.cy = b; zoomAt(W / 2, W / 2, factor); }
    announce(`Zoom ${((hi - lo) / view.span).toFixed(1)}×.`);
  }

  function pan(da, db, big) {
    view.cx += da * view.span * (big ? 0.4 : 0.1);
    view.cy += db * view.span * (big ? 0.4 : 0.1);
    requestDraw(true);
    announce(`Map view centred at (${num(view.cx)}, ${num(view.cy)}).`);
  }

  function chooseAtZ() {  // Enter or Space: the mark at z (Reconstruct), else the test digit nearest z
    if (!model) return;
    const [a, b] = zAB();
    const m = markAt(toX(a), toY(b));
    if (m !== null) {
      highlight = m;
      requestDraw();
      setStateValue("mark", m);
      announce(`Highlighted ${marks[m].name}.`);
      return;
    }
    const k = data.show_points ? (snap ? snapIndex : nearestAB(a, b)) : null;
    if (k !== null) select(k);
  }

  const ARROWS = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};
  const PAN = {a: [-1, 0], d: [1, 0], w: [0, 1], s: [0, -1]};
  pad.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;  // the browser's and the screen reader's own shortcuts
    const key = e.key, lower = key.length === 1 ? key.toLowerCase() : key;
    HOOK.current = STATS.key;
    if (ARROWS[key]) moveZ(...ARROWS[key], e.shiftKey);
    else if (PAN[lower]) pan(...PAN[lower], e.shiftKey);
    else if (key === "+" || key === "=" || key === "PageUp") zoomAtZ(1.5);
    else if (key === "-" || key === "_" || key === "PageDown") zoomAtZ(1 / 1.5);
    else if (key === "0") { resetView(); announce("Showing the whole map."); }
    else if (key === "Home") toOrigin();
    else if (key === "Enter" || key === " ") chooseAtZ();
    else if (key === "Escape" && inst.selected !== null) select(null);
    else return;
    e.preventDefault();
  }, opts);
  pad.addEventListener("blur", () => { if (keyboard) { keyboard = false; requestDraw(); } }, opts);

  $(".lp-zoomin").addEventListener("click", () => zoomAt(W / 2, W / 2, 2), opts);
  $(".lp-zoomout").addEventListener("click", () => zoomAt(W / 2, W / 2, 0.5), opts);
  $(".lp-resetview").addEventListener("click", resetView, opts);
  $(".lp-clear").addEventListener("click", () => select(null), opts);

  slidersBox.addEventListener("input", (e) => {
    const i = Number(e.target.dataset.dim);
    z[i] = Number(e.target.value);
    preview = null;
    if (snap) snapIndex = null;
    requestDraw();
  }, opts);
  slidersBox.addEventListener("change", commit, opts);  // pointer release, or each keyboard step

  function toOrigin() {
    z.fill(0);
    if (snap) { snapIndex = null; snapAB = null; }
    preview = null;
    requestDraw();
    commit();
    announceZ();
  }
  $(".lp-reset").addEventListener("click", toOrigin, opts);
  $(".lp-random").addEventListener("click", () => {
    for (let i = 0; i < D; i++) z[i] = gaussian();
    if (snap) snapIndex = null;
    requestDraw();
    commit();
    announceZ();
  }, opts);

  // --- legend: each class a toggle button (aria-pressed: shown). A press hides or shows it; Shift+press (mouse or
  // keys), a double-click or double-tap, or a long touch shows only that class (and again: all)
  legend.textContent = "";
  const chips = [];
  if (data.show_points) {
    data.class_names.forEach((name, c) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.dataset.cls = c;
      chip.innerHTML = `<i style="--c:${data.colors[c % data.colors.length]}" aria-hidden="true"></i>`;
      chip.append(name);
      legend.append(chip);
      chips.push(chip);
    });
  }
  const syncLegend = () => {
    chips.forEach((chip, c) => {
      chip.classList.toggle("lp-off", hidden.has(c));
      chip.setAttribute("aria-pressed", String(!hidden.has(c)));
    });
    STATS.hidden = [...hidden].sort();
    requestDraw(true);
  };
  const onlyThis = (c) => {
    const only = hidden.size === chips.length - 1 && !hidden.has(c);
    hidden.clear();
    if (!only) chips.forEach((_, k) => { if (k !== c) hidden.add(k); });
    syncLegend();
    announce(only ? "Showing every class." : `Showing only the ${className(c)}s.`);
  };
  let skipClick = false;  // a Shift+key or a long touch already acted: the click that follows does nothing
  legend.addEventListener("click", (e) => {
    const chip = e.target.closest("button");
    if (!chip) return;
    if (skipClick) { skipClick = false; return; }
    const c = Number(chip.dataset.cls);
    if (e.shiftKey) { onlyThis(c); return; }
    if (hidden.has(c)) hidden.delete(c); else hidden.add(c);
    syncLegend();
  }, opts);
  legend.addEventListener("keydown", (e) => {
    const chip = e.target.closest("button");
    if (!chip || !e.shiftKey || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    skipClick = true;
    setTimeout(() => { skipClick = false; }, 400);
    onlyThis(Number(chip.dataset.cls));
  }, opts);
  legend.addEventListener("dblclick", (e) => {
    const chip = e.target.closest("button");
    if (chip) onlyThis(Number(chip.dataset.cls));
  }, opts);
  let pressTimer = null;
  legend.addEventListener("pointerdown", (e) => {
    const chip = e.target.closest("button");
    if (!chip || e.pointerType !== "touch") return;
    pressTimer = setTimeout(() => { skipClick = true; onlyThis(Number(chip.dataset.cls)); }, 550);
  }, opts);
  for (const type of ["pointerup", "pointercancel", "pointerleave"])
    legend.addEventListener(type, () => clearTimeout(pressTimer), opts);
  chips.forEach((chip, c) => {
    chip.classList.toggle("lp-off", hidden.has(c));
    chip.setAttribute("aria-pressed", String(!hidden.has(c)));
  });

  // for tests and benchmarks: where test digit k is drawn, in page pixels (null when hidden or off the view)
  STATS.pointPx = (k) => {
    if (!PA || !(k >= 0 && k < PA.length) || hidden.has(model.labels[k])) return null;
    const r = pad.getBoundingClientRect(), x = toX(PA[k]), y = toY(PB[k]);
    return x < 0 || y < 0 || x > W || y > W ? null : {x: r.left + x, y: r.top + y};
  };
  STATS.nPoints = () => (PA ? PA.length : 0);
  STATS.surfaceRect = () => { const r = pad.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; };

  const observer = new ResizeObserver(() => { if (layout()) requestDraw(true); });
  observer.observe(root);
  layout();

  status.textContent = "Loading the decoder\u2026";
  let alive = true;
  const pointsFile = snap ? fetchBuffer(data.view.url, false) : Promise.resolve(null);
  Promise.all([loadModel(data.model), pointsFile]).then(([m, pts]) => {
    if (!alive) return;
    model = m;
    projectPoints(pts ? new Float32Array(pts) : null);
    if (snap && inst.selected !== null) snapIndex = inst.selected;
    status.textContent = "";
    STATS.ready = true;
    showSelection();
    requestDraw(true);
    if (data.images) {  // the test digits themselves: for the selection and the zoomed-in map (fetched after)
      fetchBuffer(data.images.url, true).then((buffer) => {
        if (!alive) return;
        images = new Uint8Array(buffer);
        STATS.imagesReady = true;
        showSelection();
        requestDraw(true);
      }).catch((err) => STATS.errors.push(String(err)));
    }
  }).catch((err) => {
    status.textContent = "The decoder could not run in this browser: " + err.message;
    STATS.errors.push(String(err));
  });
  requestDraw(true);

  return () => {  // Streamlit calls this before re-invoking us with new data, and on unmount
    alive = false;
    controller.abort();
    clearTimeout(liveTimer);
    clearTimeout(nameTimer);
    clearTimeout(commitTimer);
    observer.disconnect();
  };
}
