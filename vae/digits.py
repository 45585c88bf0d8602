"""User images -> MNIST-style digits: (28, 28) float32 in [0, 1], white ink on black, like the training data.

MNIST's own recipe (LeCun et al.): the ink was scaled to fit a 20x20 box keeping its aspect ratio (anti-aliased,
so grey levels appear), then placed in a 28x28 field so that its centre of mass sits at the centre. A photo or a
drawing only looks like the data the model knows after the same steps, so we repeat them:

    decode (first frame, EXIF rotation, transparency on white) -> grayscale -> even out the light on paper
    -> invert if the background is light -> background to 0, ink to 1 -> crop to the ink -> longer side 20 px
    -> centre of mass at the centre of 28x28

`preprocess` also returns every intermediate picture (`Step`), so the app can show a class what happens.
Anything that is not a usable digit raises `InputError` with a message meant for the person who uploaded it.
"""
from __future__ import annotations

import io
import warnings
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

MAX_PIXELS = 40_000_000  # refuse images larger than 40 megapixels BEFORE decoding them (a phone photo is ~12 MP)
MAX_FILE_BYTES = 50 * 2**20  # nobody's digit needs more than 50 MB of file
WORK_SIZE = 512  # big images are shrunk to this longer side first: the digit ends up 20 px anyway, and it is fast
ZOOM_BELOW = 64  # a digit under 64 px (of WORK_SIZE) is read again from the photo at full resolution
DIGIT_BOX = 20  # MNIST: the ink fits a 20x20 box ...
FIELD = 28  # ... centred by mass in a 28x28 field
MIN_CONTRAST = 0.08  # ink must differ from the background by at least 8 % of full scale (~20 grey levels)
NOISE_FLOOR = 0.15  # after stretching, anything fainter than 15 % of the ink is paper texture or JPEG noise
LIGHT_GRID = 48  # the light on the paper is estimated on a copy this small: it varies slowly, and it is fast
SHEET_STEP = 0.25  # a sheet lying on a desk: its edge is a step of at least 25 % of full scale in brightness,
SHEET_RECTANGULAR = 0.9  # ... it fills at least 90 % of the smallest rectangle around it (a turned note: 98 %),
MIN_SHEET_INK = 0.001  # ... and at least 0.1 % of it is darker ink (the digit on a note: 2 % and more)
LINE_ANGLES = 10.0  # ruled or squared paper is looked for turned up to 10 degrees either way
LINE_COUNT = 5  # ... and counts as such when at least 5 parallel straight lines cross the page
SPECK = 0.05  # a piece of ink with under 5 % of the largest piece's ink is a speck, not part of the digit
DARK_BACKGROUND = 0.25  # a background darker than this is a screen or a drawing: never paper in a shadow
SHADOW_LEFT = 0.06  # light left varying by 6 % after the smooth fit is a shadow's edge: with ink at 40 % contrast,
# it would pass the noise floor (15 % of the ink) as ink
INK_MARGIN = 0.05  # while estimating the light, a pixel 5 % darker than the paper's fit counts as ink (JPEG noise
# and paper grain stay within that; a looser margin lets the blurred edges of strokes bend the fit on small images)


class InputError(ValueError):
    """An uploaded or drawn image is not a usable digit; the message says why."""


class Step(NamedTuple):
    title: str  # short, for a caption
    image: np.ndarray  # (H, W) floats in [0, 1], or (H, W, 3) RGB for the picture as decoded
    note: str  # one sentence a teacher can read out


class Preprocessed(NamedTuple):
    digit: np.ndarray  # (28, 28) float32 in [0, 1]
    steps: list[Step]


def load_digit(data: bytes) -> np.ndarray:
    """Image file bytes (any format Pillow reads) -> (28, 28) float32 MNIST-style digit. Raises InputError."""
    return preprocess(data).digit


def digit_from_array(pixels) -> np.ndarray:
    """A drawing as an array -> (28, 28) digit, through the same pipeline as files.

    pixels: (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA; floats in [0, 1] or uint8. Gray may be either ink-on-paper
    or light-on-dark: the background decides whether it is inverted. Raises InputError.
    """
    return preprocess(pixels).digit


def preprocess(source) -> Preprocessed:
    """File bytes or a pixel array -> the digit and every intermediate step (for teaching)."""
    data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
    img = _decode(data) if data is not None else _image_from_array(source)
    rgb, alpha = _rgb_of(img), _alpha_of(img)
    try:
        result, where, ruled = _pipeline(_composite(rgb, alpha, paper=1.0))
    except InputError:
        if alpha is None or alpha.min() >= 1:
            raise
        # Light ink on a transparent background vanishes on white paper: try dark paper before giving up.
        return _pipeline(_composite(rgb, alpha, paper=0.0))[0]
    digit_px = max(where[2] - where[0], where[3] - where[1]) * max(rgb.shape)  # the digit's size, working pixels
    if data is None or alpha is not None or digit_px >= ZOOM_BELOW:
        return result
    return _zoomed_in(data, where, result, ruled) or result


def _zoomed_in(data: bytes, where: tuple[float, float, float, float], first: Preprocessed,
               ruled: bool) -> Preprocessed | None:
    """A small digit in a large photo: after shrinking to WORK_SIZE it is a few dozen pixels, blurred. The part of
    the photo around it (twice its size each way) is decoded again, at the photo's own resolution where needed,
    and goes through the whole recipe. None when the photo has no more detail to give, or that part fails. On a
    ruled page (`ruled`: lines were found in the whole photo) that part shows only a few of the lines, and even
    one line counts."""
    top, left, bottom, right = where
    side = max(bottom - top, right - left)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    region = (max(0.0, cx - side), max(0.0, cy - side), min(1.0, cx + side), min(1.0, cy + side))  # l, t, r, b
    img = _decode(data, WORK_SIZE / max(region[2] - region[0], region[3] - region[1]))
    w, h = img.size
    box = (round(region[0] * w), round(region[1] * h), round(region[2] * w), round(region[3] * h))
    if max(box[2] - box[0], box[3] - box[1]) < 2 * ZOOM_BELOW:
        return None  # the file itself is small: nothing to zoom into
    try:
        second = _pipeline(_rgb_of(img.crop(box)), min_lines=1 if ruled else LINE_COUNT)[0]
    except InputError:
        return None
    zoom = Step("Zoomed in on the digit", second.steps[0].image,
                f"The digit is small in this photo, so the part around it is read again at full resolution "
                f"({box[2] - box[0]} × {box[3] - box[1]} px of the photo) and goes through the same steps.")
    return Preprocessed(second.digit, [first.steps[0], zoom] + second.steps[1:])


# ---- decoding ---------------------------------------------------------------------------------------------------

def _decode(data: bytes, size: float = WORK_SIZE) -> Image.Image:
    """Bytes -> a loaded, upright PIL image, refusing decompression bombs before any pixel is decoded. A JPEG is
    decoded at a reduced scale when its longer side would still be at least `size`."""
    if not data:
        raise InputError("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"The file is {len(data) / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 megapixels; treat its warning as the refusal it should be.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(_too_large_message()) from None
    except UnidentifiedImageError:
        raise InputError("This file is not an image (or not in a format Pillow can read: "
                         "try PNG or JPEG).") from None
    except Exception as e:  # a hostile or broken header can raise almost anything inside a Pillow plugin
        raise InputError(f"This image file is damaged and cannot be read ({type(e).__name__}).") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise InputError(_too_large_message(width, height))
    if width < 1 or height < 1:
        raise InputError("This image has no pixels.")
    try:
        if img.format == "JPEG":
            img.draft(img.mode, (round(size), round(size)))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale: much faster
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()  # the first frame of an animation; a truncated file fails here
        return ImageOps.exif_transpose(img)  # phones store "rotate me" in EXIF rather than rotating pixels
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(_too_large_message()) from None
    except Exception as e:
        raise InputError(f"This image file is truncated or damaged and cannot be decoded "
                         f"({type(e).__name__}: {e}).") from None


def _too_large_message(width: int | None = None, height: int | None = None) -> str:
    size = f" ({width} × {height} pixels)" if width else ""
    return (f"This image is too large{size}: the limit is {MAX_PIXELS / 1e6:.0f} megapixels. "
            "Crop or shrink it and try again.")


def _image_from_array(pixels) -> Image.Image:
    """A canvas array -> a PIL image, validated like a file."""
    a = np.asarray(pixels)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or a.size == 0:
        raise InputError(f"A drawing must be a gray, RGB or RGBA picture, not an array of shape {a.shape}.")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise InputError(_too_large_message(a.shape[1], a.shape[0]))
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise InputError("A drawing's pixel values must be finite and between 0 and 1.")
        a = (a * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(a, "L" if a.ndim == 2 else {3: "RGB", 4: "RGBA"}[a.shape[2]])


# ---- colour planes ----------------------------------------------------------------------------------------------

def _rgb_of(img: Image.Image) -> np.ndarray:
    """(H, W, 3) floats in [0, 1], at most WORK_SIZE on the longer side. 16-bit and float images keep their range."""
    img = _shrink(img)
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            a = a / 65535.0
        elif mode == "I":
            a = a / (255.0 if a.max() <= 255 else 65535.0 if a.max() <= 65535 else a.max())
        elif a.size and np.isfinite(a).all() and (a.min() < 0 or a.max() > 1):
            a = (a - a.min()) / max(a.max() - a.min(), 1e-12)  # float TIFFs: any range
        if not np.isfinite(a).all():
            raise InputError("This image contains invalid (NaN or infinite) pixel values.")
        return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    try:
        rgb = img.convert("RGB")  # palette, CMYK, YCbCr, 1-bit, gray with alpha ... all become RGB
    except (ValueError, OSError) as e:
        raise InputError(f"Images in the colour mode {mode!r} are not supported ({e}).") from None
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _alpha_of(img: Image.Image) -> np.ndarray | None:
    """(H, W) opacity in [0, 1], or None for images without transparency."""
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        return np.asarray(_shrink(img.convert("RGBA")).getchannel("A"), dtype=np.float32) / 255.0
    return None


def _shrink(img: Image.Image) -> Image.Image:
    if max(img.size) <= WORK_SIZE:
        return img
    if img.mode == "P":
        img = img.convert("RGBA")  # resampling a palette would pick palette entries, not average them
    scale = WORK_SIZE / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BOX)  # area average: a thin stroke fades but does not vanish


def _composite(rgb: np.ndarray, alpha: np.ndarray | None, paper: float) -> np.ndarray:
    """Put a transparent picture on paper of the given brightness (1.0 white, 0.0 black)."""
    if alpha is None:
        return rgb
    return rgb * alpha[..., None] + paper * (1 - alpha[..., None])


def _luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, the weights Pillow's convert("L") uses."""
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


# ---- the MNIST recipe -------------------------------------------------------------------------------------------

def _pipeline(shown: np.ndarray, min_lines: int = LINE_COUNT) -> tuple[Preprocessed, tuple[float, ...], bool]:
    """(H, W, 3) picture on paper -> the digit, with a picture of every step; where the ink was found in the
    picture (top, left, bottom, right as fractions of its height and width); and whether printed lines (at least
    `min_lines` parallel ones) were taken out."""
    gray = _luma(shown)
    # Where each pixel of the working picture came from in `shown` (row, column), through the crops and the turn.
    origin = np.indices(gray.shape, dtype=np.float32)
    steps = [Step("Your image", np.clip(shown, 0, 1),
                  f"As decoded: first frame, EXIF rotation applied, transparency on paper "
                  f"({gray.shape[1]} × {gray.shape[0]} px).")]
    steps.append(Step("Grayscale", gray, "Colour is dropped: MNIST digits have one brightness channel."))

    sheet = _sheet_on_desk(gray)
    if sheet is not None:
        # A sticky note or a page lying on a darker desk: the desk's brightness would be taken for the paper's
        # (and the note for ink). Only the sheet is kept; the desk in the corners of its box becomes paper.
        box, inside = sheet
        origin = origin[(slice(None),) + box]
        paper = float(np.median(gray[box][inside]))
        gray = np.where(inside, gray[box], paper).astype(np.float32)
        # The digit was written square to the sheet's edges: turning the edges level stands the digit upright.
        edges = (inside ^ ndimage.binary_erosion(inside)).astype(np.float32)
        angle = _line_angle(edges)
        if angle:
            gray = ndimage.rotate(gray, angle, order=1, reshape=False, mode="constant", cval=paper)
            origin = np.stack([ndimage.rotate(o, angle, order=1, reshape=False, mode="nearest") for o in origin])
        steps.append(Step("Paper found", gray, f"The paper lies on a darker surface: only the paper is kept "
                                               f"({gray.shape[1]} × {gray.shape[0]} px of the picture)"
                                               + (f", turned {angle:+.1f}° so that its edges run level." if angle
                                                  else ".")))

    background = _background_level(gray)
    # Paper photographed under a lamp or beside a window is darker on one side. With one background level for the
    # whole page, a shadowed corner would count as ink and be cropped in with the digit; so each pixel is first
    # divided by the light falling on it, as if the whole page were as well lit as its brightest part. Only light
    # paper: a dark background is a screen or a drawing, not a lit page, and dividing by a dark level would only
    # amplify its noise. Paper whose border is mostly in deep shadow looks dark, but part of its border is still
    # light; once the light is divided out, it is light. (A light digit on an even grey has no light border.)
    lit_border = background > 0.5 or (background > DARK_BACKGROUND and _background_level(gray, 90) > 0.5)
    light = _paper_light(gray) if lit_border else None
    evened = None if light is None else np.clip(gray * (light.max() / light), 0, 1).astype(np.float32)
    if evened is not None and _background_level(evened) > 0.5:
        gray = _shadow_edges_out(evened)
        background = _background_level(gray)
        edge = "" if gray is evened else ", and so is the edge of a shadow, which a smooth change cannot follow"
        steps.append(Step("Light evened out", gray,
                          f"The light on the paper varied by {1 - light.min() / light.max():.0%} across the page; "
                          f"it is divided out{edge}, so that a shadowed corner is not mistaken for ink."))
        ink = 1.0 - gray
        steps.append(Step("Inverted", ink, f"The background is light ({background:.2f}), so light and dark swap: "
                                           "MNIST digits are white ink on black."))
        background = 1.0 - background
        paper = 1.0 - background  # the paper's brightness, which a printed line and a stroke each take a part of
    else:
        ink, paper = gray, 1.0
        steps.append(Step("Not inverted", ink, f"The background is already dark ({background:.2f}): "
                                               "light ink on black, like MNIST."))

    ink = np.clip(ink - background, 0, None).astype(np.float32)  # how much darker than the paper: 0 on paper
    ruled = _ruled_lines(ink, paper, min_lines)
    if ruled is not None:
        ink, angle = ruled
        origin = np.stack([ndimage.rotate(o, angle, order=1, reshape=False, mode="nearest") for o in origin])
        steps.append(Step("Lines removed", ink, f"Long straight lines cross the page (ruled or squared paper): the "
                                                f"picture is turned {angle:+.1f}° so they run level, and they are "
                                                "taken out, so that only the digit is left."))

    stretched = _stretch(ink)
    steps.append(Step("Background to 0, ink to 1", stretched,
                      f"Paper becomes black and the strongest ink white; specks under {NOISE_FLOOR:.0%} are removed."))

    kept = _without_specks(stretched)
    rows, cols = np.flatnonzero(kept.any(axis=1)), np.flatnonzero(kept.any(axis=0))
    cropped = kept[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    came_from = origin[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = shown.shape[:2]
    where = (float(came_from[0].min()) / h, float(came_from[1].min()) / w,
             float(came_from[0].max() + 1) / h, float(came_from[1].max() + 1) / w)
    steps.append(Step("Cropped to the ink", cropped, f"Only the box around the ink is kept "
                                                      f"({cropped.shape[1]} × {cropped.shape[0]} px)."))

    scaled = _fit_box(cropped, DIGIT_BOX)
    steps.append(Step(f"Scaled to {DIGIT_BOX} px", scaled,
                      f"The longer side becomes {DIGIT_BOX} px, keeping the aspect ratio "
                      f"({scaled.shape[1]} × {scaled.shape[0]} px), as MNIST did."))

    digit = _centre_by_mass(scaled, FIELD)
    steps.append(Step(f"Centred in {FIELD} × {FIELD}", digit,
                      f"Placed so that its centre of mass sits at the centre of the {FIELD} × {FIELD} field: "
                      "MNIST's own convention, and what the model saw in training."))
    return Preprocessed(digit, steps), where, ruled is not None


def _background_level(gray: np.ndarray, percentile: float = 50) -> float:
    """The paper's brightness: the median (or another percentile) of a thin ring along the border, where a digit
    rarely reaches."""
    h, w = gray.shape
    k = max(1, min(h, w) // 20)
    ring = np.concatenate([gray[:k].ravel(), gray[-k:].ravel(), gray[:, :k].ravel(), gray[:, -k:].ravel()])
    return float(np.percentile(ring, percentile))


def _sheet_on_desk(gray: np.ndarray) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """A light sheet (a sticky note, a page) lying on a darker surface: (its bounding box, the sheet within that
    box), or None when the picture is all paper, or not a photo of a sheet at all.

    The sheet is the largest light region (light by Otsu's threshold, the digit's strokes on it filled in as holes).
    What tells it from a lit patch of paper or from a light digit on black: the surface around it is darker, with a
    sharp edge (a shadow's edge is soft: across a few pixels it barely changes), and deep (not a printed line); the
    sheet is broad (somewhere on it there is a clear patch a fifth of its width across, which no pen stroke is); and
    it is a rectangle carrying a little darker ink. (Without the last, 730 of the first 2000 MNIST test digits,
    drawn light on black, were taken for sheets.)"""
    h, w = gray.shape
    if min(h, w) < 32:
        return None
    light = gray > _otsu_threshold(gray)
    filled = ndimage.binary_fill_holes(light)
    labels, n = ndimage.label(filled)
    if n == 0:
        return None
    sheet = labels == 1 + int(np.argmax(ndimage.sum_labels(filled, labels, np.arange(1, n + 1))))
    r = max(2, round(max(h, w) / 100))  # a band a few pixels wide on each side of the sheet's edge
    inner = sheet & ~ndimage.binary_erosion(sheet, iterations=r)
    outer = ndimage.binary_dilation(sheet, iterations=r) & ~sheet
    if outer.sum() < 4 * r * r or inner.sum() < 4 * r * r:
        return None  # the light region fills the frame: no desk to be seen
    step = float(np.median(gray[inner]) - np.median(gray[outer]))
    # A desk is deep: somewhere beside the sheet it is dark two bands across. A printed line beside a strip of
    # paper (ruled paper seen up close) is darker too, but thin, and beyond it lies paper again.
    desk, _ = ndimage.label(~light & ~sheet)
    beside = np.isin(desk, np.unique(desk[outer & (desk > 0)]))
    deep = beside.any() and ndimage.distance_transform_edt(beside).max() >= 2 * r
    rows, cols = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
    broad = ndimage.distance_transform_edt(light & sheet).max() * 2 * 5 >= max(len(rows), len(cols))
    # A sheet is mostly blank paper, a good part of the photo, and carries some darker ink; and it is a rectangle
    # (however turned). A light digit on black, its loops filled in, is none of these: its strokes fill at most
    # 81 % of the smallest rectangle around them (a straight 1: 95 %, but a 1 holds no darker ink).
    ink = (sheet & ~light).sum()
    blank = MIN_SHEET_INK * sheet.sum() <= ink <= 0.2 * sheet.sum() and sheet.mean() >= 0.1
    if step < SHEET_STEP or not deep or not broad or not blank or _rectangularity(sheet) < SHEET_RECTANGULAR:
        return None
    # Shrunk by the band, so that no pixel where paper and desk blend is left to look like ink at the edge.
    core = ndimage.binary_erosion(sheet, iterations=r)
    rows, cols = np.flatnonzero(core.any(axis=1)), np.flatnonzero(core.any(axis=0))
    if len(rows) < 8 or len(cols) < 8:
        return None
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return box, core[box]


def _rectangularity(mask: np.ndarray) -> float:
    """The fraction of the smallest rectangle (at any angle) around the True pixels that they fill: 1 for a turned
    rectangle, pi/4 for an ellipse. The smallest rectangle has a side along an edge of the convex hull (Freeman and
    Shapira 1975), so each hull edge is tried; pixels count as unit squares, so that thin masks are not overrated."""
    edge = np.argwhere(mask & ~ndimage.binary_erosion(mask)).astype(np.float64)
    corners = np.concatenate([edge + d for d in ((0, 0), (0, 1), (1, 0), (1, 1))])
    try:
        hull = corners[ConvexHull(corners).vertices]
    except QhullError:
        return 1.0  # a straight row of pixels: the hull is degenerate, and the pixels fill their rectangle
    sides = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    along = sides / np.linalg.norm(sides, axis=1, keepdims=True)
    across = np.stack([-along[:, 1], along[:, 0]], axis=1)
    areas = np.ptp(hull @ along.T, axis=0) * np.ptp(hull @ across.T, axis=0)
    return float(mask.sum() / max(areas.min(), 1.0))


def _otsu_threshold(gray: np.ndarray) -> float:
    """The brightness that best splits the picture into two classes (Otsu 1979: most variance between them). Written
    here: neither NumPy, SciPy nor Pillow has it, and scikit-image would be a dependency for ten lines."""
    counts, edges = np.histogram(gray, bins=256, range=(0.0, 1.0))
    p = counts / max(counts.sum(), 1)
    levels = (edges[:-1] + edges[1:]) / 2
    w0, m0 = np.cumsum(p), np.cumsum(p * levels)
    between = (m0[-1] * w0 - m0) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return float(levels[int(np.argmax(between))])


def _ruled_lines(ink: np.ndarray, paper: float, min_lines: int = LINE_COUNT) -> tuple[np.ndarray, float] | None:
    """Ink (0 on paper, `paper` where the page is black) of a page with ruled or squared lines -> (the ink turned
    so the lines run level, with the lines taken out; the angle turned, degrees), or None when the page has no lines.

    A printed line crosses the whole page, straight; no stroke of a digit does. So: find the angle at which the
    ink's row and column sums are most peaked (a Hough transform restricted to two perpendicular directions), turn
    the picture by it, and measure each pixel's long straight runs with a grey opening (the minimum, then the
    maximum, along three quarters of the picture's width or height): what survives is line. Ink on paper multiplies:
    where a stroke crosses a line, the light is dimmed by both, so the line is divided out rather than subtracted
    (subtracting it would cut a dark notch into every stroke it crosses). Only pages with at least `min_lines`
    parallel lines (LINE_COUNT unless the page is known to be ruled) count as ruled, so that a digit's own long
    stroke (the bar of a 7 filling a picture) stays."""
    h, w = ink.shape
    if min(h, w) < 64:
        return None
    angle = _line_angle(ink)
    turned = ndimage.rotate(ink, angle, order=1, reshape=False, mode="constant", cval=0.0) if angle else ink
    along_rows = ndimage.grey_opening(turned, size=(1, w * 3 // 4))
    along_cols = ndimage.grey_opening(turned, size=(h * 3 // 4, 1))
    floor = MIN_CONTRAST / 2
    counts = [_thin_runs(lines.max(axis=axis) > floor) for lines, axis in ((along_rows, 1), (along_cols, 0))]
    if max(counts) < min_lines:
        return None
    # What the line lets through of the paper's light, (paper - line) / paper; the stroke's share is what is left.
    lines = np.maximum(along_rows, along_cols)
    passed = np.clip(1 - lines / paper, 1e-3, 1)
    clean = np.clip(paper - (paper - turned) / passed, 0, None)
    # A line under two pixels wide is not level to the pixel along its whole length, so what it leaves behind
    # varies; on the lines' own pixels, anything thinner than 3 x 3 pixels (no stroke is) is taken out as well.
    thin = ndimage.grey_opening(clean, size=(3, 3))
    on_lines = ndimage.binary_dilation(lines > floor)
    return np.where(on_lines, np.minimum(clean, thin), clean).astype(np.float32), angle


def _thin_runs(profile: np.ndarray) -> int:
    """How many runs of True in a row or column profile are thin (at most a thirtieth of its length, and 3 px):
    a printed line is; a band of uneven background or a digit's broad stroke is not."""
    labels, n = ndimage.label(profile)
    widths = np.bincount(labels)[1:]
    return int((widths <= max(3, len(profile) // 30)).sum())


def _line_angle(ink: np.ndarray) -> float:
    """The turn (degrees, within LINE_ANGLES) that makes the ink's row and column sums most peaked: coarse on a
    small copy, then to a tenth of a degree on the picture itself."""
    def peakedness(a: np.ndarray, angle: float) -> float:
        t = ndimage.rotate(a, angle, order=1, reshape=False, mode="constant", cval=0.0) if angle else a
        return float((t.mean(axis=1) ** 2).sum() * t.shape[0] + (t.mean(axis=0) ** 2).sum() * t.shape[1])

    small = ndimage.zoom(ink, min(1.0, 128 / max(ink.shape)), order=1)
    coarse = np.arange(-LINE_ANGLES, LINE_ANGLES + 0.25, 0.5)
    best = coarse[int(np.argmax([peakedness(small, a) for a in coarse]))]
    fine = best + np.arange(-0.4, 0.45, 0.1)
    return round(float(fine[int(np.argmax([peakedness(ink, a) for a in fine]))]), 1)


def _paper_light(gray: np.ndarray) -> np.ndarray:
    """The light falling on light paper at every pixel, (H, W) floats: a smooth surface fitted to the paper only.

    Light from a lamp, a window or a hand's soft shadow changes slowly across the page, so a quadratic in x and y
    follows it; ink is left out of the fit by refitting to the pixels that are not much darker than the surface.
    A fit (rather than a blur or a max filter) does not care how big the digit or how thick its strokes are: a
    28 x 28 MNIST digit and a 4000 x 3000 photo are treated alike; and a max filter would also brighten a dark
    corner, since nothing darker lies beyond the picture's edge. On evenly lit paper the surface is flat, and
    dividing by it changes nothing. A shadow with a sharp edge is beyond a quadratic and partly survives."""
    h, w = gray.shape
    scale = min(1.0, LIGHT_GRID / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(gray, "F").resize(size, Image.Resampling.BOX), np.float64).ravel()
    a = np.stack([np.broadcast_to(t, (size[1], size[0])).ravel() for t in _quadratic_terms(size[1], size[0])], -1)
    paper = small >= np.median(small)  # start from the brighter half of the picture: mostly paper
    for _ in range(4):
        if paper.sum() < 3 * a.shape[1]:
            return np.full_like(gray, float(np.median(small)))  # too few pixels to fit a surface: one level
        fitted = a[paper]
        # The normal equations of a 6-term least-squares fit: a 6 x 6 solve (lstsq's SVD is slower, no better here).
        coef = np.linalg.solve(fitted.T @ fitted + 1e-9 * np.eye(a.shape[1]), fitted.T @ small[paper])
        paper = small >= (a @ coef) * (1 - INK_MARGIN)
    light = sum(c * t for c, t in zip(coef, _quadratic_terms(h, w)))  # the same surface, at full size
    # Clipped to the paper's own range, so the fit cannot overshoot beyond it in a corner with no paper to fit.
    lo, hi = max(small[paper].min(), 1e-3), max(small[paper].max(), 1e-3)
    return np.clip(light, lo, hi).astype(np.float32)


def _shadow_edges_out(gray: np.ndarray) -> np.ndarray:
    """Light paper, its light already evened out by a smooth surface -> also without what that surface cannot
    follow: the edge of a cast shadow, a lamp's hot spot. The paper's brightness near each pixel is a grey closing
    (the largest value nearby, then the smallest of those) over a square three times as wide as the pen's stroke,
    so that a stroke fits inside it and vanishes from the estimate while the light's changes stay; each pixel is
    divided by it. The stroke's width is measured on the strong ink (over half the darkest), which a faint shadow
    edge is not part of. Only where the light left over varies by SHADOW_LEFT or more: in the corpus, 3 % at most
    on the photos the smooth surface handles, 12 % under a shadow's edge at 40 % of the light."""
    paper = _background_level(gray)
    strong = gray < paper - 0.5 * max(paper - float(gray.min()), MIN_CONTRAST)
    width = 2 * float(ndimage.distance_transform_edt(strong).max()) if strong.any() else 1.0
    size = min(int(3 * width) | 1, min(gray.shape) | 1)
    if size < 3:
        return gray
    near = ndimage.grey_closing(gray, size=(size, size), mode="nearest")
    near = ndimage.uniform_filter(near, size, mode="nearest")  # the closing's flat plateaus, blended
    lo, hi = np.percentile(near, [1, 99])
    if 1 - lo / max(hi, 1e-3) < SHADOW_LEFT:
        return gray  # what is left stays under the noise floor: dividing would only move the ink by rounding
    return np.clip(gray / np.maximum(near, 1e-3), 0, 1).astype(np.float32)


def _quadratic_terms(rows: int, cols: int) -> list[np.ndarray]:
    """1, x, y, x², xy, y² at the pixel centres of a rows x cols grid, with x and y in [-1, 1] (broadcastable), so
    a surface fitted on a small copy of a picture can be evaluated on the picture itself."""
    y = ((np.arange(rows) + 0.5) / rows * 2 - 1)[:, None]
    x = ((np.arange(cols) + 0.5) / cols * 2 - 1)[None, :]
    return [np.ones((1, 1)), x, y, x * x, x * y, y * y]


def _stretch(d: np.ndarray) -> np.ndarray:
    """Ink above the paper (0 on paper) -> the ink's peak at 1. The peak is taken after a 3x3 box blur, so one noisy
    pixel cannot set the scale. Raises InputError when there is no ink."""
    peak = float(ndimage.uniform_filter(d, 3, mode="nearest").max()) if min(d.shape) >= 3 else float(d.max())
    if peak < MIN_CONTRAST:
        raise InputError("No digit found: the image looks blank (or the ink is too faint against the background).")
    out = np.clip(d / peak, 0, 1).astype(np.float32)
    out[out < NOISE_FLOOR] = 0
    return out


def _without_specks(ink: np.ndarray) -> np.ndarray:
    """The ink without the specks: pieces (8-connected) holding under SPECK of the largest piece's ink. A speck of
    dirt, of JPEG noise or of a line's remains far from the digit would otherwise widen the crop around it and
    shrink the digit; a digit's own pieces (the bar of a 5 written apart) hold far more ink than that."""
    labels, n = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    if n <= 1:
        return ink
    mass = ndimage.sum_labels(ink, labels, np.arange(1, n + 1))
    keep = np.concatenate([[False], mass >= SPECK * mass.max()])
    return np.where(keep[labels], ink, 0).astype(np.float32)


def _fit_box(a: np.ndarray, box: int) -> np.ndarray:
    """Resize so the longer side is `box` px, keeping the aspect ratio; anti-aliased, then re-normalised so
    that a thin stroke, shrunk to grey, is still full-strength ink."""
    h, w = a.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    out = np.clip(np.asarray(Image.fromarray(a.astype(np.float32), "F").resize(size, resample)), 0, 1)
    return (out / out.max() if out.max() > 0 else out).astype(np.float32)


def _centre_by_mass(a: np.ndarray, field: int) -> np.ndarray:
    """Paste `a` into a field x field black image, shifted by whole pixels so that its centre of mass lands on
    pixel (field/2, field/2), which is where MNIST's test digits have theirs (14.0, 14.0 on average)."""
    cy, cx = ndimage.center_of_mass(a)
    top, left = int(round(field / 2 - cy)), int(round(field / 2 - cx))
    out = np.zeros((field, field), np.float32)
    # Clip in case a lopsided digit's centre of mass pushes part of it off the field (rare; MNIST did the same).
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + a.shape[0], field), min(left + a.shape[1], field)
    out[y0:y1, x0:x1] = a[y0 - top:y1 - top, x0 - left:x1 - left]
    return out
