// The latent pad: hover or drag on a plane of the latent space, or drag a per-dimension slider, and the decoded
// digit redraws in the same animation frame, computed here from the decoder weights (createDecoder, prepended
// from latent_pad_decoder.js). Python only hears the final z, on release, through setStateValue("z", ...).
//
// The state is one vector z (D values). The pad shows a plane through latent space: origin o, orthonormal axes
// u and v. Pad coordinates are a = (z - o).u and b = (z - o).v; moving the pad to (a', b') adds (a'-a) u + (b'-b) v
// to z, so the rest of z (the dimensions off the plane) keeps the sliders' values.

// Module scope survives reruns (Streamlit imports this module once per page): weights are fetched once per model.
const MODELS = new Map();     // model id -> Promise<{decode, mu, labels}>
const INSTANCES = new Map();  // component key -> {z, nonce}: the user's z survives re-invocations

// Test and benchmark hook: counts, and the time of each digit draw.
const STATS = (window.__latentPad = window.__latentPad || {draws: 0, lastDrawMs: 0, ready: false, errors: [],
                                                          invocations: 0});

function loadModel(model) {
  if (!MODELS.has(model.id)) {
    const promise = fetch(model.url)
      .then((r) => {
        if (!r.ok) throw new Error(`could not load the decoder weights (${r.status} ${r.statusText})`);
        return r.arrayBuffer();
      })
      .then((buffer) => {
        const all = new Float32Array(buffer);
        const n = model.n_points, d = model.latent_dim;
        return {
          decode: createDecoder(model.layers, all.subarray(0, model.mu_offset)),
          mu: all.subarray(model.mu_offset, model.mu_offset + n * d),
          labels: all.subarray(model.labels_offset, model.labels_offset + n),
        };
      });
    promise.catch(() => MODELS.delete(model.id));  // a later rerun may retry
    MODELS.set(model.id, promise);
  }
  return MODELS.get(model.id);
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function gaussian() {  // Box-Muller
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

function fmt(x) {
  return (x >= 0 ? "\u2007" : "") + x.toFixed(2);  // figure space keeps columns aligned
}

export default function (component) {
  STATS.invocations += 1;  // Streamlit re-invokes us only when the data changes (tests count this)
  const {parentElement, setStateValue, key} = component;
  const data = JSON.parse(component.data.spec);
  const root = parentElement.querySelector(".lp");
  const pad = root.querySelector(".lp-pad");
  const digit = root.querySelector(".lp-digit");
  const readout = root.querySelector(".lp-z");
  const status = root.querySelector(".lp-status");
  const slidersBox = root.querySelector(".lp-sliders");
  const D = data.model.latent_dim;
  const plane = data.plane;
  const padPx = data.pad_px;
  const [lo, hi] = plane.extent;

  // --- state: z survives reruns; Python can move it by sending a new nonce (e.g. "put this digit on the pad")
  let inst = INSTANCES.get(key);
  if (!inst || inst.nonce !== data.z_nonce || inst.z.length !== D) {
    inst = {z: Float64Array.from(data.z), nonce: data.z_nonce};
    INSTANCES.set(key, inst);
  }
  const z = inst.z;  // the committed z, shared with Python on release
  let preview = null;  // z under a hovering (not pressed) pointer; drawn but not committed
  let cursor = null;  // pad pixel position of the pointer, or null when it is outside

  // --- canvases
  const dpr = window.devicePixelRatio || 1;
  pad.width = Math.round(padPx * dpr);
  pad.height = Math.round(padPx * dpr);
  pad.style.width = pad.style.height = padPx + "px";
  digit.style.width = digit.style.height = data.digit_px + "px";
  root.querySelector(".lp-padwrap").style.width = padPx + 2 + "px";  // the legend wraps under the pad
  const padCtx = pad.getContext("2d");
  const digitCtx = digit.getContext("2d");
  const image = digitCtx.createImageData(28, 28);
  const background = document.createElement("canvas");
  background.width = pad.width;
  background.height = pad.height;

  const toPx = (a) => ((a - lo) / (hi - lo)) * padPx;
  const fromPx = (px) => lo + (px / padPx) * (hi - lo);
  const o = Float64Array.from(plane.origin), u = Float64Array.from(plane.u), v = Float64Array.from(plane.v);
  const planeCoords = (vec) => {
    let a = 0, b = 0;
    for (let i = 0; i < D; i++) { a += (vec[i] - o[i]) * u[i]; b += (vec[i] - o[i]) * v[i]; }
    return [a, b];
  };
  const moveInPlane = (vec, a, b) => {  // returns a copy of vec with plane coordinates (a, b)
    const [a0, b0] = planeCoords(vec);
    const out = Float64Array.from(vec);
    for (let i = 0; i < D; i++) out[i] += (a - a0) * u[i] + (b - b0) * v[i];
    return out;
  };

  function drawBackground(model) {
    const ctx = background.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, padPx, padPx);
    ctx.strokeStyle = "#e2e8f0";
    ctx.lineWidth = 1;
    for (let t = Math.ceil(lo); t <= Math.floor(hi); t++) {  // unit grid
      ctx.beginPath();
      ctx.moveTo(toPx(t), 0); ctx.lineTo(toPx(t), padPx);
      ctx.moveTo(0, padPx - toPx(t)); ctx.lineTo(padPx, padPx - toPx(t));
      ctx.stroke();
    }
    ctx.strokeStyle = "#94a3b8";
    ctx.beginPath();
    ctx.moveTo(toPx(0), 0); ctx.lineTo(toPx(0), padPx);
    ctx.moveTo(0, padPx - toPx(0)); ctx.lineTo(padPx, padPx - toPx(0));
    ctx.stroke();
    if (model && data.show_points) {  // the latent map, faintly, so you can see which digit's region you are in
      ctx.globalAlpha = 0.35;
      const vec = new Float64Array(D);
      for (let n = 0; n < model.labels.length; n++) {
        for (let i = 0; i < D; i++) vec[i] = model.mu[n * D + i];
        const [a, b] = planeCoords(vec);
        ctx.fillStyle = data.colors[model.labels[n] % data.colors.length];
        ctx.fillRect(toPx(a) - 1, padPx - toPx(b) - 1, 2, 2);
      }
      ctx.globalAlpha = 1;
    }
    ctx.fillStyle = "#475569";
    ctx.font = "12px sans-serif";
    ctx.fillText(plane.axis_labels[0] + " \u2192", padPx - 48, padPx - toPx(0) - 6);
    ctx.fillText(plane.axis_labels[1] + " \u2191", toPx(0) + 6, 14);
  }

  // --- drawing: one decode + draw per animation frame at most
  let frameBusy = false, pending = false, model = null;

  function drawNow() {
    if (!model) return;
    const shown = preview || z;
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

    padCtx.setTransform(1, 0, 0, 1, 0, 0);
    padCtx.drawImage(background, 0, 0);
    padCtx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const [a, b] = planeCoords(z);  // the committed point: a ring
    padCtx.strokeStyle = "#0f172a";
    padCtx.lineWidth = 2;
    padCtx.beginPath();
    padCtx.arc(toPx(a), padPx - toPx(b), 6, 0, 2 * Math.PI);
    padCtx.stroke();
    if (cursor) {  // the digit under the cursor, drawn beside it so the pointer does not hide it
      const size = 56, gx = Math.min(cursor[0] + 12, padPx - size), gy = Math.max(cursor[1] - size - 12, 0);
      padCtx.imageSmoothingEnabled = false;
      padCtx.drawImage(digit, gx, gy, size, size);
      padCtx.strokeStyle = "#2563eb";
      padCtx.strokeRect(gx, gy, size, size);
    }
    updateReadout(shown);
  }

  function requestDraw() {
    if (frameBusy) { pending = true; return; }
    drawNow();
    frameBusy = true;
    requestAnimationFrame(() => {
      frameBusy = false;
      if (pending) { pending = false; requestDraw(); }
    });
  }

  // --- sliders, one per latent dimension (native ranges: they fire `input` while dragging)
  const ranges = [], labels = [];
  slidersBox.textContent = "";
  for (let i = 0; i < D; i++) {
    const row = document.createElement("label");
    row.className = "lp-slider";
    const name = document.createElement("span");
    name.textContent = `z${i + 1}`;
    const range = document.createElement("input");
    Object.assign(range, {type: "range", min: data.slider_range[0], max: data.slider_range[1], step: 0.01});
    range.dataset.dim = i;
    const value = document.createElement("span");
    value.className = "lp-value";
    row.append(name, range, value);
    slidersBox.append(row);
    ranges.push(range);
    labels.push(value);
  }

  function updateReadout(shown) {
    for (let i = 0; i < D; i++) {
      ranges[i].value = shown[i];
      labels[i].textContent = fmt(shown[i]);
    }
    const [a, b] = planeCoords(shown);
    readout.textContent = D === 2 ? `z = (${a.toFixed(2)}, ${b.toFixed(2)})`
      : `pad (${plane.axis_labels[0]}, ${plane.axis_labels[1]}) = (${a.toFixed(2)}, ${b.toFixed(2)})`;
    readout.classList.toggle("lp-preview", !!preview);
  }

  function commit() {
    setStateValue("z", Array.from(z, (x) => Math.round(x * 1e4) / 1e4));
  }

  // --- pointer: hover previews, press/drag moves z, release commits
  const controller = new AbortController();
  const opts = {signal: controller.signal};
  let dragging = false;
  const padPoint = (e) => {
    const r = pad.getBoundingClientRect();
    return [Math.min(Math.max(e.clientX - r.left, 0), padPx), Math.min(Math.max(e.clientY - r.top, 0), padPx)];
  };
  const zAt = (point) => moveInPlane(z, fromPx(point[0]), fromPx(padPx - point[1]));

  pad.addEventListener("pointerdown", (e) => {
    dragging = true;
    try { pad.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events have no real pointer */ }
    cursor = padPoint(e);
    z.set(zAt(cursor));
    preview = null;
    requestDraw();
    e.preventDefault();
  }, opts);
  pad.addEventListener("pointermove", (e) => {
    cursor = padPoint(e);
    if (dragging) { z.set(zAt(cursor)); preview = null; }
    else preview = zAt(cursor);
    requestDraw();
  }, opts);
  const release = (e) => {
    if (!dragging) return;
    dragging = false;
    commit();
    requestDraw();
  };
  pad.addEventListener("pointerup", release, opts);
  pad.addEventListener("pointercancel", release, opts);
  pad.addEventListener("pointerleave", () => {
    if (dragging) return;
    cursor = null;
    preview = null;
    requestDraw();
  }, opts);

  slidersBox.addEventListener("input", (e) => {
    const i = Number(e.target.dataset.dim);
    z[i] = Number(e.target.value);
    preview = null;
    requestDraw();
  }, opts);
  slidersBox.addEventListener("change", commit, opts);  // pointer release, or each keyboard step

  root.querySelector(".lp-reset").addEventListener("click", () => {
    z.fill(0);
    requestDraw();
    commit();
  }, opts);
  root.querySelector(".lp-random").addEventListener("click", () => {
    for (let i = 0; i < D; i++) z[i] = gaussian();
    requestDraw();
    commit();
  }, opts);

  // --- legend of the faint points
  const legend = root.querySelector(".lp-legend");
  legend.textContent = "";
  if (data.show_points) {
    data.class_names.forEach((name, c) => {
      const chip = document.createElement("span");
      chip.innerHTML = `<i style="background:${data.colors[c % data.colors.length]}"></i>`;
      chip.append(name);
      legend.append(chip);
    });
  }

  status.textContent = "Loading the decoder\u2026";
  let alive = true;
  loadModel(data.model).then((m) => {
    if (!alive) return;
    model = m;
    drawBackground(m);
    status.textContent = "";
    STATS.ready = true;
    requestDraw();
  }).catch((err) => {
    status.textContent = "The decoder could not run in this browser: " + err.message;
    STATS.errors.push(String(err));
  });
  drawBackground(null);

  return () => {  // Streamlit calls this before re-invoking us with new data, and on unmount
    alive = false;
    controller.abort();
  };
}
