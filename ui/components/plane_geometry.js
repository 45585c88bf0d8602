// The geometry every latent map in the browser shares (the latent pad, the beta dial): plane coordinates, the view's
// pixel mapping, the posterior ellipse and its magnification rule, the plot window and the beta grid's interpolation.
// No imports or exports: latent_pad.py and beta_dial.py prepend this file to their component modules, and
// tests/test_plane_geometry_js.py runs it in node against the Python it mirrors (named at each function).

// A plane through latent space: z = o + a u + b v with u, v orthonormal. Plane coordinates of vec (or of the D
// values of a flat array starting at off): a = (z - o).u, b = (z - o).v. Python: sklearn's PCA.transform for the PCA
// plane (vae.latent.project_2d), z[i], z[j] for the plane of two dimensions.
function planeCoords(o, u, v, vec, off = 0) {
  let a = 0, b = 0;
  for (let i = 0; i < o.length; i++) { const d = vec[off + i] - o[i]; a += d * u[i]; b += d * v[i]; }
  return [a, b];
}

// A copy of vec moved within the plane to coordinates (a, b): the dimensions off the plane keep their values.
// Python: PCA.inverse_transform([a, b]) when vec is the plane's origin.
function moveInPlane(o, u, v, vec, a, b) {
  const [a0, b0] = planeCoords(o, u, v, vec);
  const out = Float64Array.from(vec);
  for (let i = 0; i < o.length; i++) out[i] += (a - a0) * u[i] + (b - b0) * v[i];
  return out;
}

// The posterior N(mu, diag sigma^2) seen in the plane: covariance [u v]^T diag(sigma^2) [u v], its 1-sigma ellipse
// with semi-axes r1 >= r2 (latent units) and the angle of r1 from the plane's a axis (counter-clockwise, radians).
// Python: vae.latent.posterior_ellipse (its polygon lies on this ellipse).
function planeEllipse(u, v, sigma) {
  let a = 0, b = 0, c = 0;
  for (let i = 0; i < u.length; i++) {
    const s2 = sigma[i] * sigma[i];
    a += u[i] * u[i] * s2; b += u[i] * v[i] * s2; c += v[i] * v[i] * s2;
  }
  const mid = (a + c) / 2, rad = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  return {r1: Math.sqrt(mid + rad), r2: Math.sqrt(Math.max(mid - rad, 0)), angle: 0.5 * Math.atan2(2 * b, a - c)};
}

// The one magnification rule: an ellipse whose short axis would be under ELLIPSE_MIN_PX pixels is drawn 10x, 100x
// or 1000x larger (and the page says so), so a confident posterior is still seen.
const ELLIPSE_MIN_PX = 5;
function ellipseMagnification(minorPx) {
  let mag = 1;
  while (minorPx * mag < ELLIPSE_MIN_PX && mag < 1000) mag *= 10;
  return mag;
}

// The ellipse in css pixels at pxPerUnit: radii (at least 1 px), the canvas angle (y points down) and the
// magnification used (1 = true scale).
function ellipsePx(e, pxPerUnit) {
  const mag = ellipseMagnification(e.r2 * pxPerUnit);
  return {rx: Math.max(e.r1 * pxPerUnit * mag, 1), ry: Math.max(e.r2 * pxPerUnit * mag, 1), angle: -e.angle, mag};
}

// A square view {cx, cy, span} of plane coordinates shown on W x W css pixels (b grows upwards).
function viewTransform(view, W) {
  const scale = W / view.span;  // css px per latent unit
  return {
    scale,
    toX: (a) => (a - view.cx) * scale + W / 2,
    toY: (b) => W / 2 - (b - view.cy) * scale,
    fromX: (x) => view.cx + (x - W / 2) / scale,
    fromY: (y) => view.cy - (y - W / 2) / scale,
  };
}

// np.percentile's default (linear interpolation) over all the values. Python: vae.plot_window.percentiles.
function percentiles(values, qs) {
  const v = Float64Array.from(values).sort();
  return qs.map((q) => {
    const pos = (q / 100) * (v.length - 1), lo = Math.floor(pos), hi = Math.min(lo + 1, v.length - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  });
}

// The plot window [lo, hi] holding the middle 99 % of the values and the prior's +-3 sigma, padded.
// Python: vae.plot_window.plot_window (same arguments, same rounding to 2 decimals).
function plotWindow(values, {cover = 3, pad = 0.05, q = [0.5, 99.5], symmetric = false} = {}) {
  let lo, hi;
  if (!values.length) { lo = -3; hi = 3; }
  else if (symmetric) { hi = percentiles(Array.from(values, Math.abs), [q[1]])[0]; lo = -hi; }
  else [lo, hi] = percentiles(values, q);
  if (cover !== null && cover !== undefined) { lo = Math.min(-cover, lo); hi = Math.max(cover, hi); }
  const margin = pad * Math.max(hi - lo, 1e-3);
  return [Number((lo - margin).toFixed(2)), Number((hi + margin).toFixed(2))];
}

// Where x falls on a log-spaced grid (the beta dial's betas): index k and the weight t of k + 1, clipped to the grid.
// Python: vae.beta_dial.DialData.between.
function gridPosition(grid, x) {
  const K = grid.length, lo = Math.log(grid[0]), hi = Math.log(grid[K - 1]);
  const f = Math.min(Math.max((Math.log(x) - lo) / (hi - lo), 0), 1) * (K - 1);
  const k = Math.min(Math.floor(f), K - 2);
  return [k, f - k];
}

// arr[k] and arr[k + 1] mixed with weight t (gridPosition's k, t).
function lerp(arr, k, t) {
  return arr[k] * (1 - t) + arr[k + 1] * t;
}
