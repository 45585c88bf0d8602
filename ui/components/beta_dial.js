// The beta dial: drag beta (log scale) and the latent map of the test digits moves (interpolated between the
// encodings at the model's beta grid), while a manifold grid, fixed prior samples and a few reconstructions are
// decoded at that exact beta (createBatchDecoder, prepended from latent_pad_decoder.js), all drawn together as soon
// as the frame's digits are decoded.
// A point moves along the rate-distortion curve. Python hears beta on release, through setStateValue("beta", ...).

const MODELS = new Map();  // model id -> Promise<{decodeBatch, mu (Int16Array), labels, chosenPixels}>
const STATE = new Map();  // component key -> {beta, followed, hidden}: the user's choices survive re-invocations

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

// ---- What the dial draws, as pure functions (tests/test_beta_dial_ring.py runs them in node). The geometry is
// plane_geometry.js's, prepended: gridPosition and lerp (the beta grid), planeEllipse, ellipseMagnification.

// A followed digit's posterior sigmas (z1, z2) between grid betas k and k + 1; chosenSigma is (K, C, D).
function sigmaAt(chosenSigma, sel, k, t) {
  return [0, 1].map((d) => chosenSigma[k][sel][d] * (1 - t) + chosenSigma[k + 1][sel][d] * t);
}

// ONE magnification for the followed digit's ring over the whole drag (every beta, every followed digit), so the
// ring's size on screen follows sigma; the magnification re-chosen per frame made it jump (100x, 10x, 1x) and
// shrink twice while sigma grew 70-fold. The one rule (ellipseMagnification), applied once, to the biggest ring
// the dial can draw: magnified only when even that one would be too thin to see. The smallest rings may then be
// under a pixel: that is what the posterior is at the smallest beta.
function ringMagnification(chosenSigma, pxPerUnit) {
  let biggestMinor = 0;
  for (const row of chosenSigma) for (const s of row) biggestMinor = Math.max(biggestMinor, Math.min(s[0], s[1]));
  return ellipseMagnification(biggestMinor * pxPerUnit);
}

// The ring in css pixels: the posterior's 1-sigma ellipse in the (z1, z2) plane at the dial's one magnification;
// semi-axes r1 >= r2 and the canvas angle of r1.
function ringOnScreen(sigma, pxPerUnit, mag) {
  const e = planeEllipse([1, 0], [0, 1], sigma);
  return {r1: e.r1 * pxPerUnit * mag, r2: e.r2 * pxPerUnit * mag, angle: -e.angle};
}

// Badges at the class centres (points [x, y] in px, or null when hidden), moved apart until no two are closer
// than `apart`: two clusters side by side keep both their digits readable. A few rounds of pairwise pushes.
function spreadBadges(points, apart) {
  const out = points.map((p) => (p ? [p[0], p[1]] : null));
  for (let round = 0; round < 20; round++) {
    let moved = false;
    for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        if (!out[i] || !out[j]) continue;
        let dx = out[j][0] - out[i][0], dy = out[j][1] - out[i][1];
        const d = Math.hypot(dx, dy);
        if (d >= apart) continue;
        if (d < 1e-6) { dx = 1; dy = 0; } else { dx /= d; dy /= d; }
        const push = (apart - d) / 2 + 0.01;
        out[i][0] -= dx * push; out[i][1] -= dy * push; out[j][0] += dx * push; out[j][1] += dy * push;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return out;
}

// Where a label tw x th px goes beside a ring (centre X, Y, extent rx, ry) on a map of mapPx: one of eight places
// around it, near it or (with a leader line) a badge's width out; the first that covers no badge (centres `badges`,
// radius badgeR) and stays on the map, else the least bad. {x: left, y: middle of the text, leader: null or 2 points}.
function labelSpot(X, Y, rx, ry, tw, th, badges, badgeR, mapPx) {
  const gap = 7, spots = [];
  for (const far of [0, 2.4 * badgeR]) {
    for (const [ux, uy] of [[1, -1], [-1, -1], [1, 1], [-1, 1], [0, -1], [0, 1], [1, 0], [-1, 0]]) {
      const on = ux && uy ? Math.SQRT1_2 : 1;  // diagonals start from the ellipse itself, not its box's corner
      const x = X + ux * (on * rx + gap + far) - (ux < 0 ? tw : ux === 0 ? tw / 2 : 0);
      const y = Y + uy * (on * ry + gap + far + th / 2);
      const leader = far ? [[X + ux * (on * rx + 2), Y + uy * (on * ry + 2)],
                            [x + (ux < 0 ? tw : ux === 0 ? tw / 2 : 0), y - uy * th / 2]] : null;
      spots.push({x, y, leader});
    }
  }
  const cost = ({x, y}) => (x < 2 || x + tw > mapPx - 2 || y - th / 2 < 2 || y + th / 2 > mapPx - 2 ? 100 : 0) +
    badges.filter((at) => at && Math.max(Math.abs(at[0] - (x + tw / 2)) - tw / 2, Math.abs(at[1] - y) - th / 2)
                              < badgeR + 1).length;
  return spots.reduce((best, spot) => (cost(spot) < cost(best) ? spot : best));
}

// A coordinate with a true minus sign, which screen readers read as "minus"
const signed = (v) => v.toFixed(2).replace("-", "\u2212");

// What the live region says after beta moves (a screen reader hears the figures the readout shows).
function betaSentence(beta, rate, distortion) {
  return `β = ${fmtBeta(beta)}: rate ${rate.toFixed(1)} nats, distortion ${distortion.toFixed(0)} nats`;
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
  const rd = $(".bd-rd"), mapNote = $(".bd-mapnote"), legend = $(".bd-legend"), strip = $(".bd-strip");
  const live = $(".bd-live");
  const K = m.betas.length, N = m.n_points, D = m.latent_dim, C = m.chosen.length;
  const logLo = Math.log(m.betas[0]), logHi = Math.log(m.betas[K - 1]);
  const scale = spec.large ? 1.35 : 1;
  const nClasses = spec.colors.length;

  // --- sizes: the map beside one or two columns of 220 px pictures when they fit, else everything full width
  // (a phone). The map stays within 62 % of the window's height, so slider and map fit on a projector together.
  // Laid out again whenever the element's width changes (the sidebar opens, large type applies after mounting).
  const dpr = window.devicePixelRatio || 1;
  let mapPx = 300, laidOutFor = -1;
  let ringMag = 1;  // the ring's one scale, for every beta and every followed digit: set here, from the map's size
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
    ringMag = ringMagnification(m.chosen_sigma, mapPx / (2 * m.half_extent));
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

  // --- state: beta, the followed digit and the hidden classes are the user's; they survive re-invocations
  if (!STATE.has(key)) STATE.set(key, {beta: spec.beta, followed: 0, hidden: new Set()});
  const state = STATE.get(key);
  state.beta = Math.min(Math.max(state.beta, m.betas[0]), m.betas[K - 1]);
  state.followed = Math.min(state.followed, C - 1);
  const hidden = state.hidden;
  let model = null, pending = false;
  const toSlider = (b) => Math.round(((Math.log(b) - logLo) / (logHi - logLo)) * 1000);
  const fromSlider = (p) => Math.exp(logLo + (p / 1000) * (logHi - logLo));
  // The W3C slider pattern: a screen reader reads aria-valuetext ("β = 1.00"), not the 0-1000 step
  const range = `from ${+m.betas[0].toPrecision(3)} to ${+m.betas[K - 1].toPrecision(3)}`;  // "from 0.01 to 16"
  slider.setAttribute("aria-label", `β, on a log scale ${range}`);
  const showBeta = () => {
    slider.value = toSlider(state.beta);
    slider.setAttribute("aria-valuetext", `β = ${fmtBeta(state.beta)}`);
  };
  showBeta();

  const half = m.half_extent;
  const toPx = (a) => ((a + half) / (2 * half)) * mapPx;  // mapPx: the current layout's
  const byClass = [];  // point indices per class, filled once the labels arrive
  const classOf = (c) => (model ? model.labels[m.chosen[c]] : null);  // the class of followed digit c
  const digitName = (c) => `test digit #${m.chosen[c]}` + (model ? `, a ${classOf(c)}` : "");

  // --- the live region: polite and throttled (at most one sentence a second and a bit, the latest state's), so
  // a screen reader hears where a drag or a held arrow key ended up, not sixty updates a second.
  let liveTimer = null, lastSpoken = -Infinity, liveMessage = null;
  function say(message) {  // message: a function, called when it is spoken, so the figures are the newest
    liveMessage = message;
    if (liveTimer) return;
    const wait = Math.max(400, 1200 - (performance.now() - lastSpoken));
    liveTimer = setTimeout(() => {
      liveTimer = null;
      lastSpoken = performance.now();
      live.textContent = liveMessage();
      STATS.spoken = live.textContent;
    }, wait);
  }
  const betaNow = () => {
    const [k, t] = gridPosition(m.betas, state.beta);
    return betaSentence(state.beta, lerp(m.rate, k, t), lerp(m.distortion, k, t));
  };

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

  // The 10,000 points go straight into a pixel buffer (one putImageData): as many fillRect calls cost tens of
  // milliseconds a frame in a software-rendered canvas. The prior's circles, each class's digit at its centre (a
  // cue beside colour) and the ring are drawn on top.
  let pointsImg = null;
  const rgb = spec.colors.map((c) => [1, 3, 5].map((j) => parseInt(c.slice(j, j + 2), 16)));
  function drawMap(k, t, sel, shownBeta) {
    const ctx = mapCtx, W = mapCanvas.width;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (!pointsImg || pointsImg.width !== W) pointsImg = ctx.createImageData(W, W);
    const px = pointsImg.data;
    px.fill(255);
    const mu = model.mu, s = m.mu_scale, a = k * N * D, b = (k + 1) * N * D;
    const dot = Math.max(2, Math.round((mapPx / 260) * dpr)), toDev = (W / (2 * half));
    const centres = [];
    let sig = 0, outside = 0;
    for (let c = 0; c < byClass.length; c++) {
      const [r, g, bl] = rgb[c];
      let sumX = 0, sumY = 0;
      for (const i of byClass[c]) {
        const x = (mu[a + i * D] * (1 - t) + mu[b + i * D] * t) * s;
        const y = (mu[a + i * D + 1] * (1 - t) + mu[b + i * D + 1] * t) * s;
        sumX += x; sumY += y;
        if (x * x + y * y > 9) outside += 1;
        if (hidden.has(c)) continue;
        if (i < 100) sig += x;
        const x0 = Math.round((x + half) * toDev - dot / 2), y0 = Math.round(W - (y + half) * toDev - dot / 2);
        if (x0 < 0 || y0 < 0 || x0 + dot > W || y0 + dot > W) continue;
        for (let yy = y0; yy < y0 + dot; yy++) {
          for (let p = (yy * W + x0) * 4, e = p + dot * 4; p < e; p += 4) { px[p] = r; px[p + 1] = g; px[p + 2] = bl; }
        }
      }
      centres.push([sumX / Math.max(1, byClass[c].length), sumY / Math.max(1, byClass[c].length)]);
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
    const badges = drawBadges(ctx, centres);
    const ring = drawRing(ctx, k, t, sel, badges);
    const scaleWords = `${ringMag > 1 ? `drawn ${ringMag}× larger than true scale` : "at true scale"} at every β`;
    mapNote.textContent = `Dashed: the prior's 1, 2, 3 σ. Black ring: the followed digit's posterior (1 σ), ` +
      `${scaleWords}. Window ±${half.toFixed(1)}.`;
    const shown = nClasses - hidden.size;
    mapCanvas.setAttribute("aria-label", `Latent map at β = ${fmtBeta(shownBeta)}: the ${N.toLocaleString("en")} ` +
      `test digits' codes, coloured by class, each class's digit at its centre` +
      (hidden.size ? ` (${shown} of ${nClasses} classes shown)` : "") +
      `; ${Math.round((100 * outside) / N)} % lie outside the prior's 3σ circle. The ring: ${digitName(sel)}, ` +
      `at z = (${signed(ring.cx)}, ${signed(ring.cy)}), σ = (${ring.sx.toFixed(3)}, ${ring.sy.toFixed(3)}), ` +
      `${scaleWords}.`);
    STATS.ring = {beta: shownBeta, followed: sel, ...ring, mag: ringMag};
    return sig;
  }

  const badgeRadius = () => Math.round(9 * scale);
  // Each shown class's digit in a badge at the mean of its codes (centres, in latent units), so a class is read
  // without its colour; returns where the badges went (px, null for a hidden class).
  function drawBadges(ctx, centres) {
    const r = badgeRadius();
    ctx.font = `700 ${Math.round(13 * scale)}px sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const badges = spreadBadges(centres.map(([x, y], c) => (hidden.has(c) ? null : [toPx(x), mapPx - toPx(y)])),
                                2 * r + 2);
    badges.forEach((at, c) => {
      if (!at) return;
      ctx.beginPath();
      ctx.arc(at[0], at[1], r, 0, 2 * Math.PI);
      ctx.fillStyle = "#fff";
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = spec.colors[c];
      ctx.stroke();
      ctx.fillStyle = "#0f172a";
      ctx.fillText(String(c), at[0], at[1] + 0.5);
    });
    ctx.textBaseline = "alphabetic";
    return badges;
  }
  // The followed digit: its mu and its posterior's 1-sigma ellipse at the dial's one magnification, and beside it
  // the magnification (or that the ring is too small to see), where no badge is. Returns what it drew.
  function drawRing(ctx, k, t, sel, badges) {
    const mu = model.mu, s = m.mu_scale, a = k * N * D, b = (k + 1) * N * D, i = m.chosen[sel];
    const cx = (mu[a + i * D] * (1 - t) + mu[b + i * D] * t) * s;
    const cy = (mu[a + i * D + 1] * (1 - t) + mu[b + i * D + 1] * t) * s;
    const [sx, sy] = sigmaAt(m.chosen_sigma, sel, k, t);
    const ring = ringOnScreen([sx, sy], mapPx / (2 * half), ringMag);
    // its extent along x and y (the dial's plane is z1, z2: the ellipse's axes are the plane's)
    const rx = Math.abs(Math.cos(ring.angle)) > 0.5 ? ring.r1 : ring.r2, ry = rx === ring.r1 ? ring.r2 : ring.r1;
    const X = toPx(cx), Y = mapPx - toPx(cy);
    for (const [colour, width] of [["rgba(255,255,255,0.9)", 4], ["#0f172a", 2]]) {  // on a halo, as the prior's
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.ellipse(X, Y, ring.r1, ring.r2, ring.angle, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.fillStyle = "#0f172a";
    ctx.fillRect(X - 1.5, Y - 1.5, 3, 3);
    const tiny = Math.max(rx, ry) < 2;
    if (ringMag > 1 || tiny) {
      ctx.font = `600 ${Math.round(12 * scale)}px sans-serif`;
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      const words = (ringMag > 1 ? `ring ×${ringMag}` : "ring") + (tiny ? ": too small to see" : "");
      const tw = ctx.measureText(words).width, th = 12 * scale;
      const spot = labelSpot(X, Y, rx, ry, tw, th, badges, badgeRadius(), mapPx);
      if (spot.leader) {  // a thin line from the ring to its label
        ctx.strokeStyle = "#0f172a";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(...spot.leader[0]);
        ctx.lineTo(...spot.leader[1]);
        ctx.stroke();
      }
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.strokeText(words, spot.x, spot.y);
      ctx.fillText(words, spot.x, spot.y);
      ctx.textBaseline = "alphabetic";
    }
    return {cx, cy, sx, sy, rx, ry};
  }

  function drawRD(k, t, shownBeta) {
    const ctx = rdCtx, w = rd.width / dpr, h = rd.height / dpr, pad = 30 * scale, font = Math.round(12 * scale);
    const top = font + 8;  // the distortion axis's title is written across the top, never up the side over a label
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    const r0 = 0, r1 = Math.max(...m.rate) * 1.05;
    const d0 = Math.min(...m.distortion) * 0.98, d1 = Math.max(...m.distortion) * 1.02;
    const bottom = h - pad + 8;
    const X = (r) => pad + ((r - r0) / (r1 - r0)) * (w - pad - 8);
    const Y = (d) => bottom - ((d - d0) / (d1 - d0)) * (bottom - top - 4);
    ctx.strokeStyle = "#94a3b8";
    ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(pad, top); ctx.lineTo(pad, bottom); ctx.lineTo(w - 4, bottom); ctx.stroke();
    ctx.strokeStyle = "#2563eb";
    ctx.lineWidth = 2;
    ctx.beginPath();
    m.rate.forEach((r, j) => (j ? ctx.lineTo(X(r), Y(m.distortion[j])) : ctx.moveTo(X(r), Y(m.distortion[j]))));
    ctx.stroke();
    const rate = lerp(m.rate, k, t), distortion = lerp(m.distortion, k, t);
    ctx.fillStyle = "#dc2626";
    ctx.beginPath();
    ctx.arc(X(rate), Y(distortion), 6 * scale, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = "#334155";
    ctx.font = `${font}px sans-serif`;
    const boxes = [];  // each text's box (CSS px), for the test hook: no two labels may overlap at any size
    const label = (text, x, y, align) => {
      ctx.textAlign = align;
      ctx.fillText(text, x, y);
      const tm = ctx.measureText(text), left = align === "right" ? x - tm.width : x;
      boxes.push({text, x0: left, x1: left + tm.width, y0: y - tm.actualBoundingBoxAscent,
                  y1: y + tm.actualBoundingBoxDescent});
    };
    label("rate (KL, nats) →", pad + 16 * scale, h - 4, "left");
    label("↑ distortion (nats)", 4, font + 2, "left");
    label(r1.toFixed(0), w - 4, bottom + 2 + font, "right");  // the axes' ends, in nats
    label(d1.toFixed(0), pad - 3, top + font - 2, "right");
    label(d0.toFixed(0), pad - 3, bottom, "right");
    label("0", pad, bottom + 2 + font, "left");
    STATS.rdLabels = boxes;
    rd.setAttribute("aria-label", `Rate–distortion curve of this model over β ${range} (test set); the red dot, ` +
      `β = ${fmtBeta(shownBeta)}: rate ${rate.toFixed(1)} nats, distortion ${distortion.toFixed(1)} nats`);
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
    const drawnBeta = state.beta;
    const [k, t] = gridPosition(m.betas, drawnBeta);
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
    const at = `β = ${fmtBeta(shownBeta)}`;
    for (let i = 0; i < nGrid * nGrid; i++) putDigit(manImg, out, i * 784, i % nGrid, Math.floor(i / nGrid));
    for (let i = 0; i < 784 * nGrid * nGrid; i += 97) manSig += out[i];
    manCtx.putImageData(manImg, 0, 0);
    manifold.setAttribute("aria-label", `The same ${nGrid} × ${nGrid} grid of z over the prior's central 90 %, ` +
                          `decoded at ${at}`);
    for (let i = 0; i < spec.prior_z.length; i++) {
      putDigit(priorImg, out, (nGrid * nGrid + i) * 784, i % 8, Math.floor(i / 8));
    }
    priorCtx.putImageData(priorImg, 0, 0);
    prior.setAttribute("aria-label", `${spec.prior_z.length} fixed prior samples z ~ N(0, I), decoded at ${at}`);
    for (let c = 0; c < C; c++) putDigit(reconImg, out, (reconStart + c) * 784, c, 1);
    reconCtx.putImageData(reconImg, 0, 0);
    const mapSig = drawMap(k, t, state.followed, shownBeta);
    drawRD(k, t, shownBeta);
    betaText.textContent = at;
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
  const setBeta = (b) => { state.beta = b; showBeta(); schedule(); say(betaNow); };
  slider.oninput = () => setBeta(fromSlider(+slider.value));
  slider.onchange = () => { state.beta = fromSlider(+slider.value); setStateValue("beta", state.beta); };

  // --- the strip: a listbox over the reconstructions' canvas, one option per followed digit (roving tabindex:
  // one Tab stop; the arrow keys, Home and End move and follow; a click or a tap follows)
  strip.textContent = "";
  const options = m.chosen.map((_, c) => {
    const option = document.createElement("div");
    option.setAttribute("role", "option");
    option.onclick = () => follow(c, false);
    strip.append(option);
    return option;
  });
  function syncStrip() {
    options.forEach((option, c) => {
      option.setAttribute("aria-label", `Follow ${digitName(c)}`);
      option.setAttribute("aria-selected", String(c === state.followed));
      option.tabIndex = c === state.followed ? 0 : -1;
    });
    STATS.followed = state.followed;
  }
  function follow(c, focus) {
    state.followed = c;
    syncStrip();
    if (focus) options[c].focus();
    schedule();
    say(() => {
      const [k, t] = gridPosition(m.betas, state.beta);
      const [sx, sy] = sigmaAt(m.chosen_sigma, state.followed, k, t);
      return `Following ${digitName(state.followed)}: at β = ${fmtBeta(state.beta)} its posterior σ = ` +
             `(${sx.toFixed(3)}, ${sy.toFixed(3)})`;
    });
  }
  strip.onkeydown = (e) => {
    const moves = {ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1};
    let c = null;
    if (e.key in moves) c = Math.min(C - 1, Math.max(0, state.followed + moves[e.key]));
    else if (e.key === "Home") c = 0;
    else if (e.key === "End") c = C - 1;
    else return;
    e.preventDefault();
    follow(c, true);
  };
  syncStrip();

  // --- the legend: a toggle button per class (pressed = shown). Click, tap, Enter or Space hides or shows it;
  // double-click, long-press or Shift with any of them shows only that class (and, again, all).
  legend.textContent = "";
  let pressedLong = null, pressTimer = null;
  const chips = spec.colors.map((colour, c) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.innerHTML = `<i style="background:${colour};border-color:${colour}"></i>${c}`;
    chip.setAttribute("aria-label", `Show class ${c}`);
    chip.onclick = (e) => {
      if (pressedLong === c) { pressedLong = null; return; }  // the long press already acted
      if (e.shiftKey) showOnly(c);
      else setHidden(hidden.has(c) ? [...hidden].filter((h) => h !== c) : [...hidden, c],
                     `Class ${c} ${hidden.has(c) ? "shown" : "hidden"}`);
    };
    chip.ondblclick = () => showOnly(c);
    chip.onpointerdown = (e) => {
      pressedLong = null;
      if (e.pointerType === "mouse") return;
      clearTimeout(pressTimer);
      pressTimer = setTimeout(() => { pressedLong = c; showOnly(c); }, 550);
    };
    chip.onpointerup = chip.onpointercancel = chip.onpointerleave = () => clearTimeout(pressTimer);
    chip.oncontextmenu = (e) => e.preventDefault();  // a long press is "only this class", not the context menu
    legend.append(chip);
    return chip;
  });
  const allButton = document.createElement("button");
  allButton.type = "button";
  allButton.className = "bd-all";
  allButton.textContent = "Show all";
  allButton.onclick = () => { setHidden([], "All classes shown"); chips[0].focus(); };
  legend.append(allButton);
  function showOnly(c) {
    const only = hidden.size === nClasses - 1 && !hidden.has(c);
    setHidden(only ? [] : spec.colors.map((_, k) => k).filter((k) => k !== c),
              only ? "All classes shown" : `Only class ${c} shown`);
  }
  function setHidden(classes, words) {
    hidden.clear();
    for (const c of classes) hidden.add(c);
    syncLegend();
    schedule();
    if (words) say(() => `${words}: ${nClasses - hidden.size} of ${nClasses} classes on the map`);
  }
  function syncLegend() {
    chips.forEach((chip, c) => chip.setAttribute("aria-pressed", String(!hidden.has(c))));
    allButton.hidden = hidden.size === 0;
    STATS.hidden = [...hidden].sort();
  }
  syncLegend();

  root.__generation = (root.__generation || 0) + 1;  // frames still in flight from an older mount are dropped
  const mount = root.__generation;
  if (root.__resizeObserver) root.__resizeObserver.disconnect();  // one per mounted element, the newest's
  root.__resizeObserver = new ResizeObserver(() => { if (layout()) schedule(); });
  root.__resizeObserver.observe(root);

  betaText.textContent = `β = ${fmtBeta(state.beta)}`;
  status.textContent = "Loading the model…";
  loadModel(m).then((loaded) => {
    model = loaded;
    byClass.length = 0;
    for (let c = 0; c < nClasses; c++) byClass.push([]);
    for (let i = 0; i < N; i++) byClass[model.labels[i]].push(i);
    const originals = Float32Array.from(model.chosenPixels, (v) => v / 255);
    for (let c = 0; c < C; c++) putDigit(reconImg, originals, c * 784, c, 0);
    syncStrip();  // the options' names now say which digit each is
    status.textContent = "";
    STATS.ready = true;
    draw();
  }).catch((err) => {
    status.textContent = String(err.message || err);
    STATS.errors.push(String(err));
  });
}
