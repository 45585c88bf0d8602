"""Colour science for the palette test: sRGB to CIELAB (D65), the CIEDE2000 colour difference (Sharma, Wu & Dalal
2005) and colour-vision-deficiency simulation (Machado, Oliveira & Fernandes 2009, severity 1.0, applied in linear
sRGB). Public formulas, written out here: the app needs none of this at run time, only the test of its palette."""
from __future__ import annotations

import itertools
import math

# Machado, Oliveira & Fernandes (2009), Table 1 at severity 1.0: linear RGB in, linear RGB out.
MACHADO = {
    "protanopia": ((0.152286, 1.052583, -0.204868),
                   (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968),
                     (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779),
                   (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}
VISIONS = ("normal", *MACHADO)

# sRGB (linear) to CIE XYZ, D65, and the D65 white point (IEC 61966-2-1)
_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),
           (0.2126729, 0.7151522, 0.0721750),
           (0.0193339, 0.1191920, 0.9503041))
_WHITE = (0.95047, 1.0, 1.08883)


def hex_rgb(color: str) -> tuple[float, float, float]:
    """'#rrggbb' as sRGB in 0..1."""
    c = color.lstrip("#")
    return tuple(int(c[i:i + 2], 16) / 255 for i in (0, 2, 4))


def to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _mul(m, v):
    return tuple(sum(a * b for a, b in zip(row, v)) for row in m)


def over_white(color: str, alpha: float) -> tuple[float, float, float]:
    """The sRGB a colour drawn at `alpha` on white shows (the browser blends in sRGB)."""
    return tuple(alpha * c + (1 - alpha) for c in hex_rgb(color))


def lab(rgb: tuple[float, float, float], vision: str = "normal") -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour (0..1), as seen with `vision` (simulated in linear RGB, clipped to the gamut)."""
    linear = tuple(to_linear(c) for c in rgb)
    if vision != "normal":
        linear = tuple(min(1.0, max(0.0, c)) for c in _mul(MACHADO[vision], linear))
    xyz = _mul(_TO_XYZ, linear)

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = (f(c / w) for c, w in zip(xyz, _WHITE))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 (kL = kC = kH = 1), following Sharma, Wu & Dalal (2005) step by step."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dLp, dCp = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    elif h2p - h1p > 180:
        dhp = h2p - h1p - 360
    else:
        dhp = h2p - h1p + 360
    dHp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    Lp, Cp = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hp = (h1p + h2p) / 2
    elif h1p + h2p < 360:
        hp = (h1p + h2p + 360) / 2
    else:
        hp = (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(hp - 30)) + 0.24 * math.cos(math.radians(2 * hp))
         + 0.32 * math.cos(math.radians(3 * hp + 6)) - 0.20 * math.cos(math.radians(4 * hp - 63)))
    d_theta = 30 * math.exp(-(((hp - 275) / 25) ** 2))
    rc = 2 * math.sqrt(Cp ** 7 / (Cp ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (Lp - 50) ** 2 / math.sqrt(20 + (Lp - 50) ** 2)
    sc = 1 + 0.045 * Cp
    sh = 1 + 0.015 * Cp * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2 + rt * (dCp / sc) * (dHp / sh))


def min_pair(colors, vision: str = "normal", alpha: float = 1.0) -> tuple[float, int, int]:
    """The smallest CIEDE2000 between two of `colors` (drawn at `alpha` on white) as seen with `vision`, and the
    pair's indices."""
    labs = [lab(over_white(c, alpha), vision) for c in colors]
    return min((ciede2000(labs[i], labs[j]), i, j) for i, j in itertools.combinations(range(len(colors)), 2))


def relative_luminance(color: str) -> float:
    r, g, b = (to_linear(c) for c in hex_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio of two colours."""
    hi, lo = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
