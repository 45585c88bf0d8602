// The VAE decoder in plain JavaScript, for the latent pad and the beta dial: it runs the layer list written by
// vae.numpy_model.export_decoder (linear, relu, gate, conv_transpose, sigmoid) over one flat Float32Array of weights.
// No imports or exports: latent_pad.py prepends this file to the component module, and the tests run it in node.

// Returns decode(z) -> Float32Array(784) of pixel means in [0, 1]. The returned array is reused between calls
// (one decode per animation frame must not allocate). Sums are accumulated in float64 (JS numbers), so the result
// differs from torch's float32 only in the last bits.
function createDecoder(layers, weights) {
  const sizes = [];
  let width = null;
  for (const layer of layers) {
    if (layer.type === "linear") width = layer.out;
    else if (layer.type === "gate") width = layer.n;
    else if (layer.type === "conv_transpose") width = layer.out_channels * layer.out_size * layer.out_size;
    sizes.push(width);
  }
  const buffers = sizes.map((n) => new Float64Array(n));
  const output = new Float32Array(width);

  function linear(layer, x, y) {
    const n_in = layer.in, n_out = layer.out, w = layer.w, b = layer.b;
    for (let o = 0; o < n_out; o++) {
      let acc = weights[b + o];
      const row = w + o * n_in;
      for (let i = 0; i < n_in; i++) acc += weights[row + i] * x[i];
      y[o] = acc;
    }
  }

  // torch.nn.ConvTranspose2d with square kernel: each input pixel scatters a k x k stamp into the output,
  // output(y, x) += in(iy, ix) * w[in, out, ky, kx] with y = iy * stride - padding + ky.
  function convTranspose(layer, x, y) {
    const cin = layer.in_channels, cout = layer.out_channels, k = layer.kernel, s = layer.stride;
    const p = layer.padding, n = layer.in_size, m = layer.out_size, w = layer.w;
    for (let o = 0; o < cout; o++) y.fill(weights[layer.b + o], o * m * m, (o + 1) * m * m);
    for (let i = 0; i < cin; i++) {
      for (let iy = 0; iy < n; iy++) {
        for (let ix = 0; ix < n; ix++) {
          const v = x[(i * n + iy) * n + ix];
          if (v === 0) continue;  // after a ReLU most inputs are zero
          for (let o = 0; o < cout; o++) {
            const wBase = w + (i * cout + o) * k * k, yBase = o * m * m;
            for (let ky = 0; ky < k; ky++) {
              const oy = iy * s - p + ky;
              if (oy < 0 || oy >= m) continue;
              for (let kx = 0; kx < k; kx++) {
                const ox = ix * s - p + kx;
                if (ox < 0 || ox >= m) continue;
                y[yBase + oy * m + ox] += v * weights[wBase + ky * k + kx];
              }
            }
          }
        }
      }
    }
  }

  // logBeta: for "gate" layers only (a beta-conditioned model).
  return function decode(z, logBeta) {
    let x = z;
    layers.forEach((layer, index) => {
      const y = buffers[index];
      if (layer.type === "linear") linear(layer, x, y);
      else if (layer.type === "gate") {
        const u = (logBeta - layer.centre) / layer.half_width;
        for (let i = 0; i < y.length; i++) y[i] = x[i] / (1 + Math.exp(-(weights[layer.a + i] * u + weights[layer.b + i])));
      }
      else if (layer.type === "conv_transpose") convTranspose(layer, x, y);
      else if (layer.type === "relu") for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
      else if (layer.type === "sigmoid") for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
      else throw new Error("unknown decoder layer " + layer.type);
      x = y;
    });
    output.set(x);
    return output;
  };
}

// The same forward pass for a batch, as fast as plain JavaScript allows: the KL lab's beta dial decodes 124
// digits per animation frame. Weights are transposed once (input-major), so each nonzero input adds a scaled
// contiguous column and the many zeros a ReLU leaves are skipped (measured 3x faster than createDecoder per digit).
// decodeBatch(Z, B, logBeta): Z is a Float32Array of B latent vectors; returns a Float32Array(B * 784) that is
// reused between calls. logBeta is used by "gate" layers only (a beta-conditioned model, vae.model.BetaGate).
// Linear and gate layers only (the MLP decoders); conv decoders use createDecoder.
function createBatchDecoder(layers, weights) {
  const prepared = layers.map((layer) => {
    if (layer.type === "linear") {
      const t = new Float32Array(layer.in * layer.out);
      for (let o = 0; o < layer.out; o++) {
        for (let i = 0; i < layer.in; i++) t[i * layer.out + o] = weights[layer.w + o * layer.in + i];
      }
      return {...layer, columns: t, bias: weights.subarray(layer.b, layer.b + layer.out)};
    }
    if (layer.type === "gate") {
      return {...layer, ga: weights.subarray(layer.a, layer.a + layer.n), gb: weights.subarray(layer.b, layer.b + layer.n),
              scale: new Float32Array(layer.n)};
    }
    if (layer.type === "relu" || layer.type === "sigmoid") return layer;
    throw new Error("createBatchDecoder: unsupported layer " + layer.type);
  });
  const buffers = new Map();  // (layer index) -> Float32Array, grown to the largest batch seen
  function buffer(index, size) {
    let b = buffers.get(index);
    if (!b || b.length < size) { b = new Float32Array(size); buffers.set(index, b); }
    return b;
  }
  return function decodeBatch(Z, B, logBeta) {
    let x = Z, width = Z.length / B;
    prepared.forEach((layer, index) => {
      if (layer.type === "linear") {
        const nIn = layer.in, nOut = layer.out, cols = layer.columns;
        const y = buffer(index, B * nOut);
        for (let b = 0; b < B; b++) {
          const yo = b * nOut, xo = b * nIn;
          y.set(layer.bias, yo);
          for (let i = 0; i < nIn; i++) {
            const v = x[xo + i];
            if (v === 0) continue;
            const c = i * nOut;
            for (let o = 0; o < nOut; o++) y[yo + o] += v * cols[c + o];
          }
        }
        x = y; width = nOut;
      } else if (layer.type === "gate") {  // h * sigmoid(a u + b), u = log beta rescaled to [-1, 1]
        if (x === Z) { const y = buffer(index, Z.length); y.set(Z); x = y; }  // a gate on z: not the caller's array
        const u = (logBeta - layer.centre) / layer.half_width, n = layer.n, s = layer.scale;
        for (let i = 0; i < n; i++) s[i] = 1 / (1 + Math.exp(-(layer.ga[i] * u + layer.gb[i])));
        for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) x[b * n + i] *= s[i];
      } else if (layer.type === "relu") {
        for (let i = 0; i < B * width; i++) if (x[i] < 0) x[i] = 0;
      } else {  // sigmoid
        for (let i = 0; i < B * width; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
      }
    });
    return x.subarray(0, B * width);
  };
}
