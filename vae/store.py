"""The model store: every form derived from a checkpoint, made once, named by one rule, kept in one folder.

A checkpoint is known by the SHA-256 of its file's bytes, never by its path: a file retrained at the same path is
another model, a copy elsewhere is the same one. What the store derives from it, by kind:

    numpy_model  the NumPy form (vae.numpy_model): the decoder and the test set's mu and sigma (Explore, no torch)
    encodings    "grey": mu and sigma of the test digits as the maps show them (Explore, Reconstruct);
                 "evaluated": mu and log sigma^2 of the test digits as `vae evaluate` feeds them (the KL lab)
    tsne         the t-SNE view of the test set's means (Explore, above 2-D; about a minute to make)
    dial         what the beta dial shows of a beta-conditioned model (vae.beta_dial; a minute to make)
    manifold     a picture of the decoder (PNG): the grid of decoded digits a page shows first, stored so that a
                 fresh server's first page reads it instead of decoding and encoding it (~0.1-0.25 s of its cold
                 start); the page passes the maker, the qualifiers say which grid
    pad_file, dial_file   the browser's files (the latent pad's and the beta dial's): only their names come from
                 here; ui/components writes them under static/, the folder Streamlit serves

One naming rule, relpath(): <folder of the kind>/<first 16 hex digits of the hash>[-<qualifier>...]<extension>.
A store looks for a file in the shipped folder (assets/, what the repository bundles) first, then in its cache
folder: $VAE_CACHE_DIR, else the repository's cache/, resolved to an absolute path when the store is made, so it
never depends on the working directory. A missing, unreadable or stale file (every file records the full hash it
was made from) is made again from the checkpoint and saved; a read-only disk only costs time.

Each version of a checkpoint file is hashed once per process (file_sha256), and load_checkpoint reuses that hash.
No Streamlit here (ui/cache.py keeps the store's answers in Streamlit's caches) and no work at import: torch is
imported only when something has to be computed from a checkpoint, and no folder is made until a file is written.
"""
from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable

import numpy as np

from .atomic import write_atomic
from .beta_dial import DialData, load_dial_data, save_dial_data
from .data import ASSETS
from .numpy_model import NumpyModel, load_numpy_model, save_numpy_model

if TYPE_CHECKING:
    from .checkpoint import Checkpoint
    from .data import Split

ENV_VAR = "VAE_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / "cache"  # the repository's cache/ (git-ignored)
KINDS = {  # kind -> (folder, extension). The shipped files (assets/numpy_models, assets/beta_dial) follow it too.
    "numpy_model": ("numpy_models", ".npz"),
    "encodings": ("encodings", ".npz"),
    "tsne": ("tsne", ".npz"),
    "dial": ("beta_dial", ".npz"),
    "manifold": ("manifolds", ".png"),
    "pad_file": ("latent_pad", ".bin"),
    "dial_file": ("beta_dial", ".bin"),
}
TSNE_MAX_POINTS = 10000  # t-SNE of the first N test digits (all of MNIST's); fixed, so the hash names the view
TSNE_SEED = 0
_ARRAY_ERRORS = (OSError, KeyError, TypeError, ValueError, EOFError, zipfile.BadZipFile)


def relpath(kind: str, sha256: str, *qualifiers: str) -> PurePosixPath:
    """THE naming rule of every derived file: <folder>/<sha256[:16]>[-<qualifier>...]<extension> (KINDS).

    16 hex digits keep names short; every file also records the full hash, checked when it is read."""
    folder, ext = KINDS[kind]
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    for q in qualifiers:
        if not q or not q.replace("_", "").isalnum():
            raise ValueError(f"a qualifier is letters, digits and _: {q!r}")
    return PurePosixPath(folder, "-".join([sha256[:16], *qualifiers]) + ext)


def resolve_cache_dir(folder: str | os.PathLike | None = None) -> Path:
    """The cache folder, absolute: `folder` if given, else $VAE_CACHE_DIR, else the repository's cache/."""
    chosen = folder if folder is not None else os.environ.get(ENV_VAR) or DEFAULT_CACHE_DIR
    return Path(chosen).expanduser().resolve()


# ---- hashing and loading checkpoint files -----------------------------------------------------------------------

# The content hash of each file version seen by this process, keyed by what changes whenever the file does (an
# atomic rewrite makes a new inode; an edit in place changes size or mtime). Bounded: retrains add versions.
_hashes: dict[tuple, str] = {}
_hashes_lock = threading.Lock()
_MAX_HASHES = 512


def hash_bytes(data: bytes) -> str:
    """SHA-256 of a checkpoint's bytes: where this module hashes (tests count the calls)."""
    return hashlib.sha256(data).hexdigest()


def _identity(path: str | os.PathLike) -> tuple:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _remember(identity: tuple, sha256: str) -> None:
    with _hashes_lock:
        _hashes[identity] = sha256
        while len(_hashes) > _MAX_HASHES:
            del _hashes[next(iter(_hashes))]


def _read_hashed(path: str | os.PathLike) -> tuple[bytes, str]:
    """The file's bytes and their hash, hashing only a file version not seen before."""
    before = _identity(path)
    data = Path(path).read_bytes()
    same = _identity(path) == before  # not replaced while read: the remembered hash is this content's
    with _hashes_lock:
        sha256 = _hashes.get(before) if same else None
    if sha256 is None:
        sha256 = hash_bytes(data)
        if same:
            _remember(before, sha256)
    return data, sha256


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a checkpoint file, read and hashed once per file version (later calls cost one stat).
    Needs no torch: the Explore page finds a model's NumPy form by it. Raises OSError for a missing file."""
    identity = _identity(path)
    with _hashes_lock:
        known = _hashes.get(identity)
    return known if known is not None else _read_hashed(path)[1]


def load_checkpoint(path: str | os.PathLike) -> "Checkpoint":
    """vae.load_checkpoint for a file, reading it once and hashing it at most once (not at all when file_sha256
    has seen this version). Raises vae.CheckpointError, as vae.load_checkpoint does."""
    from .checkpoint import load_checkpoint as load

    try:
        data, sha256 = _read_hashed(path)
    except OSError:
        return load(path)  # it words what is wrong with the file
    return load(data, sha256=sha256)


# ---- the store ----------------------------------------------------------------------------------------------------

class ModelStore:
    """The derived forms of checkpoints, found in `shipped_dir` or `cache_dir`, else made and saved to `cache_dir`.

    A `source` is a checkpoint file's path, a loaded vae.Checkpoint or (where only the test set's posteriors are
    needed) a vae.NumpyModel. `load` turns a path into a checkpoint when one must be computed from (default:
    load_checkpoint above; the app passes its shared, cached loader), `test_split` gives a dataset's test split.
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, *, shipped_dir: str | os.PathLike | None = ASSETS,
                 load: Callable[[str], "Checkpoint"] | None = None,
                 test_split: Callable[[str], "Split"] | None = None):
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.shipped_dir = None if shipped_dir is None else Path(shipped_dir).resolve()
        self._load = load or load_checkpoint
        self._test_split = test_split or self._load_test_split
        self._splits: dict[str, "Split"] = {}

    def __repr__(self) -> str:
        return f"ModelStore({str(self.cache_dir)!r}, shipped_dir={self.shipped_dir and str(self.shipped_dir)!r})"

    # -- names and places

    def path(self, kind: str, sha256: str, *qualifiers: str, folder: str | os.PathLike | None = None) -> Path:
        """Where the store writes a derived file: in its cache folder by the naming rule (relpath), or, with
        `folder` (the CLI's --out-dir), that file name directly in `folder`."""
        rel = relpath(kind, sha256, *qualifiers)
        return Path(folder) / rel.name if folder is not None else self.cache_dir / rel

    def candidates(self, kind: str, sha256: str, *qualifiers: str) -> list[Path]:
        """Where a derived file is looked for, in order: the shipped folder, then the cache folder."""
        rel = relpath(kind, sha256, *qualifiers)
        roots = [self.shipped_dir] if self.shipped_dir is not None else []
        return [root / rel for root in [*roots, self.cache_dir]]

    def sha256(self, source) -> str:
        """The content hash of a source (hashing a file once per version)."""
        sha256 = getattr(source, "sha256", None)
        return sha256 if isinstance(sha256, str) else file_sha256(source)

    def checkpoint(self, source) -> "Checkpoint":
        if hasattr(source, "model"):
            return source
        if isinstance(source, NumpyModel):
            raise TypeError("this needs the checkpoint itself, not its NumPy form")
        return self._load(str(source))

    def test_split(self, dataset: str) -> "Split":
        return self._test_split(dataset)

    def _load_test_split(self, dataset: str) -> "Split":
        if dataset not in self._splits:
            from .data import load_split
            self._splits[dataset] = load_split(dataset, train=False)
        return self._splits[dataset]

    def _find(self, kind: str, sha256: str, *qualifiers: str, read: Callable[[Path], object]):
        """The first readable file of this kind (read(path) raising ValueError means unreadable or stale)."""
        for path in self.candidates(kind, sha256, *qualifiers):
            if path.is_file():
                try:
                    return read(path)
                except ValueError:
                    pass  # unreadable or stale: the next one, else made again by the caller
        return None

    @staticmethod
    def _keep(path: Path, write: Callable[[Path], object]) -> None:
        try:
            write(path)
        except OSError:
            pass  # a read-only or full disk only costs time: it is made again next time

    # -- the derived forms

    def numpy_model(self, source) -> NumpyModel:
        """The NumPy form of a checkpoint (vae.numpy_model): found by the file's hash without importing torch, else
        made from the checkpoint (torch; encodes the test set unless its grey encodings are stored) and saved."""
        sha256 = self.sha256(source)
        found = self._find("numpy_model", sha256, read=lambda p: load_numpy_model(p, sha256=sha256))
        if found is not None:
            return found
        from .numpy_model import make_numpy_model

        ck = self.checkpoint(source)
        made = make_numpy_model(ck, *self.encodings(ck))
        self._keep(self.path("numpy_model", ck.sha256), lambda p: save_numpy_model(p, made))
        return made

    def make_numpy_model(self, source) -> NumpyModel:
        """A fresh NumPy form, encoding the test set again (`python -m vae export-numpy`)."""
        from .latent import posterior
        from .numpy_model import make_numpy_model

        ck = self.checkpoint(source)
        return make_numpy_model(ck, *posterior(ck.model, self.test_split(ck.dataset).floats().numpy()))

    def encodings(self, source) -> tuple[np.ndarray, np.ndarray]:
        """mu and sigma (N, D) of q(z|x) for every grey test digit: what the maps show. A NumPy model holds them,
        so a stored one is used before anything is computed."""
        if isinstance(source, NumpyModel):
            return source.mu, source.sigma
        sha256 = self.sha256(source)
        found = self._find("encodings", sha256, "grey", read=lambda p: _load_arrays(p, sha256, "mu", "sigma"))
        if found is None:
            nm = self._find("numpy_model", sha256, read=lambda p: load_numpy_model(p, sha256=sha256))
            found = (nm.mu, nm.sigma) if nm is not None else None
        if found is not None:
            return found
        from .latent import posterior

        ck = self.checkpoint(source)
        mu, sigma = posterior(ck.model, self.test_split(ck.dataset).floats().numpy())
        self._keep(self.path("encodings", ck.sha256, "grey"), lambda p: _save_arrays(p, ck.sha256, mu=mu, sigma=sigma))
        return mu, sigma

    def evaluated_encodings(self, source) -> tuple[np.ndarray, np.ndarray]:
        """mu and log sigma^2 (N, D), float64, of every test digit as `python -m vae evaluate` feeds them (binarised
        once with its fixed seed for a model trained on binary pixels), so KL per dimension and active units agree
        with it (vae.analysis.encode_test_split)."""
        sha256 = self.sha256(source)
        found = self._find("encodings", sha256, "evaluated",
                           read=lambda p: _load_arrays(p, sha256, "mu", "logvar"))
        if found is not None:
            return found
        from .analysis import encode_test_split

        ck = self.checkpoint(source)
        mu, logvar = encode_test_split(ck.model, self.test_split(ck.dataset), ck.train_config.binarize)
        self._keep(self.path("encodings", ck.sha256, "evaluated"),
                   lambda p: _save_arrays(p, ck.sha256, mu=mu, logvar=logvar))
        return mu, logvar

    def view_2d(self, source, method: str = "pca"):
        """A 2-D view of the test set's means (vae.latent.project_2d): (points (N, 2), fitted PCA or None).
        Identity for a 2-D model; PCA is computed (fast, and the page needs the fitted PCA); t-SNE is stored."""
        from .latent import project_2d

        mu = self.encodings(source)[0]
        if method != "tsne" or mu.shape[1] == 2:
            return project_2d(mu, method)
        sha256 = self.sha256(source)
        n = min(len(mu), TSNE_MAX_POINTS)
        found = self._find("tsne", sha256, read=lambda p: _load_arrays(p, sha256, "points", shape=(n, 2)))
        if found is not None:
            return found[0], None
        points, _ = project_2d(mu, "tsne", max_points=TSNE_MAX_POINTS, seed=TSNE_SEED)
        self._keep(self.path("tsne", sha256), lambda p: _save_arrays(p, sha256, points=points))
        return points, None

    def has_view_2d(self, source, method: str) -> bool:
        """Whether view_2d is quick: anything but the t-SNE view of a model above 2-D that is not stored yet."""
        config = getattr(source, "model_config", None)
        if method != "tsne" or (config is not None and config.latent_dim == 2):
            return True
        return any(p.is_file() for p in self.candidates("tsne", self.sha256(source)))

    def dial_data(self, source) -> DialData:
        """What the KL lab's beta dial shows of a beta-conditioned checkpoint (vae.beta_dial), at its own
        binarisation: the bundled model's ships, others take about a minute on one core, once."""
        sha256 = self.sha256(source)
        found = self._find("dial", sha256, read=lambda p: load_dial_data(p, sha256))
        if found is not None:
            return found
        from .beta_dial import dial_data_for

        ck = self.checkpoint(source)
        data = dial_data_for(ck, self.test_split(ck.dataset))
        self._keep(self.path("dial", ck.sha256), lambda p: save_dial_data(p, data))
        return data

    def picture(self, kind: str, sha256: str, *qualifiers: str, make: Callable[[], np.ndarray]) -> bytes:
        """A PNG derived from the checkpoint with this hash (kind "manifold"): found, else make() (uint8 pixels,
        (H, W) grey or (H, W, 3) RGB) encoded and saved, with the full hash in a text chunk (checked when read)."""
        found = self._find(kind, sha256, *qualifiers, read=lambda p: _read_png(p, sha256))
        if found is not None:
            return found
        data = _png_with_hash(make(), sha256)
        self._keep(self.path(kind, sha256, *qualifiers), lambda p: write_atomic(p, lambda f: f.write(data)))
        return data


# ---- the store's pictures: PNG with the full hash they were made from in a tEXt chunk ---------------------------

PNG_HASH_KEY = "vae-sha256"  # the text chunk's keyword


def _png_with_hash(pixels: np.ndarray, sha256: str) -> bytes:
    """uint8 pixels as a PNG file whose text chunk PNG_HASH_KEY holds the checkpoint's hash (Pillow writes it
    before the image data, so reading it back decodes no pixels)."""
    import io

    from PIL import Image  # here: the store's other forms need no Pillow
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(PNG_HASH_KEY, sha256)
    buf = io.BytesIO()
    # zlib level 1: digits on white compress about as well as at the default 6, and encoding is several times faster
    Image.fromarray(np.asarray(pixels, np.uint8)).save(buf, format="PNG", compress_level=1, pnginfo=info)
    return buf.getvalue()


def _read_png(path: Path, sha256: str) -> bytes:
    """The file's bytes. Raises ValueError when unreadable, not a PNG or made from another checkpoint."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:  # reads the chunks before the pixels only
            made_from = im.info.get(PNG_HASH_KEY)
    except (OSError, SyntaxError, UnidentifiedImageError) as exc:  # SyntaxError: Pillow's "broken PNG file"
        raise ValueError(f"unreadable {path}: {exc}") from None
    if made_from != sha256:
        raise ValueError(f"{path} was not made from this checkpoint")
    return data


# ---- the store's array files: .npz with the full hash they were made from -------------------------------------

def _save_arrays(path: Path, sha256: str, **arrays: np.ndarray) -> Path:
    return write_atomic(path, lambda f: np.savez(f, sha256=np.array(sha256), **arrays))


def _load_arrays(path: Path, sha256: str, *names: str, shape: tuple | None = None) -> tuple[np.ndarray, ...]:
    """The named arrays, finite and of one shape (`shape` if given). Raises ValueError when the file is unreadable,
    made from another checkpoint or malformed; callers make it again then."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["sha256"]) != sha256:
                raise ValueError("it was made from another checkpoint file")
            arrays = tuple(f[name] for name in names)
    except _ARRAY_ERRORS as exc:
        raise ValueError(f"unreadable {path}: {exc}") from None
    want = shape or arrays[0].shape
    if any(a.shape != want or a.ndim != 2 or not np.isfinite(a).all() for a in arrays):
        raise ValueError(f"malformed {path}")
    return arrays
