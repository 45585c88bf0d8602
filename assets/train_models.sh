#!/usr/bin/env bash
# Retrain the bundled models exactly as shipped (2 CPU cores: about an hour; two lanes run side by side).
# Needs the MNIST training split under ./data/MNIST/raw (or VAE_DATA_DIR). Writes runs/bundle/*.pt, records the
# k = 1000 importance-weighted test NLL in each checkpoint, then copies the float16 files to assets/models/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/bundle assets/models
COMMON="--arch mlp --hidden 512,256 --batch-size 128 --lr 1e-3 --lr-schedule cosine --binarize dynamic --threads 1"

one() {  # key latent_dim beta epochs kl_warmup name
  python -m vae train $COMMON --latent-dim "$2" --beta "$3" --epochs "$4" --kl-warmup "$5" --name "$6" \
    --out "runs/bundle/$1.pt" --half --json > "runs/bundle/$1.json" 2> "runs/bundle/$1.log"
  python -m vae evaluate "runs/bundle/$1.pt" --iw-samples 1000 --record --json > "runs/bundle/$1.eval.json"
  cp "runs/bundle/$1.pt" "assets/models/$1.pt"
}

(one mnist-2d-beta1 2 1 250 10 "2-D · β = 1 (default)"
 one mnist-2d-beta4 2 4 50 10 "2-D · β = 4"
 one mnist-2d-beta16 2 16 50 10 "2-D · β = 16") &
(one mnist-20d-beta1 20 1 150 10 "20-D · β = 1"
 one mnist-2d-beta0 2 0 50 0 "2-D · β = 0 (autoencoder)"
 one mnist-2d-beta0.25 2 0.25 50 10 "2-D · β = 0.25") &
wait
