// The beta dial: drag beta (log scale) and the latent map of the test digits moves (interpolated between the
// encodings at the model's beta grid), while a manifold grid, fixed prior samples and a few reconstructions are
// decoded at that exact beta (createBatchDecoder, prepended from latent_pad_decoder.js), all drawn together as soon
// as the frame's digits are decoded.
// A point moves along the rate-distortion curve. Python hears beta on release, through setStateValue("beta", ...).

const MODELS = new Map();  // model id -> Promise<{decodeBatch, mu (Int16Array), labels, chosenPixels}>
const BETAS = new Map();  // component key -> the user's beta, which survives re-invocations

// Test and benchmark hook: frames drawn, the last frame's cost, and per-frame signatures of the map and manifold.
const STATS = (window.__betaDial = window.__betaDial || {frames: 0, lastFrameMs: 0, ready: false, errors: [],
                                                         mapSig: [], manifoldSig: [], invocations: 0});

function loadModel(m) {
  if (!MODELS.has(m.id)) {
    const promise = fetch(m.url)
      .then((r) => {
        if (!r.ok) throw new Error(`could not load the model (${r.status} ${r.statusText})`);
        return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();  // gzipped once
      })
      .then((buffer) => ({
        weights: new Float32Array(buffer, 0, m.n_weights),
        decodeBatch: createBatchDecoder(m.layers, new Float32Array(buffer, 0, m.n_weights)),
        mu: new Int16Array(buffer, m.mu_offset, m.betas.length * m.n_points * m.latent_dim),
        labels: new Uint8Array(buffer, m.labels_offset, m.n_points),
        chosenPixels: new Uint8Array(buffer, m.chosen_offset, m.chosen.length * 784),
      }));
    promise.catch(() => MODELS.delete(m.id));
    MODELS.set(m.id, promise);
  }
  return MODELS.get(m.id);
}

// A second thread for the decoder: the panel decodes 124 digits per frame, and half of them decoded in a worker
// while the page decodes the other half nearly halves the frame's time on two cores. The worker runs the same
// createBatchDecoder (its source is this module's function). Without workers everything runs on the page.
const WORKERS = new Map();  // model id -> {post(Z, B, logBeta) -> Promise<Float32Array>} or null

function decoderWorker(m, weights) {
  if (!WORKERS.has(m.id)) {
    let worker = null;
    try {
      const source = createBatchDecoder.toString() + `
        let decode = null;
        onmessage = (e) => {
          const msg = e.data;
          if (msg.layers) { decode = createBatchDecoder(msg.layers, msg.weights); return; }
          const out = decode(msg.Z, msg.B, msg.logBeta).slice();
          postMessage({id: msg.id, out}, [out.buffer]);
        };`;
      const url = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
      worker = new Worker(url);
      URL.revokeObjectURL(url);
      worker.postMessage({layers: m.layers, weights: weights.slice()});
    } catch (err) {
      worker = null;  // no workers here: the page decodes everything
    }
    if (!worker) {
      WORKERS.set(m.id, null);
    } else {
      const waiting = new Map();  // id -> [resolve, reject]
      let next = 0;
      worker.onmessage = (e) => { waiting.get(e.data.id)[0](e.data.out); waiting.delete(e.data.id); };
      // A worker that fails (blocked by a content policy, an error inside it) is dropped for good: the frames
      // waiting for it are decoded on the page instead, and so are all later ones.
      worker.onerror = worker.onmessageerror = () => {
        WORKERS.set(m.id, null);
        worker.terminate();
        for (const [, reject] of waiting.values()) reject(new Error("decoder worker failed"));
        waiting.clear();
      };
      WORKERS.set(m.id, {post(Z, B, logBeta) {
        const id = next++;
        return new Promise((resolve, reject) => {
          waiting.set(id, [resolve, reject]);
          worker.postMessage({id, Z, B, logBeta});
        });
      }});
    }
  }
  return WORKERS.get(m.id);
}

function fmtBeta(b) {
  return b >= 10 ? b.toFixed(1) : b >= 1 ? b.toFixed(2) : b >= 0.1 ? b.toFixed(3) : b.toFixed(4);
}

export default function (component) {
  STATS.invocations += 1;
  const {parentElement, setStateValue, key} = component;
  const spec = JSON.parse(component.data.spec);
  const m = spec.model;
  const root = parentElement.querySelector(".bd");
  root.classList.toggle("bd-large", spec.large);
  const $ = (sel) => root.querySelector(sel);
  const slider = $(".bd-slider"), betaText = $(".bd-beta"), readout = $(".bd-readout"), status = $(".bd-status");
  const mapCanvas = $(".bd-map"), manifold = $(".bd-manifold"), prior = $(".bd-prior"), recon = $(".bd-recon");
  const rd = $(".bd-rd"), mapNote = $(".bd-mapnote"), legend = $(".bd-legend");
  const K = m.betas.length, N = m.n_points, D = m.latent_dim, C = m.chosen.length;
  const logLo = Math.log(m.betas[0]), logHi = Math.log(m.betas[K - 1]);
  const scale = spec.large ? 1.35 : 1;

  // --- sizes: the map beside one or two columns of 220 px pictures when they fit, else everything full width
  // (a phone). The map stays within 62 % of the window's height, so slider and map fit on a projector together.
  // Laid out again whenever the element's width changes (the sidebar opens, large type applies after mounting).
  const dpr = window.devicePixelRatio || 1;
  let mapPx = 300, laidOutFor = -1;
  function layout() {
    const avail = Math.max(240, Math.min(root.getBoundingClientRect().width || 800,
                                         document.documentElement.clientWidth - 24));
    if (Math.abs(avail - laidOutFor) < 1) return false;
    laidOutFor = avail;
    const minMap = 300, gap = 22;
    const sideCols = avail >= minMap + 2 * 220 + 12 + gap ? 2 : avail >= minMap + 220 + gap ? 1 : 0;
    const cell = sideCols ? 220 : Math.min(avail - 2, 360);
    const sideWidth = sideCols ? sideCols * cell + (sideCols - 1) * 12 : avail;
    mapPx = Math.round(sideCols ? Math.min(avail - sideWidth - gap - 8, 0.62 * window.innerHeight, 560 * scale)
                                : avail - 8);
    mapCanvas.width = mapCanvas.height = Math.round(mapPx * dpr);
    mapCanvas.style.width = mapCanvas.style.height = mapPx + "px";
    $(".bd-mapwrap").style.width = mapPx + 2 + "px";
    manifold.style.width = manifold.style.height = cell + "px";
    for (const c of [prior, recon]) { c.style.width = cell + "px"; c.style.height = cell / 4 + "px"; }
    rd.style.width = cell + "px"; rd.style.height = Math.round(cell * 0.64) + "px";
    rd.width = Math.round(cell * dpr); rd.height = Math.round(cell * 0.64 * dpr);
    const sideBox = $(".bd-side");
    sideBox.style.width = sideWidth + "px";
    for (const f of sideBox.querySelectorAll(".bd-col")) f.style.width = cell + "px";
    return true;
  }
  layout();
  legend.innerHTML = spec.colors.map((c, i) => `<span><i style="background:${c}"></i>${i}</span>`).join("");

  // --- state
  let beta = BETAS.has(key) ? BETAS.get(key) : spec.beta;
  beta = Math.min(Math.max(beta, m.betas[0]), m.betas[K - 1]);
  let followed = 0;  // which of the chosen digits has its posterior drawn
  let model = null, pending = false;
  const toSlider = (b) => Math.round(((Math.log(b) - logLo) / (logHi - logLo)) * 1000);
  const fromSlider = (p) => Math.exp(logLo + (p / 1000) * (logHi - logLo));
  slider.value = toSlider(beta);

  const half = m.half_extent;
  const toPx = (a) => ((a + half) / (2 * half)) * mapPx;  // mapPx: the current layout's
  const byClass = [];  // point indices per class, filled once the labels arrive

  const B = spec.grid.length ** 2 + spec.prior_z.length + C;
  const Z = new Float32Array(B * D);
  const nGrid = spec.grid.length;
  for (let i = 0; i < nGrid; i++) {
    for (let j = 0; j < nGrid; j++) {  // row 0 is the top of the plane
      Z[(i * nGrid + j) * D] = spec.grid[j];
      Z[(i * nGrid + j) * D + 1] = spec.grid[nGrid - 1 - i];
    }
  }
  spec.prior_z.forEach((z, i) => z.forEach((v, d) => (Z[(nGrid * nGrid + i) * D + d] = v)));
  const reconStart = nGrid * nGrid + spec.prior_z.length;

  const manCtx = manifold.getContext("2d"), manImg = manCtx.createImageData(28 * nGrid, 28 * nGrid);
  const priorCtx = prior.getContext("2d"), priorImg = priorCtx.createImageData(224, 56);
  const reconCtx = recon.getContext("2d"), reconImg = reconCtx.createImageData(224, 56);
  const mapCtx = mapCanvas.getContext("2d"), rdCtx = rd.getContext("2d");

  function putDigit(img, pixels, offset, cellX, cellY) {  // one 28 x 28 digit (values in [0, 1]) into an ImageData
    const w = img.width;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = 255 - Math.round(pixels[offset + y * 28 + x] * 255);  // dark ink on white
        const p = ((cellY * 28 + y) * w + cellX * 28 + x) * 4;
        img.data[p] = img.data[p + 1] = img.data[p + 2] = v;
        img.data[p + 3] = 255;
      }
    }
  }

  function interpolation(b) {  // the two grid betas around b, and the weight of the upper one
    const f = ((Math.log(b) - logLo) / (logHi - logLo)) * (K - 1);
    const k = Math.min(Math.max(Math.floor(f), 0), K - 2);
    return [k, f - k];
  }
  const lerp = (arr, k, t) => arr[k] * (1 - t) + arr[k + 1] * t;

  // The 10,000 points go straight into a pixel buffer (one putImageData): as many fillRect calls cost tens of
  // milliseconds a frame in a software-rendered canvas. The prior's circles and the ellipse are drawn on top.
  let pointsImg = null;
  const rgb = spec.colors.map((c) => [1, 3, 5].map((j) => parseInt(c.slice(j, j + 2), 16)));
  function drawMap(k, t, sel) {
    const ctx = mapCtx, W = mapCanvas.width;
    if (!pointsImg || pointsImg.width !== W) pointsImg = ctx.createImageData(W, W);
    const px = pointsImg.data;
    px.fill(255);
    const mu = model.mu, s = m.mu_scale, a = k * N * D, b = (k + 1) * N * D;
    const dot = Math.max(2, Math.round((mapPx / 260) * dpr)), toDev = (W / (2 * half));
    let sig = 0;
    for (let c = 0; c < byClass.length; c++) {
      const [r, g, bl] = rgb[c];
      for (const i of byClass[c]) {
        const x = (mu[a + i * D] * (1 - t) + mu[b + i * D] * t) * s;
        const y = (mu[a + i * D + 1] * (1 - t) + mu[b + i * D + 1] * t) * s;
        if (i < 100) sig += x;
        const x0 = Math.round((x + half) * toDev - dot / 2), y0 = Math.round(W - (y + half) * toDev - dot / 2);
        if (x0 < 0 || y0 < 0 || x0 + dot > W || y0 + dot > W) continue;
        for (let yy = y0; yy < y0 + dot; yy++) {
          for (let p = (yy * W + x0) * 4, e = p + dot * 4; p < e; p += 4) { px[p] = r; px[p + 1] = g; px[p + 2] = bl; }
        }
      }
    }
    ctx.putImageData(pointsImg, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // the prior N(0, I): 1, 2 and 3 sigma, dashed on a white halo (a thin grey line vanished into the dots)
    for (const [colour, width, dash] of [["rgba(255,255,255,0.85)", 3.5, []], ["#334155", 1.5, [5, 4]]]) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      for (const r of [1, 2, 3]) {
        ctx.beginPath();
        ctx.arc(toPx(0), toPx(0), (r / (2 * half)) * mapPx, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    ctx.setLineDash([]);
    // the followed digit: its mu and its posterior's 1-sigma ellipse, magnified (and said so) when tiny
    const i = m.chosen[sel];
    const cx = (mu[a + i * D] * (1 - t) + mu[b + i * D] * t) * s;
    const cy = (mu[a + i * D + 1] * (1 - t) + mu[b + i * D + 1] * t) * s;
    const sx = lerp(m.chosen_sigma.map((row) => row[sel][0]), k, t);
    const sy = lerp(m.chosen_sigma.map((row) => row[sel][1]), k, t);
    const pxPerUnit = mapPx / (2 * half);
    let mag = 1;
    while (Math.min(sx, sy) * pxPerUnit * mag < 6 && mag < 1000) mag *= 10;
    ctx.strokeStyle = "#0f172a";
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.ellipse(toPx(cx), mapPx - toPx(cy), Math.max(sx * pxPerUnit * mag, 1), Math.max(sy * pxPerUnit * mag, 1),
                0, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.fillStyle = "#0f172a";
    ctx.fillRect(toPx(cx) - 3, mapPx - toPx(cy) - 3, 6, 6);
    mapNote.textContent = `Dashed: the prior's 1, 2, 3 σ. Black ring: the followed digit's posterior (1 σ)` +
      (mag > 1 ? `, drawn ${mag}× larger than true scale.` : `, at true scale.`) +
      ` Window ±${half.toFixed(1)}.`;
    return sig;
  }

  function drawRD(k, t) {
    const ctx = rdCtx, w = rd.width / dpr, h = rd.height / dpr, pad = 30 * scale, font = Math.round(12 * scale);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    const r0 = 0, r1 = Math.max(...m.rate) * 1.05;
    const d0 = Math.min(...m.distortion) * 0.98, d1 = Math.max(...m.distortion) * 1.02;
    const X = (r) => pad + ((r - r0) / (r1 - r0)) * (w - pad - 8);
    const Y = (d) => h - pad + 8 - ((d - d0) / (d1 - d0)) * (h - pad - 4);
    ctx.strokeStyle = "#94a3b8";
    ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(pad, 4); ctx.lineTo(pad, h - pad + 8); ctx.lineTo(w - 4, h - pad + 8); ctx.stroke();
    ctx.strokeStyle = "#2563eb";
    ctx.lineWidth = 2;
    ctx.beginPath();
    m.rate.forEach((r, j) => (j ? ctx.lineTo(X(r), Y(m.distortion[j])) : ctx.moveTo(X(r), Y(m.distortion[j]))));
    ctx.stroke();
    ctx.fillStyle = "#dc2626";
    ctx.beginPath();
    ctx.arc(X(lerp(m.rate, k, t)), Y(lerp(m.distortion, k, t)), 6 * scale, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = "#334155";
    ctx.font = `${font}px sans-serif`;
    ctx.fillText("rate (KL, nats) →", pad + 16 * scale, h - 4);
    ctx.textAlign = "right";  // the axes' ends, in nats
    ctx.fillText(r1.toFixed(0), w - 4, h - pad + 10 + font);
    ctx.fillText(d1.toFixed(0), pad - 3, 4 + font);
    ctx.fillText(d0.toFixed(0), pad - 3, h - pad + 8);
    ctx.textAlign = "left";
    ctx.fillText("0", pad, h - pad + 10 + font);
    ctx.save();
    ctx.translate(font, h - pad - 4);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("distortion →", 14 * scale, 0);
    ctx.restore();
  }

  // One panel redraw: the codes at this beta, the 124 digits decoded (half in the worker), then everything drawn
  // together. While one redraw waits for the worker, slider moves only mark that another is due.
  let busy = false, again = false;
  const output = new Float32Array(B * 784);
  function draw() {
    pending = false;
    if (!model) return;
    if (busy) { again = true; return; }
    busy = true;
    const t0 = performance.now();
    const drawnBeta = beta;
    const [k, t] = interpolation(drawnBeta);
    const logBeta = Math.log(drawnBeta);
    const s = m.mu_scale, a = k * N * D, b = (k + 1) * N * D;
    for (let c = 0; c < C; c++) {  // the followed digits' codes at this beta
      const i = m.chosen[c];
      for (let d = 0; d < D; d++) {
        Z[(reconStart + c) * D + d] = (model.mu[a + i * D + d] * (1 - t) + model.mu[b + i * D + d] * t) * s;
      }
    }
    const worker = STATS.noWorker ? null : decoderWorker(m, model.weights);  // (a bench switch: all on the page)
    const onPage = worker ? Math.floor(B / 2) : B;  // digits decoded here; the rest in the worker
    const theirs = worker ? worker.post(Z.slice(onPage * D), B - onPage, logBeta) : Promise.resolve(null);
    output.set(model.decodeBatch(Z.subarray(0, onPage * D), onPage, logBeta));
    theirs
      .catch(() => model.decodeBatch(Z.slice(onPage * D), B - onPage, logBeta).slice())  // the worker failed
      .then((rest) => {
        if (root.__generation !== mount) return;  // a newer mount of the dial owns the canvases now
        if (rest) output.set(rest, onPage * 784);
        STATS.decodeMs = performance.now() - t0;
        render(output, k, t, drawnBeta);
        STATS.lastFrameMs = performance.now() - t0;
      })
      .catch((err) => STATS.errors.push(String(err)))
      .finally(() => {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function render(out, k, t, shownBeta) {
    let manSig = 0;
    for (let i = 0; i < nGrid * nGrid; i++) putDigit(manImg, out, i * 784, i % nGrid, Math.floor(i / nGrid));
    for (let i = 0; i < 784 * nGrid * nGrid; i += 97) manSig += out[i];
    manCtx.putImageData(manImg, 0, 0);
    for (let i = 0; i < spec.prior_z.length; i++) putDigit(priorImg, out, (nGrid * nGrid + i) * 784, i % 8, Math.floor(i / 8));
    priorCtx.putImageData(priorImg, 0, 0);
    for (let c = 0; c < C; c++) putDigit(reconImg, out, (reconStart + c) * 784, c, 1);
    reconCtx.putImageData(reconImg, 0, 0);
    reconCtx.strokeStyle = "#dc2626";
    reconCtx.lineWidth = 2;
    reconCtx.strokeRect(followed * 28 + 1, 1, 26, 54);
    const mapSig = drawMap(k, t, followed);
    drawRD(k, t);
    betaText.textContent = `β = ${fmtBeta(shownBeta)}`;
    // No-break spaces inside each figure: a narrow line (a projector's large type) breaks between figures only
    readout.textContent = [`rate (KL) ${lerp(m.rate, k, t).toFixed(1)} nats`,
                           `distortion ${lerp(m.distortion, k, t).toFixed(1)} nats`,
                           `median σ ${lerp(m.median_sigma, k, t).toFixed(3)}`]
      .map((figure) => figure.replaceAll(" ", "\u00a0")).join(" · ");
    STATS.frames += 1;
    STATS.mapSig.push(mapSig);
    STATS.manifoldSig.push(manSig);
    if (STATS.mapSig.length > 2000) { STATS.mapSig.splice(0, 1000); STATS.manifoldSig.splice(0, 1000); }
  }

  const schedule = () => {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  };
  slider.oninput = () => { beta = fromSlider(+slider.value); BETAS.set(key, beta); schedule(); };
  slider.onchange = () => { beta = fromSlider(+slider.value); BETAS.set(key, beta); setStateValue("beta", beta); };
  recon.onclick = (e) => {
    const r = recon.getBoundingClientRect();
    followed = Math.min(C - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * C)));
    schedule();
  };

  root.__generation = (root.__generation || 0) + 1;  // frames still in flight from an older mount are dropped
  const mount = root.__generation;
  if (root.__resizeObserver) root.__resizeObserver.disconnect();  // one per mounted element, the newest's
  root.__resizeObserver = new ResizeObserver(() => { if (layout()) schedule(); });
  root.__resizeObserver.observe(root);

  betaText.textContent = `β = ${fmtBeta(beta)}`;
  status.textContent = "Loading the model…";
  loadModel(m).then((loaded) => {
    model = loaded;
    byClass.length = 0;
    for (let c = 0; c < spec.colors.length; c++) byClass.push([]);
    for (let i = 0; i < N; i++) byClass[model.labels[i]].push(i);
    const originals = Float32Array.from(model.chosenPixels, (v) => v / 255);
    for (let c = 0; c < C; c++) putDigit(reconImg, originals, c * 784, c, 0);
    status.textContent = "";
    STATS.ready = true;
    draw();
  }).catch((err) => {
    status.textContent = String(err.message || err);
    STATS.errors.push(String(err));
  });
}
