"""Build the bad-input corpus under tests/data/: images a student might upload, and checkpoints that must be refused.

    python tests/make_corpus.py        # rewrites tests/data/images/* and tests/data/checkpoints/*

The files are committed (the whole corpus stays under 5 MiB); this script documents how each one was made and
regenerates them deterministically. IMAGES and CHECKPOINTS below say, per file, whether the app must load it or
refuse it, and why. The tests import those tables, so a file and its expectation live side by side.

Importing this module does nothing; only main() writes files.
"""
from __future__ import annotations

import io
import pickle
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
IMAGE_DIR = DATA / "images"
CHECKPOINT_DIR = DATA / "checkpoints"

# The hostile payloads run this when unpickled: create the file named by $VAE_SENTINEL (default: a file named
# VAE_HOSTILE_SENTINEL in the current folder). The tests point it at a temporary path and assert it never appears.
SENTINEL_ENV = "VAE_SENTINEL"
SENTINEL_DEFAULT = "VAE_HOSTILE_SENTINEL"
PAYLOAD_CODE = (f"open(__import__('os').environ.get({SENTINEL_ENV!r}, {SENTINEL_DEFAULT!r}), 'w')"
                f".write('pwned: this code ran while unpickling')")


class Shadowed(NamedTuple):
    """A phone photo of an MNIST test digit written large on white paper, the light falling off toward a corner."""
    index: int  # the MNIST test digit (its label is `label`)
    label: int
    size: tuple[int, int]  # width, height
    corner: str  # the dark corner: "top left", "top right", "bottom left" or "bottom right"
    falloff: float  # the paper's brightness in that corner, as a fraction of the best-lit paper
    light: str  # a key of LIGHTS
    digit_px: int  # the digit's 28 x 28 box, enlarged to this many pixels
    at: tuple[int, int]  # its top left corner (x, y)


LIGHTS = {"lamp": "lit by a lamp beyond the opposite corner", "shadow": "under the soft edge of a cast shadow",
          "gradient": "the light falling off evenly"}

# Without evening out the light, the dark corner survives preprocessing as a white wedge cropped in with the ink.
SHADOWED: dict[str, Shadowed] = {
    "phone_shadow_lamp_2.jpg": Shadowed(1, 2, (3000, 4000), "bottom right", 0.55, "lamp", 1500, (700, 1300)),
    "phone_shadow_lamp_4.jpg": Shadowed(4, 4, (4000, 3000), "top left", 0.65, "lamp", 1600, (1300, 600)),
    "phone_shadow_edge_5.jpg": Shadowed(8, 5, (3000, 4000), "bottom left", 0.70, "shadow", 1400, (900, 1540)),
    "phone_shadow_gradient_6.jpg": Shadowed(11, 6, (4000, 3000), "top right", 0.75, "gradient", 1500, (1100, 800)),
}


class PagePhoto(NamedTuple):
    """A phone photo of an MNIST test digit written on the paper a class uses, the page turned a little."""
    index: int  # the MNIST test digit (its label is `label`)
    label: int
    size: tuple[int, int]  # width, height
    paper: str  # a key of PAPERS
    angle: float  # degrees the page is turned (counter-clockwise) in the photo
    digit_px: int  # the digit's 28 x 28 box, enlarged to this many pixels
    at: tuple[int, int]  # the box's centre in the photo (x, y)
    pen: str  # a key of PENS
    falloff: float = 1.0  # the paper's brightness in the dark corner, as a fraction of the best-lit paper
    corner: str = "bottom right"  # the dark corner
    light: str = "gradient"  # a key of LIGHTS


PAPERS = {"plain": "plain white paper", "lined": "lined notebook paper (blue ruled lines every 8 mm, a red "
          "margin line, all running through and past the digit)", "squared": "squared paper (5 mm grid)",
          "note": "a yellow sticky note lying on a darker desk"}
# Reflectance of each colour channel: what fraction of the light a pen's ink sends back.
PENS = {"ballpoint": (0.16, 0.20, 0.48), "pencil": (0.38, 0.38, 0.41), "marker": (0.10, 0.10, 0.12)}

# Photos that came out as a tiny digit among lines (lined, squared), as the sticky note itself (note), or only just
# gave their digit (a tiny digit in a large photo, a deep shadow) before digits.py looked for the page and its lines.
PAGE_PHOTOS: dict[str, PagePhoto] = {
    "lined_3.jpg": PagePhoto(18, 3, (3000, 4000), "lined", 2.5, 1300, (1450, 2100), "ballpoint"),
    "lined_9.jpg": PagePhoto(7, 9, (3000, 4000), "lined", -3.5, 1100, (1700, 1800), "pencil"),
    "lined_5.jpg": PagePhoto(8, 5, (4000, 3000), "lined", 1.5, 1400, (2100, 1500), "marker"),
    "squared_0.jpg": PagePhoto(3, 0, (3000, 4000), "squared", -2.0, 1200, (1500, 2000), "ballpoint"),
    "squared_4.jpg": PagePhoto(4, 4, (4000, 3000), "squared", 3.0, 1300, (1900, 1600), "pencil"),
    "squared_7.jpg": PagePhoto(17, 7, (3000, 4000), "squared", 1.0, 1000, (1400, 2200), "marker"),
    "note_2.jpg": PagePhoto(1, 2, (3000, 4000), "note", 6.0, 1100, (1500, 1900), "marker"),
    "note_6.jpg": PagePhoto(11, 6, (4000, 3000), "note", -8.0, 1000, (2200, 1400), "ballpoint"),
    "note_1.jpg": PagePhoto(2, 1, (3000, 4000), "note", 3.0, 1000, (1300, 2300), "marker"),
    "tiny_9.jpg": PagePhoto(9, 9, (3000, 4000), "plain", 1.0, 260, (1600, 2100), "ballpoint"),
    "tiny_0.jpg": PagePhoto(10, 0, (4000, 3000), "plain", -2.0, 220, (1800, 1300), "marker"),
    "tiny_lined_4.jpg": PagePhoto(6, 4, (3000, 4000), "lined", 2.0, 360, (1500, 1900), "ballpoint"),
    "deep_shadow_3.jpg": PagePhoto(30, 3, (3000, 4000), "plain", 0.0, 1500, (1500, 2100), "ballpoint",
                                   0.35, "bottom right", "lamp"),
    "deep_shadow_5.jpg": PagePhoto(15, 5, (4000, 3000), "plain", 0.0, 1500, (2000, 1500), "pencil",
                                   0.40, "top left", "shadow"),
    "deep_shadow_lined_0.jpg": PagePhoto(13, 0, (3000, 4000), "lined", 1.5, 1300, (1500, 2000), "ballpoint",
                                         0.45, "bottom left", "gradient"),
}

# name -> (expectation, why). "load": vae.load_digit must return a usable digit (it looks like the reference digit).
# "refuse": vae.InputError with a message. "either": one of the two, quickly, never another exception.
IMAGES: dict[str, tuple[str, str]] = {
    # what a student should upload
    "digit_mnist.png": ("load", "28x28 white-on-black, exactly like MNIST"),
    "digit_on_paper.png": ("load", "280x280 RGB, a dark digit on white paper"),
    "digit_gray.jpg": ("load", "grayscale JPEG of a digit on paper"),
    "digit.bmp": ("load", "BMP"),
    "digit.webp": ("load", "WebP"),
    "digit.tiff": ("load", "TIFF"),
    "sixteen_bit.png": ("load", "16-bit grayscale PNG (mode I;16): a naive convert('L') clips it to all white"),
    "cmyk.jpg": ("load", "CMYK JPEG (print workflows, some scanners)"),
    "palette_transparent.png": ("load", "palette PNG whose transparent background index is black: a naive "
                                        "convert('L') turns the background black and hides the digit"),
    "rgba_transparent.png": ("load", "RGBA, a dark digit on a transparent background stored as black"),
    "animated.gif": ("load", "animated GIF, 3 frames of the digit: the first frame is used"),
    "phone_photo.jpg": ("load", "4000x3000 phone photo of a digit on paper with uneven lighting"),
    "phone_photo_table_edge.jpg": ("either", "the same photo with a strip of dark table at the left edge: loading "
                                             "it or refusing it are both acceptable, crashing or hanging is not"),
    "exif_rotated.jpg": ("load", "stored sideways with EXIF Orientation=6, as phones do: must be shown upright"),
    # phone photos whose light falls off toward one corner (SHADOWED above says how each was made): each must give
    # its own digit, not the reference 7
    **{name: ("load", f"{'x'.join(map(str, s.size))} phone photo of a {s.label}, {LIGHTS[s.light]}: the {s.corner} "
                      f"corner at {s.falloff:.0%} of the paper's brightness") for name, s in SHADOWED.items()},
    # photos on the paper a class uses (PAGE_PHOTOS above): each must give its own digit
    **{name: ("load", f"{'x'.join(map(str, p.size))} phone photo of a {p.label} on {PAPERS[p.paper]}, turned "
                      f"{p.angle:g} degrees, the digit {p.digit_px} px"
                      + (f", the {p.corner} corner at {p.falloff:.0%} of the light" if p.falloff < 1 else ""))
       for name, p in PAGE_PHOTOS.items()},
    # what must be refused with a clear message
    "empty.png": ("refuse", "0 bytes"),
    "text_named.png": ("refuse", "plain text with a .png name"),
    "truncated.png": ("refuse", "a PNG cut off half way"),
    "truncated.jpg": ("refuse", "a JPEG cut off half way"),
    "random_bytes.png": ("refuse", "4 KiB of random bytes"),
    "drawing.svg": ("refuse", "SVG (vector XML), not a bitmap"),
    "document.pdf": ("refuse", "a one-page PDF"),
    "archive.zip": ("refuse", "a zip holding a valid PNG"),
    "bomb_huge.png": ("refuse", "decompression bomb, 100000x100000 declared: beyond Pillow's own limit"),
    "bomb_warn.png": ("refuse", "decompression bomb, 12000x12000 (144 Mpx): Pillow only warns between its "
                                "limit and twice it"),
    "bomb_just_under.png": ("refuse", "decompression bomb, 9000x9000 (81 Mpx): just under Pillow's 89.5 Mpx "
                                      "limit, so only our own pixel cap stops it"),
    "all_white.png": ("refuse", "all white: no digit"),
    "all_black.png": ("refuse", "all black: no digit"),
    "one_pixel.png": ("refuse", "1x1 pixel"),
}

# name -> (expectation, why). "refuse": vae.load_checkpoint raises vae.CheckpointError. "load": it loads.
CHECKPOINTS: dict[str, tuple[str, str]] = {
    "valid_tiny.pt": ("load", "a valid, tiny, untrained checkpoint (the upload success path)"),
    "hostile_pickle.pt": ("refuse", "a plain pickle whose __reduce__ runs code (creates the sentinel file)"),
    "hostile_torch.pt": ("refuse", "torch.save zip whose data.pkl runs code when unpickled"),
    "hostile_in_metrics.pt": ("refuse", "a valid checkpoint with the code-running object hidden in 'metrics'"),
    "empty.pt": ("refuse", "0 bytes"),
    "truncated.pt": ("refuse", "a valid checkpoint cut off half way"),
    "random_bytes.pt": ("refuse", "random bytes"),
    "text_named.pt": ("refuse", "plain text with a .pt name"),
    "image_named.pt": ("refuse", "a PNG with a .pt name"),
    "zip_not_torch.pt": ("refuse", "a zip archive that is not a torch file"),
    "foreign_state_dict.pt": ("refuse", "a bare state dict of another network (no configuration)"),
    "foreign_object.pt": ("refuse", "torch.save of a list of tensors"),
    "wrong_version.pt": ("refuse", "format_version 99"),
    "wrong_shapes.pt": ("refuse", "the configuration says latent_dim 2, the weights are for latent_dim 3"),
    "missing_layers.pt": ("refuse", "one layer's weights removed"),
    "nan_weights.pt": ("refuse", "NaN in the decoder's weights (a diverged run)"),
    "bad_config.pt": ("refuse", "arch 'transformer', which this project does not have"),
    "zip_bomb.pt": ("refuse", "a valid-looking 0.3 MB checkpoint whose zip entries are deflated: it unpacks to "
                              "301 MiB of weights (a 784-100000-2 model), over the unpacked-size cap"),
    "bad_epoch.pt": ("refuse", "epoch 'three' instead of a number"),
    "huge_config.pt": ("refuse", "a small file whose configuration declares 1.6e12 weights (6 TB): building that "
                                 "model before checking the weights fails with an allocation error"),
}


# ---- helpers --------------------------------------------------------------------------------------------------

class HostilePayload:
    """Unpickling this object calls eval(PAYLOAD_CODE): exactly what a malicious checkpoint does."""

    def __reduce__(self):
        import builtins
        return builtins.eval, (PAYLOAD_CODE,)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int, complete: bool = True) -> bytes:
    """An 8-bit grayscale PNG of width x height black pixels. Zeros compress ~1000:1, so the file is tiny while
    decoding it needs width*height bytes (times 3 for RGB). complete=False writes only the first rows' data:
    enough for the header to be read, which is where a size check must stop it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, grayscale, deflate, no filter, no interlace
    row = b"\x00" * (width + 1)  # filter byte + pixels
    comp = zlib.compressobj(9)
    rows = height if complete else min(height, 64)
    body = b"".join(comp.compress(row) for _ in range(rows)) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def _digit_array(index: int = 0):
    """A real handwritten digit from the bundled MNIST test split (index 0 is a 7), as a (28, 28) uint8 array, white
    on black."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    import vae
    return np.asarray(vae.load_split("mnist", train=False).images[index], dtype=np.uint8)


def _on_paper(size: int):
    """The digit, dark ink on white paper, size x size pixels, smoothly upscaled (a 'photo' of a drawn digit)."""
    from PIL import Image, ImageOps
    digit = Image.fromarray(_digit_array()).resize((size, size), Image.Resampling.BICUBIC)
    return ImageOps.invert(digit)


def _encode(img, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _phone_photo(table_edge: bool = False):
    """4000x3000: off-white paper lit from one side, the digit written large in the middle (optionally a strip of
    dark table showing at the left edge)."""
    import numpy as np
    from PIL import Image
    h, w = 3000, 4000
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = 235 - 35 * (xx / w) - 15 * (yy / h)  # uneven light: brighter at the top left
    if table_edge:
        paper[:, :250] = 90
    ink = np.asarray(Image.fromarray(_digit_array()).resize((2000, 2000), Image.Resampling.BICUBIC),
                     np.float32) / 255
    top, left = 500, 1000
    region = paper[top:top + 2000, left:left + 2000]
    paper[top:top + 2000, left:left + 2000] = region * (1 - 0.85 * ink)
    gray = np.clip(paper, 0, 255).astype(np.uint8)
    rgb = np.stack([gray, (gray * 0.98).astype(np.uint8), (gray * 0.93).astype(np.uint8)], -1)  # warm light
    return Image.fromarray(rgb)


def _light(size: tuple[int, int], corner: str, falloff: float, kind: str):
    """(H, W) light falling on the paper, 1 at the best-lit corner and `falloff` at the dark `corner`."""
    import numpy as np
    w, h = size
    vertical, horizontal = corner.split()
    # 0 at the best-lit corner, 1 at the dark one, along each axis
    u = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    v = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    u, v = (u if horizontal == "right" else 1 - u), (v if vertical == "bottom" else 1 - v)
    if kind == "lamp":
        # A bare bulb at height z above a point beyond the lit corner: the paper gets cos(angle) / distance^2,
        # i.e. z / (z^2 + d^2)^1.5. The lower the lamp, the faster the fall-off: z is bisected so that the dark
        # corner gets `falloff` of the lit corner's light.
        def bulb(z, d2):
            return z / (z * z + d2) ** 1.5

        lit, dark = 2 * 0.3 ** 2, 2 * 1.3 ** 2  # squared distances of the two corners from the point below the lamp
        lo, hi = 0.01, 100.0
        for _ in range(60):
            z = (lo * hi) ** 0.5
            lo, hi = (z, hi) if bulb(z, dark) / bulb(z, lit) < falloff else (lo, z)
        return bulb(z, (u + 0.3) ** 2 + (v + 0.3) ** 2) / bulb(z, lit)
    if kind == "shadow":
        t = np.clip(((u + v) / 2 - 0.35) / 0.65, 0, 1)  # a soft edge from 35 % of the diagonal to the corner
        return 1 - (1 - falloff) * t * t * (3 - 2 * t)
    return 1 - (1 - falloff) * (u + v) / 2


def _shadowed_photo(spec: Shadowed):
    """A photo made as SHADOWED describes: light paper, the digit's ink absorbing 85 % of the light falling on it
    (so the ink in the shadow is darker too), warm light, a little sensor grain."""
    import numpy as np
    from PIL import Image
    light = _light(spec.size, spec.corner, spec.falloff, spec.light)
    ink = np.asarray(Image.fromarray(_digit_array(spec.index)).resize((spec.digit_px, spec.digit_px),
                                                                         Image.Resampling.BICUBIC), np.float32) / 255
    x, y = spec.at
    paper = 235 * light
    paper[y:y + spec.digit_px, x:x + spec.digit_px] *= 1 - 0.85 * ink
    paper += np.random.default_rng(spec.index).normal(0, 1.0, paper.shape).astype(np.float32)
    gray = np.clip(paper + 0.5, 0, 255).astype(np.uint8)
    rgb = np.stack([gray, (gray * 0.98).astype(np.uint8), (gray * 0.93).astype(np.uint8)], -1)  # warm light
    return Image.fromarray(rgb)


def _page(size: tuple[int, int], paper: str, seed: int):
    """(H, W, 3) reflectance of an unturned page: white paper, and its printed lines (antialiased)."""
    import numpy as np
    w, h = size
    refl = np.empty((h, w, 3), np.float32)
    refl[:] = (0.96, 0.95, 0.91) if paper != "note" else (0.99, 0.93, 0.45)  # a sticky note is yellow

    def lines(n: int, spacing: float, width: float, offset: float):
        """Coverage (n,) in [0, 1] of lines `width` px wide every `spacing` px, along one axis."""
        d = np.abs((np.arange(n) + 0.5 - offset) % spacing - spacing / 2)  # distance to the middle between lines
        return np.clip(d - (spacing / 2 - width / 2) + 0.5, 0, 1).astype(np.float32)

    rng = np.random.default_rng(seed)
    scale = max(w, h) / 4000  # px per 1/40 mm: the photo shows about 100 mm of page on its longer side
    if paper == "lined":
        rows = lines(h, 320 * scale, 10 * scale, rng.uniform(0, 320 * scale))[:, None, None]
        refl *= 1 - rows * (1 - np.array((0.55, 0.70, 0.88), np.float32))  # blue ruled lines
        margin = np.zeros(w, np.float32)
        x0 = int(w * rng.uniform(0.12, 0.2))
        margin[x0:x0 + int(14 * scale)] = 1
        refl *= 1 - margin[None, :, None] * (1 - np.array((0.92, 0.42, 0.48), np.float32))  # red margin line
    elif paper == "squared":
        grid = np.maximum(lines(h, 200 * scale, 7 * scale, rng.uniform(0, 200))[:, None],
                          lines(w, 200 * scale, 7 * scale, rng.uniform(0, 200))[None, :])[..., None]
        refl *= 1 - grid * (1 - np.array((0.62, 0.72, 0.84), np.float32))  # a light blue-grey grid
    return refl


def _write(refl, spec: PagePhoto, centre: tuple[int, int]) -> None:
    """The digit written with spec.pen on `refl` (H, W, 3), its box centred at `centre` (x, y): in place."""
    import numpy as np
    from PIL import Image
    n = spec.digit_px
    ink = np.asarray(Image.fromarray(_digit_array(spec.index)).resize((n, n), Image.Resampling.BICUBIC),
                     np.float32)[..., None] / 255
    x, y = centre[0] - n // 2, centre[1] - n // 2
    refl[y:y + n, x:x + n] *= 1 - 0.95 * ink * (1 - np.array(PENS[spec.pen], np.float32))


def _turned(refl, angle: float, fill):
    """`refl` (H, W, 3) floats turned `angle` degrees counter-clockwise about its centre, same size."""
    import numpy as np
    from PIL import Image
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(refl[..., c]), "F").rotate(
        angle, Image.Resampling.BILINEAR, fillcolor=float(fill[c]))) for c in range(3)], -1)


def _page_photo(spec: PagePhoto):
    """A photo made as PAGE_PHOTOS describes: the page (or note) turned by spec.angle, warm light falling off as
    spec says, a little sensor grain; JPEG-ready RGB."""
    import numpy as np
    from PIL import Image
    w, h = spec.size
    rng = np.random.default_rng(spec.index)
    if spec.paper == "note":
        # A 76 mm note (about 1500 px here) on a darker wooden desk; the note fills part of the frame.
        edge = int(0.55 * min(w, h))  # the note's side
        side = int(edge * 1.25)  # turned in a larger square, so that its corners stay whole
        inner = slice((side - edge) // 2, (side - edge) // 2 + edge)
        note, alpha = np.zeros((side, side, 3), np.float32), np.zeros((side, side, 3), np.float32)
        note[inner, inner], alpha[inner, inner] = _page((edge, edge), "note", spec.index), 1
        _write(note, spec, (side // 2, side // 2))
        alpha = _turned(alpha, spec.angle, (0, 0, 0))[..., :1]
        note = _turned(note, spec.angle, (0, 0, 0))
        grain = np.cumsum(rng.normal(0, 0.02, w), dtype=np.float32)[None, :]  # wood grain along the rows
        desk = np.empty((h, w, 3), np.float32)
        desk[:] = np.array((0.45, 0.30, 0.19), np.float32) * (1 + 0.15 * np.sin(grain * 6)[..., None])
        refl = desk
        x, y = spec.at[0] - side // 2, spec.at[1] - side // 2
        refl[y:y + side, x:x + side] = alpha * note + (1 - alpha) * refl[y:y + side, x:x + side]
    else:
        pad = int(max(w, h) * 0.1)  # the page goes on beyond the frame: turn a larger page, keep the middle
        refl = _page((w + 2 * pad, h + 2 * pad), spec.paper, spec.index)
        _write(refl, spec, (spec.at[0] + pad, spec.at[1] + pad))
        refl = _turned(refl, spec.angle, refl[0, 0])[pad:pad + h, pad:pad + w]
    light = _light(spec.size, spec.corner, spec.falloff, spec.light)[..., None]
    rgb = 240 * light * refl * np.array((1.0, 0.98, 0.93), np.float32)  # warm light
    # No sensor grain beyond the JPEG's own artefacts: at 12 megapixels, grain would triple each file's size.
    return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))


def image_bytes() -> dict[str, bytes]:
    import numpy as np
    from PIL import Image, ImageOps

    rng = np.random.default_rng(5)
    paper = _on_paper(280)
    out: dict[str, bytes] = {}
    out["digit_mnist.png"] = _encode(Image.fromarray(_digit_array()), "PNG")
    out["digit_on_paper.png"] = _encode(paper.convert("RGB"), "PNG")
    out["digit_gray.jpg"] = _encode(paper, "JPEG", quality=90)
    out["digit.bmp"] = _encode(_on_paper(64).convert("RGB"), "BMP")
    out["digit.webp"] = _encode(paper, "WEBP", quality=80)
    out["digit.tiff"] = _encode(_on_paper(64), "TIFF")

    sixteen = (np.asarray(paper, np.uint16) * 257).astype(np.uint16)  # 0..65535
    out["sixteen_bit.png"] = _encode(Image.fromarray(sixteen), "PNG")
    out["cmyk.jpg"] = _encode(paper.convert("RGB").convert("CMYK"), "JPEG", quality=90)

    ink = np.asarray(ImageOps.invert(paper)) > 100  # True where the digit is
    pal = Image.frombytes("P", (280, 280), ink.astype(np.uint8).tobytes())  # index 0 = background, 1 = ink
    pal.putpalette([0, 0, 0, 20, 20, 90] + [0, 0, 0] * 254)  # background colour black, ink dark blue
    out["palette_transparent.png"] = _encode(pal, "PNG", transparency=0)
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[ink] = (10, 10, 10, 255)  # opaque dark ink; elsewhere black with alpha 0
    out["rgba_transparent.png"] = _encode(Image.fromarray(rgba), "PNG")

    frames = [ImageOps.invert(Image.fromarray(np.roll(_digit_array(), s, axis=1)).resize((140, 140)))
              for s in (0, 1, 2)]
    out["animated.gif"] = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)

    out["phone_photo.jpg"] = _encode(_phone_photo(), "JPEG", quality=80)
    out["phone_photo_table_edge.jpg"] = _encode(_phone_photo(table_edge=True), "JPEG", quality=80)
    for name, spec in SHADOWED.items():
        out[name] = _encode(_shadowed_photo(spec), "JPEG", quality=70)
    for name, page in PAGE_PHOTOS.items():
        out[name] = _encode(_page_photo(page), "JPEG", quality=65, optimize=True)

    upright = Image.new("RGB", (300, 420), "white")  # portrait paper, as held for the photo
    upright.paste(_on_paper(300).convert("RGB"), (0, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote (upright turned 90 degrees left)
    out["exif_rotated.jpg"] = _encode(stored, "JPEG", quality=90, exif=exif.tobytes())

    out["empty.png"] = b""
    out["text_named.png"] = b"This is a shopping list, not an image.\nmilk\neggs\n"
    out["truncated.png"] = out["digit_on_paper.png"][: len(out["digit_on_paper.png"]) // 2]
    out["truncated.jpg"] = out["digit_gray.jpg"][: len(out["digit_gray.jpg"]) // 2]
    out["random_bytes.png"] = rng.bytes(4096)
    out["drawing.svg"] = (b'<svg xmlns="http://www.w3.org/2000/svg" width="280" height="280">'
                          b'<rect width="280" height="280" fill="white"/>'
                          b'<path d="M60 60 H220 L110 240" stroke="black" stroke-width="24" fill="none"/></svg>\n')
    out["document.pdf"] = _minimal_pdf()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr(zipfile.ZipInfo("digit.png", (2020, 1, 1, 0, 0, 0)), out["digit_on_paper.png"])
    out["archive.zip"] = zbuf.getvalue()

    out["bomb_huge.png"] = png_bomb(100_000, 100_000, complete=False)
    out["bomb_warn.png"] = png_bomb(12_000, 12_000)
    out["bomb_just_under.png"] = png_bomb(9_000, 9_000)
    out["all_white.png"] = _encode(Image.new("L", (280, 280), 255), "PNG")
    out["all_black.png"] = _encode(Image.new("L", (280, 280), 0), "PNG")
    out["one_pixel.png"] = _encode(Image.new("L", (1, 1), 0), "PNG")
    return out


def _minimal_pdf() -> bytes:
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def checkpoint_bytes() -> dict[str, bytes]:
    """Valid-looking checkpoints are written by vae.save_checkpoint on a tiny model, then their payload is edited
    and re-saved with torch.save, so each differs from a good file in exactly one way."""
    import tempfile

    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    import vae

    torch.manual_seed(0)
    model = vae.VAE(vae.ModelConfig(latent_dim=2, hidden=(8,)))
    with tempfile.TemporaryDirectory() as tmp:
        path = vae.save_checkpoint(Path(tmp) / "tiny.pt", model, vae.TrainConfig(epochs=1), name="tiny test model")
        valid = path.read_bytes()

    def payload() -> dict:
        return torch.load(io.BytesIO(valid), weights_only=True)

    def saved(obj) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    out: dict[str, bytes] = {"valid_tiny.pt": valid}
    out["hostile_pickle.pt"] = pickle.dumps(HostilePayload(), protocol=2)
    out["hostile_torch.pt"] = saved(HostilePayload())
    p = payload()
    p["metrics"] = {"test_neg_elbo": HostilePayload()}
    out["hostile_in_metrics.pt"] = saved(p)
    out["empty.pt"] = b""
    out["truncated.pt"] = valid[: len(valid) // 2]
    out["random_bytes.pt"] = np.random.default_rng(7).bytes(4096)
    out["text_named.pt"] = b"epochs: 30\nbeta: 1.0\n(these are notes, not weights)\n"
    out["image_named.pt"] = _encode_png_digit()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr(zipfile.ZipInfo("notes.txt", (2020, 1, 1, 0, 0, 0)), "hello")
    out["zip_not_torch.pt"] = zbuf.getvalue()
    out["foreign_state_dict.pt"] = saved(torch.nn.Sequential(torch.nn.Linear(10, 4), torch.nn.ReLU(),
                                                             torch.nn.Linear(4, 2)).state_dict())
    out["foreign_object.pt"] = saved([torch.zeros(3), torch.ones(2)])
    p = payload()
    p["format_version"] = 99
    out["wrong_version.pt"] = saved(p)
    p = payload()
    other = vae.VAE(vae.ModelConfig(latent_dim=3, hidden=(8,))).state_dict()
    p["state_dict"] = {k: v.clone() for k, v in other.items()}
    out["wrong_shapes.pt"] = saved(p)
    p = payload()
    p["state_dict"].pop(sorted(p["state_dict"])[0])
    out["missing_layers.pt"] = saved(p)
    p = payload()
    key = next(k for k in sorted(p["state_dict"]) if k.startswith("decoder") and k.endswith("weight"))
    p["state_dict"][key][0, 0] = float("nan")
    out["nan_weights.pt"] = saved(p)
    p = payload()
    p["model_config"]["arch"] = "transformer"
    out["bad_config.pt"] = saved(p)
    p = payload()
    p["model_config"]["hidden"] = [10**9]
    p["state_dict"] = {"encoder.0.weight": torch.zeros(1)}
    out["huge_config.pt"] = saved(p)
    p = payload()
    p["epoch"] = "three"
    out["bad_epoch.pt"] = saved(p)
    out["zip_bomb.pt"] = _zip_bomb_checkpoint()
    return out


def _zip_bomb_checkpoint() -> bytes:
    """A real checkpoint of a 784-100000-2 model (zero weights, float16: 301 MiB) whose zip entries are re-packed
    with deflate, which torch.load accepts: zeros shrink ~1000-fold."""
    import tempfile

    import torch

    import vae
    model = vae.VAE(vae.ModelConfig(latent_dim=2, hidden=(100_000,)))
    with torch.no_grad():
        for v in model.parameters():
            v.zero_()
    with tempfile.TemporaryDirectory() as tmp:
        plain = vae.save_checkpoint(Path(tmp) / "big.pt", model, vae.TrainConfig(epochs=1), half=True).read_bytes()
    del model
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, (2020, 1, 1, 0, 0, 0)), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _encode_png_digit() -> bytes:
    from PIL import Image
    return _encode(Image.fromarray(_digit_array()), "PNG")


def main() -> None:
    for folder, files, table in ((IMAGE_DIR, image_bytes(), IMAGES), (CHECKPOINT_DIR, checkpoint_bytes(), CHECKPOINTS)):
        assert set(files) == set(table), set(files) ^ set(table)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if old.name not in files:
                old.unlink()
        for name, data in sorted(files.items()):
            (folder / name).write_bytes(data)
            print(f"{len(data):>9,d}  {folder.relative_to(ROOT) / name}")
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"{total:>9,d}  total ({len(IMAGES) + len(CHECKPOINTS)} files)")


if __name__ == "__main__":
    main()
