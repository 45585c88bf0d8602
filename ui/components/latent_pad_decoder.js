// The VAE decoder in plain JavaScript, for the latent pad: it runs the layer list written by
// vae.latent.export_decoder (linear, relu, conv_transpose, sigmoid) over one flat Float32Array of weights.
// No imports or exports: latent_pad.py prepends this file to the component module, and the tests run it in node.

// Returns decode(z) -> Float32Array(784) of pixel means in [0, 1]. The returned array is reused between calls
// (one decode per animation frame must not allocate). Sums are accumulated in float64 (JS numbers), so the result
// differs from torch's float32 only in the last bits.
function createDecoder(layers, weights) {
  const sizes = [];
  let width = null;
  for (const layer of layers) {
    if (layer.type === "linear") width = layer.out;
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

  return function decode(z) {
    let x = z;
    layers.forEach((layer, index) => {
      const y = buffers[index];
      if (layer.type === "linear") linear(layer, x, y);
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
