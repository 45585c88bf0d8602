"""Command line: `python -m vae train | evaluate | models | export-numpy | export-dial`. Progress goes to stderr;
--json prints one JSON line last."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields, replace

from .config import PRESETS, ModelConfig, TrainConfig
from .data import DATASETS
from .runs import SNAPSHOT_SIZE
from .trainer import Progress, steps_per_epoch


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated widths like 512,256, not {text!r}")
    if not sizes:
        raise argparse.ArgumentTypeError("--hidden needs at least one width")
    return sizes


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _betas(text: str) -> tuple[float, float]:
    try:
        betas = tuple(float(s) for s in text.split(","))
    except ValueError:
        betas = ()
    if len(betas) != 2:
        raise argparse.ArgumentTypeError(f"--adam-betas takes two numbers like 0.9,0.99, not {text!r}")
    return betas


def _beta_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--beta-range takes two numbers like 0.01,16, not {text!r}")
    return lo, hi


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per config field, defaults left as None so presets and dataclass defaults apply underneath."""
    m = p.add_argument_group("model")
    m.add_argument("--arch", choices=["mlp", "conv"])
    m.add_argument("--latent-dim", type=int)
    m.add_argument("--hidden", type=_hidden, help="layer widths, e.g. 512,256 (conv: ch1,ch2[,dense])")
    m.add_argument("--likelihood", choices=["bernoulli", "gaussian"])
    m.add_argument("--obs-std", type=float, help="std of the Gaussian likelihood")
    m.add_argument("--beta-range", type=_beta_range, help="lo,hi: one model for every beta in the range, "
                                                          "conditioned on beta (Multi-Rate VAE); --beta is then unused")
    m.add_argument("--gate-heads", type=_bool, metavar="true|false",
                   help="with --beta-range: gate the encoder's outputs (mu, log sigma^2) by beta too")
    m.add_argument("--gate-latent", type=_bool, metavar="true|false",
                   help="with --beta-range: gate z by beta before the decoder (one gate per latent dimension)")
    m.add_argument("--gate-split", type=float, metavar="BETA",
                   help="with --beta-range: a quarter of the hidden units start gated open only above BETA, the "
                        "rest only below it")
    t = p.add_argument_group("training")
    t.add_argument("--dataset", choices=list(DATASETS))
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--lr-schedule", choices=["constant", "cosine"])
    t.add_argument("--lr-floor", type=float, help="end of the cosine schedule, as a fraction of --lr")
    t.add_argument("--adam-betas", type=_betas, help="Adam's beta1,beta2, e.g. 0.9,0.99")
    t.add_argument("--warmup-steps", type=int, help="linear learning-rate warm-up steps")
    t.add_argument("--beta", type=float, help="KL weight (0 = autoencoder, 1 = VAE)")
    t.add_argument("--beta-tilt", type=float, help="with --beta-range: draw log beta with density ~ exp(tilt u) "
                                                   "over the range, u from 0 (bottom) to 1 (top); 0 = uniform")
    t.add_argument("--kl-warmup", type=int, help="epochs to ramp the KL weight from 0 to beta")
    t.add_argument("--binarize", choices=["none", "dynamic"])
    t.add_argument("--mc-samples", type=int, help="samples of z per example (L)")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="auto, cpu, cuda, cuda:1 ...")
    t.add_argument("--threads", type=int, help="torch CPU threads (0 = all)")
    t.add_argument("--eval-every", type=int, help="evaluate on the test split every N epochs")
    t.add_argument("--train-subset", type=int, help="train on the first N images only")


def _requested(args) -> tuple[dict, dict]:
    """The model and training fields the command line sets: the preset's (all of them), then the flags given."""
    mk, tk = (asdict(PRESETS[args.preset][0]), asdict(PRESETS[args.preset][1])) if args.preset else ({}, {})
    model_names, train_names = {f.name for f in fields(ModelConfig)}, {f.name for f in fields(TrainConfig)}
    for key, value in vars(args).items():
        if value is not None and key in model_names:
            mk[key] = value
        elif value is not None and key in train_names:
            tk[key] = value
    return mk, tk


def configs_from_args(args, resumed: tuple[ModelConfig, TrainConfig] | None = None) -> tuple[ModelConfig,
                                                                                            TrainConfig]:
    """The configs a `train` command asks for: the dataclass defaults, or a checkpoint's own configs when it
    resumes one (`resumed`), under the preset and the flags.

    Resuming rebuilds the checkpoint's model, so a preset or flag that asks for another model raises ValueError
    naming the field, even one that changes no weight's shape (gate_split); training flags (--epochs) apply."""
    mk, tk = _requested(args)
    model_cfg, train_cfg = resumed or (ModelConfig(), TrainConfig())
    asked = replace(model_cfg, **mk)
    if resumed is not None:
        differ = [k for k in mk if getattr(asked, k) != getattr(model_cfg, k)]
        if differ:
            theirs = ", ".join(f"{k} = {_shown(getattr(model_cfg, k))}" for k in differ)
            raise ValueError(f"--resume continues the checkpoint's own model ({theirs}); drop "
                             f"{', '.join('--' + k.replace('_', '-') for k in differ)} or start a new run")
    return asked, replace(train_cfg, **tk)


def _shown(value) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) if isinstance(value, tuple) \
        else str(value)


def _bar(p: Progress, width: int = 24) -> str:
    done = int(width * p.step / max(p.steps_per_epoch, 1))
    last = p.last
    return (f"\repoch {p.epoch}/{p.epochs} [{'#' * done}{'.' * (width - done)}] "
            f"recon {last.get('recon', float('nan')):7.2f}  kl {last.get('kl', float('nan')):6.2f}")


def _run_reporter(run_dir: str):
    """Progress files for the app; SIGTERM then ends the run like Ctrl-C, recorded as stopped."""
    import signal

    from .runs import ProgressReporter

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    return ProgressReporter(run_dir)


def cmd_train(args) -> int:
    from .checkpoint import CheckpointError, SaveError, load_checkpoint, save_checkpoint
    from .data import DataUnavailableError, load_split
    from .runs import lower_autogroup_priority
    from .trainer import train

    lower_autogroup_priority()  # a no-op unless the app started this run
    try:
        resumed = None
        if args.resume:
            ck = load_checkpoint(args.resume)
            resumed = (ck.model_config, ck.train_config)
        model_cfg, train_cfg = configs_from_args(args, resumed)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reporter = _run_reporter(args.run_dir) if args.run_dir else None  # the app's progress files
    try:
        t0 = time.perf_counter()
        if args.train_split == "test":  # a demo on the (bundled) test split when the training split is missing
            train_split = test_split = load_split(train_cfg.dataset, train=False, root=args.data_dir)
        else:
            train_split = load_split(train_cfg.dataset, train=True, root=args.data_dir)
            test_split = load_split(train_cfg.dataset, train=False, root=args.data_dir)
        load_s = time.perf_counter() - t0
    except DataUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if reporter:
            reporter.finish("failed", str(exc), kind="data")
        return 1
    if reporter:
        n = min(len(test_split), args.snapshot_size)
        reporter.set_snapshot(test_split.images[:n], test_split.labels[:n], model_cfg.reference_beta)
    step_every = max(1, steps_per_epoch(train_cfg, len(train_split)) // 20)  # 20 progress reports per epoch

    def show(p: Progress) -> bool | None:
        if reporter and reporter(p):
            return True  # the app asked to stop
        if p.kind == "step":
            print(_bar(p), end="", file=sys.stderr, flush=True)
        elif p.kind == "epoch":
            e = p.last
            test = f"  test -elbo {e['test_neg_elbo']:.2f}" if "test_neg_elbo" in e else ""
            print(f"\repoch {p.epoch}/{p.epochs}  train -elbo {e['train_neg_elbo']:.2f} (recon {e['train_recon']:.2f}, "
                  f"kl {e['train_kl']:.2f}){test}  ({e['train_seconds']:.1f}s)" + " " * 8,
                  file=sys.stderr, flush=True)

    try:
        result = train(model_cfg, train_cfg, train_split, test_split, out=args.out, resume=args.resume,
                       callback=show, step_every=step_every, name=args.name or "")
        if args.half and args.out:  # compact copy for bundling: float16 weights, no optimizer state
            ck = load_checkpoint(args.out)
            save_checkpoint(args.out, ck.model, ck.train_config, history=ck.history, metrics=ck.metrics,
                            dataset=ck.dataset, epoch=ck.epoch, name=ck.name, half=True)
    except (SaveError, ValueError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        if reporter:
            reporter.finish("failed", str(exc), kind="save" if isinstance(exc, SaveError) else "config")
        return 1
    except KeyboardInterrupt:
        if reporter:
            reporter.finish("stopped", "Interrupted; the last completed epoch is saved.")
        print(f"\ninterrupted: the last completed epoch is saved in {args.out}" if args.out else "\ninterrupted",
              file=sys.stderr)
        return 130
    if reporter:  # a finished app run: record the full test metrics now, so the KL lab need not evaluate it
        if args.out and result.history and not result.stopped:  # (a stop is shown at once, not after this)
            try:
                _record_metrics(args.out, test_split)
            except (Exception, KeyboardInterrupt) as exc:  # optional: the KL lab evaluates it once instead
                print(f"\nnote: the test metrics were not recorded in the checkpoint: {exc}", file=sys.stderr)
        reporter.finish("stopped" if result.stopped else "finished")
    m = result.metrics
    summary = {"epochs": len(result.history), "samples_per_s": round(result.samples_per_s, 1),
               "train_seconds": round(result.train_seconds, 3), "data_seconds": round(load_s, 3),
               "test_neg_elbo": m.get("neg_elbo"), "test_recon": m.get("recon"), "test_kl": m.get("kl"),
               "checkpoint": str(args.out) if args.out else None, "history": result.history}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"trained {summary['epochs']} epochs in {summary['train_seconds']:.1f}s "
              f"({summary['samples_per_s']:.0f} samples/s); test -ELBO {m.get('neg_elbo', float('nan')):.2f} "
              f"(recon {m.get('recon', float('nan')):.2f}, KL {m.get('kl', float('nan')):.2f})"
              + (f"; saved {args.out}" if args.out else ""))
    return 0


def _save_metrics(path, ck, out: dict) -> None:
    """Store an evaluate_checkpoint result in the checkpoint, where `vae models` and the app read it. A
    beta-conditioned model keeps one entry per beta under "at_beta" (and beta = 1's at the top, as others)."""
    from .checkpoint import save_checkpoint

    out = {k: v for k, v in out.items() if k != "kl_per_dim"}
    metrics = dict(ck.metrics)
    if ck.model_config.beta_range is not None:
        metrics["at_beta"] = {**metrics.get("at_beta", {}), f"{out['beta']:g}": out}
        if out["beta"] != ck.model_config.reference_beta:
            out = {}
    metrics.update(out)
    save_checkpoint(path, ck.model, ck.train_config, history=ck.history, metrics=metrics, dataset=ck.dataset,
                    epoch=ck.epoch, name=ck.name, resume_state=ck.resume_state, half=ck.half)


def _record_metrics(path, test_split) -> None:
    """Evaluate a checkpoint on the test split and store the result in it, as `vae evaluate --record` does."""
    from .checkpoint import load_checkpoint
    from .evaluation import evaluate_checkpoint

    ck = load_checkpoint(path)
    _save_metrics(path, ck, evaluate_checkpoint(ck, test_split=test_split))


def _trained_binarize(path) -> str | None:
    from .checkpoint import CheckpointError, load_checkpoint
    try:
        return load_checkpoint(path).train_config.binarize
    except CheckpointError:
        return None  # reported by the evaluation below


def cmd_evaluate(args) -> int:
    from .checkpoint import CheckpointError, load_checkpoint
    from .data import DataUnavailableError
    from .evaluation import evaluate_checkpoint

    if args.record and (args.limit or (args.binarize and args.binarize != _trained_binarize(args.checkpoint))):
        print("error: --record stores whole-test-set figures at the model's own binarisation: drop --limit and "
              "--binarize", file=sys.stderr)
        return 2
    try:
        ck = load_checkpoint(args.checkpoint)
        t0 = time.perf_counter()
        out = evaluate_checkpoint(ck, iw_samples=args.iw_samples, binarize=args.binarize, data_dir=args.data_dir,
                                  limit=args.limit, beta=args.beta)
        out["seconds"] = round(time.perf_counter() - t0, 2)
    except (CheckpointError, DataUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # --beta on an ordinary model, or outside a conditioned model's range
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.record:
        _save_metrics(args.checkpoint, ck, out)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.checkpoint}: {ck.dataset} test ({out['n_test']} images, binarize={out['binarize']})")
        print(f"  -ELBO {out['neg_elbo']:.2f} nats = recon {out['recon']:.2f} + KL {out['kl']:.2f}")
        if "nll_iw" in out:
            print(f"  IW NLL (k={args.iw_samples}) {out['nll_iw']:.2f} nats")
        print(f"  active units {out['active_units']} of {out['latent_dim']}  (beta = {out['beta']})")
    return 0


def cmd_models(args) -> int:
    from .bundled import all_available
    from .checkpoint import CheckpointError, load_checkpoint

    rows = []
    for m in all_available():
        try:
            ck = load_checkpoint(m.path)
        except CheckpointError as exc:
            rows.append({"name": m.name, "path": str(m.path), "error": str(exc)})
            continue
        rows.append({"name": m.name, "key": m.key, "path": str(m.path), "arch": ck.model_config.arch,
                     "hidden": list(ck.model_config.hidden), "latent_dim": ck.model_config.latent_dim,
                     "beta": None if ck.model_config.beta_range else ck.train_config.beta,
                     "beta_range": list(ck.model_config.beta_range) if ck.model_config.beta_range else None,
                     "binarize": ck.train_config.binarize, "epochs": ck.epoch,
                     "metrics": {k: v for k, v in ck.metrics.items() if k != "kl_per_dim"}})
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            m = r.get("metrics", {})
            nll = f"IW NLL {m['nll_iw']:.2f}" if "nll_iw" in m else ""
            rng = r.get("beta_range")
            beta = f"{rng[0]:g}..{rng[1]:g}" if rng else r.get("beta", "?")
            print(f"{r['name']:<28} {r.get('arch', '?'):>4} d={r.get('latent_dim', '?'):<3} beta={beta:<5}"
                  f" -ELBO {m.get('neg_elbo', float('nan')):7.2f} {nll}  {r['path']}")
    return 0


def cmd_export_numpy(args) -> int:
    """The checkpoint's NumPy form (vae.numpy_model), named by the model store's rule, where the app looks for it."""
    from .checkpoint import CheckpointError, load_checkpoint
    from .numpy_model import save_numpy_model
    from .store import ModelStore

    try:
        ck = load_checkpoint(args.checkpoint)
    except (CheckpointError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    store = ModelStore()
    path = save_numpy_model(store.path("numpy_model", ck.sha256, folder=args.out_dir), store.make_numpy_model(ck))
    print(path)
    return 0


def cmd_export_dial(args) -> int:
    """A beta-conditioned checkpoint's beta-dial data (vae.beta_dial), named by the model store's rule."""
    from .beta_dial import dial_data_for, save_dial_data
    from .checkpoint import CheckpointError, load_checkpoint
    from .data import load_split
    from .store import ModelStore

    try:
        ck = load_checkpoint(args.checkpoint)
        data = dial_data_for(ck, load_split(ck.dataset, train=False))
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(save_dial_data(ModelStore().path("dial", ck.sha256, folder=args.out_dir), data))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae", description="Train, evaluate and list VAEs on MNIST.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a VAE and write a checkpoint after every epoch")
    t.add_argument("--preset", choices=sorted(PRESETS), help="start from a named recipe; other flags override it")
    _add_config_flags(t)
    t.add_argument("--data-dir", help="folder holding MNIST/raw etc. (default: $VAE_DATA_DIR or ./data)")
    t.add_argument("--out", help="checkpoint path, rewritten atomically after every epoch")
    t.add_argument("--resume", help="continue from this checkpoint, with its own model and recipe (training flags, "
                                    "e.g. --epochs, still apply; a model flag must agree with it)")
    t.add_argument("--name", help="friendly name stored in the checkpoint")
    t.add_argument("--half", action="store_true", help="store the final weights as float16 (for bundling)")
    t.add_argument("--train-split", choices=["train", "test"], default="train",
                   help="'test': train on the test split, a demo for when the training split is not available")
    t.add_argument("--run-dir", help="folder for the app's live progress: progress.json, per-epoch latent "
                                     "snapshots of a fixed test subset, and a 'stop' file that ends training")
    t.add_argument("--snapshot-size", type=int, default=SNAPSHOT_SIZE, help="test digits in each latent snapshot")
    t.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="test -ELBO, reconstruction, KL, active units, IW NLL")
    e.add_argument("checkpoint")
    e.add_argument("--iw-samples", type=int, default=0, help="k for the importance-weighted NLL (e.g. 1000)")
    e.add_argument("--binarize", choices=["none", "dynamic"], help="default: as the model was trained")
    e.add_argument("--data-dir")
    e.add_argument("--limit", type=int, default=0, help="evaluate the first N test images only")
    e.add_argument("--beta", type=float, help="a beta-conditioned model: evaluate at this beta (default 1)")
    e.add_argument("--record", action="store_true", help="store the results in the checkpoint's metrics")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate)
    m = sub.add_parser("models", help="list the bundled models and their recorded test metrics")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)
    x = sub.add_parser("export-numpy", help="write a checkpoint's NumPy form (decoder + test posteriors) that the "
                                            "app's Explore page draws from without importing torch")
    x.add_argument("checkpoint")
    x.add_argument("--out-dir", help="default: the app's cache folder ($VAE_CACHE_DIR, else cache/)/numpy_models; "
                                     "the app looks in assets/numpy_models first")
    x.set_defaults(func=cmd_export_numpy)
    d = sub.add_parser("export-dial", help="encode the test set at 64 betas for the KL lab's beta dial (a "
                                           "beta-conditioned model only)")
    d.add_argument("checkpoint")
    d.add_argument("--out-dir", help="default: the app's cache folder ($VAE_CACHE_DIR, else cache/)/beta_dial; the "
                                     "app looks in assets/beta_dial first")
    d.set_defaults(func=cmd_export_dial)
    args = parser.parse_args(argv)
    return args.func(args)
