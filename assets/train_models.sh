#!/usr/bin/env bash
# Retrain the bundled models exactly as shipped. Needs the MNIST training split under ./data/MNIST/raw (or
# VAE_DATA_DIR). Each model: train (writes runs/bundle/KEY.pt after every epoch, float16 at the end), record the
# k = 1000 importance-weighted test NLL in the checkpoint, copy it to assets/models/.
#   ./assets/train_models.sh              all seven, in three lanes side by side (about 2 h on 2 CPU cores)
#   ./assets/train_models.sh KEY [KEY..]   only those, one after another
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/bundle assets/models
# The recipe the shipped models were trained with (pinned: TrainConfig defaults have changed since).
COMMON="--arch mlp --hidden 512,256 --batch-size 128 --lr 1e-3 --lr-schedule cosine --lr-floor 0.05 --adam-betas 0.9,0.999
        --warmup-steps 100 --binarize dynamic --threads 1"
declare -A SPEC=(  # key -> "latent_dim beta epochs kl_warmup"
  [mnist-2d-beta1]="2 1 250 10"   [mnist-20d-beta1]="20 1 150 10"
  [mnist-2d-beta0]="2 0 50 0"     [mnist-2d-beta0.25]="2 0.25 50 10"
  [mnist-2d-beta4]="2 4 50 10"    [mnist-2d-beta16]="2 16 50 10"
  [mnist-2d-beta-dial]="2 1 250 10"
)
declare -A EXTRA=(  # flags beyond the common recipe; --beta-range makes one model for every beta in the range,
  # --gate-heads gates the encoder's outputs too, --beta-tilt 2.5 draws the top of the range more often,
  # --gate-split 6 starts a quarter of the hidden units open only above beta = 6 (README)
  [mnist-2d-beta-dial]="--beta-range 0.01,16 --gate-heads true --beta-tilt 2.5 --gate-split 6"
)
declare -A NAME=(
  [mnist-2d-beta1]="2-D · β = 1 (default)" [mnist-20d-beta1]="20-D · β = 1"
  [mnist-2d-beta0]="2-D · β = 0 (autoencoder)" [mnist-2d-beta0.25]="2-D · β = 0.25"
  [mnist-2d-beta4]="2-D · β = 4" [mnist-2d-beta16]="2-D · β = 16"
  [mnist-2d-beta-dial]="2-D · every β from 0.01 to 16 (one model)"
)

one() {
  read -r dim beta epochs warm <<< "${SPEC[$1]}"
  python -m vae train $COMMON ${EXTRA[$1]:-} --latent-dim "$dim" --beta "$beta" --epochs "$epochs" --kl-warmup "$warm" \
    --name "${NAME[$1]}" --out "runs/bundle/$1.pt" --half --json > "runs/bundle/$1.json" 2> "runs/bundle/$1.log"
  python -m vae evaluate "runs/bundle/$1.pt" --iw-samples 1000 --record --json > "runs/bundle/$1.eval.json"
  if [ -n "${EXTRA[$1]:-}" ]; then  # the beta dial's model: also its figures at the separately trained models' betas
    for b in 0.25 4 16; do
      python -m vae evaluate "runs/bundle/$1.pt" --beta "$b" --record --json > "runs/bundle/$1.beta$b.json"
    done
    rm -f assets/beta_dial/*.npz
    python -m vae export-dial "runs/bundle/$1.pt" --out-dir assets/beta_dial
  fi
  cp "runs/bundle/$1.pt" "assets/models/$1.pt"
  if [ "$1" = mnist-2d-beta1 ]; then  # the default model's NumPy form: the Explore page's cold start needs no torch
    rm -f assets/numpy_models/*.npz
    python -m vae export-numpy "assets/models/$1.pt" --out-dir assets/numpy_models
  fi
}

if [ $# -gt 0 ]; then
  for key in "$@"; do one "$key"; done
  exit 0
fi
(one mnist-2d-beta1) &
(one mnist-20d-beta1; one mnist-2d-beta0; one mnist-2d-beta0.25) &
(one mnist-2d-beta4; one mnist-2d-beta16; one mnist-2d-beta-dial) &
wait
