"""Print and scan wear as the augraphy library models it, on the sheet before our scanner sees it.

augraphy's augmentations are made for clean document images: on a scan that already holds
sensor noise some do nothing at all (BadPhotoCopy's edge effect takes every noisy pixel for an
edge and gives the page back unchanged). So the wear goes on the printed, filled-in sheet, in
grey at 200 dpi (augraphy's cost grows with the pixels; a 200 dpi office scan follows), and the
simulator's own scanner then adds its optics, noise and placement.

augraphy (a dev dependency: the service never imports it) draws from Python's `random`,
NumPy's global generator, OpenCV's and, inside its numba-compiled loops, numba's own
per-thread generators. `worn` seeds all four from `rng`, runs numba on one thread (parallel
loops would draw in a different order each time), and gives the caller's global generators
back as they were. Nothing is downloaded: the augmentations used here need no data (augraphy's
`Scribbles` and its figshare-backed `BindingsAndFasteners` would, and are not used).

The augmentations and their ranges are those of augraphy's own default pipeline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

import cv2
import numpy as np

from documents.errors import ToolMissing
from documents.simulate.capture import Capture, scan
from documents.simulate.paper import Paper

Wear = Literal[
    "ink-bleed",
    "low-ink",
    "dirty-drum",
    "dirty-rollers",
    "folding",
    "bad-photocopy",
    "shadow",
    "lighting-gradient",
]
WEARS: tuple[Wear, ...] = (
    "ink-bleed",
    "low-ink",
    "dirty-drum",
    "dirty-rollers",
    "folding",
    "bad-photocopy",
    "shadow",
    "lighting-gradient",
)
INSTALL_HINT = "augraphy is a dev dependency: `make install` puts it into .venv"


WEAR_DPI = 200.0


def worn_scan(paper: Paper, rng: np.random.Generator, *wears: Wear) -> Capture:
    """`paper` worn by each of `wears` in turn, then scanned in grey at 200 dpi."""
    sheet = grey_sheet(paper, WEAR_DPI)
    for wear in wears:
        sheet = worn(sheet, rng, wear)
    return scan(sheet, rng, dpi=WEAR_DPI)


def grey_sheet(paper: Paper, dpi: float) -> Paper:
    """`paper` in grey (as a grey scan would see it), resampled to `dpi`."""
    grey = cv2.cvtColor(paper.pixels, cv2.COLOR_RGB2GRAY)
    if dpi != paper.dpi:
        size = (round(grey.shape[1] * dpi / paper.dpi), round(grey.shape[0] * dpi / paper.dpi))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return Paper(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), dpi)


def worn(sheet: Paper, rng: np.random.Generator, wear: Wear) -> Paper:
    """A new grey sheet: `sheet` (its grey) with `wear` applied as augraphy draws it. The same
    `rng` state gives the same sheet."""
    augmentation = _AUGMENTATIONS[wear](_augraphy(), rng)
    seed = int(rng.integers(1, 2**31 - 1))
    grey = cv2.cvtColor(sheet.pixels, cv2.COLOR_RGB2GRAY)
    image = _seeded(seed, lambda: augmentation(grey))
    if image.ndim == 3:  # LightingGradient answers a grey page in colour
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.shape != grey.shape:
        raise ValueError(f"augraphy's {wear} changed the sheet's size to {image.shape}")
    return Paper(cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_GRAY2RGB), sheet.dpi)


def _pick(rng: np.random.Generator, choices: tuple[Any, ...]) -> Any:
    return choices[int(rng.integers(len(choices)))]


def _ink_bleed(a: Any, rng: np.random.Generator) -> Any:
    return a.InkBleed(
        intensity_range=(0.1, 0.2),
        kernel_size=_pick(rng, ((7, 7), (5, 5), (3, 3))),
        severity=(0.4, 0.6),
    )


def _low_ink(a: Any, rng: np.random.Generator) -> Any:
    consistent = bool(rng.random() < 0.5)
    if rng.random() < 0.5:
        return a.LowInkRandomLines(
            count_range=(5, 10), use_consistent_lines=consistent, noise_probability=0.1
        )
    return a.LowInkPeriodicLines(
        count_range=(2, 5),
        period_range=(16, 32),
        use_consistent_lines=consistent,
        noise_probability=0.1,
    )


def _dirty_drum(a: Any, rng: np.random.Generator) -> Any:
    return a.DirtyDrum(
        line_width_range=(1, 6),
        line_concentration=float(rng.uniform(0.05, 0.15)),
        direction=int(rng.integers(0, 3)),
        noise_intensity=float(rng.uniform(0.6, 0.95)),
        noise_value=(64, 224),
        ksize=_pick(rng, ((3, 3), (5, 5), (7, 7))),
        sigmaX=0,
    )


def _dirty_rollers(a: Any, rng: np.random.Generator) -> Any:
    return a.DirtyRollers(line_width_range=(2, 32), scanline_type=0)


def _folding(a: Any, rng: np.random.Generator) -> Any:
    return a.Folding(
        fold_x=None,
        fold_deviation=(0, 0),
        fold_count=int(rng.integers(2, 9)),
        fold_noise=0.01,
        fold_angle_range=(-360, 360),
        gradient_width=(0.1, 0.2),
        gradient_height=(0.01, 0.02),
        backdrop_color=(0, 0, 0),
    )


def _bad_photocopy(a: Any, rng: np.random.Generator) -> Any:
    return a.BadPhotoCopy(
        noise_mask=None,
        noise_type=-1,
        noise_side="random",
        noise_iteration=(1, 2),
        noise_size=(1, 3),
        noise_value=(128, 196),
        noise_sparsity=(0.3, 0.6),
        noise_concentration=(0.1, 0.6),
        blur_noise=bool(rng.random() < 0.5),
        blur_noise_kernel=_pick(rng, ((3, 3), (5, 5), (7, 7))),
        wave_pattern=bool(rng.random() < 0.5),
        edge_effect=bool(rng.random() < 0.5),
    )


def _shadow(a: Any, rng: np.random.Generator) -> Any:
    return a.ShadowCast(
        shadow_side="random",
        shadow_vertices_range=(1, 20),
        shadow_width_range=(0.3, 0.8),
        shadow_height_range=(0.3, 0.8),
        shadow_color=(0, 0, 0),
        shadow_opacity_range=(0.2, 0.9),
        shadow_iterations_range=(1, 2),
        shadow_blur_kernel_range=(101, 301),
    )


def _lighting_gradient(a: Any, rng: np.random.Generator) -> Any:
    return a.LightingGradient(
        light_position=None,
        direction=None,
        max_brightness=255,
        min_brightness=0,
        mode="gaussian",
        linear_decay_rate=None,
        transparency=None,
    )


_AUGMENTATIONS: dict[Wear, Callable[[Any, np.random.Generator], Any]] = {
    "ink-bleed": _ink_bleed,
    "low-ink": _low_ink,
    "dirty-drum": _dirty_drum,
    "dirty-rollers": _dirty_rollers,
    "folding": _folding,
    "bad-photocopy": _bad_photocopy,
    "shadow": _shadow,
    "lighting-gradient": _lighting_gradient,
}


@cache
def _augraphy() -> Any:
    try:
        import augraphy  # a dev dependency, imported (in seconds) only when used
    except ImportError as err:
        raise ToolMissing(f"augraphy could not be imported ({err}): {INSTALL_HINT}") from err
    return augraphy


@cache
def _numba_seeder() -> Callable[[int], None]:
    import numba  # augraphy's own dependency

    @numba.njit(cache=False)
    def seed(value: int) -> None:
        # Inside compiled code these seed numba's generators, not Python's or NumPy's.
        random.seed(value)
        np.random.seed(value)

    return seed  # type: ignore[no-any-return]


def _seeded(seed: int, call: Callable[[], np.ndarray]) -> np.ndarray:
    """`call()` with every generator augraphy draws from seeded by `seed`, on one numba thread;
    Python's and NumPy's global generators are given back as they were."""
    import numba

    python_state, numpy_state = random.getstate(), np.random.get_state()
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        random.seed(seed)
        np.random.seed(seed)
        cv2.setRNGSeed(seed)
        _numba_seeder()(seed)
        return np.asarray(call())
    finally:
        numba.set_num_threads(threads)
        random.setstate(python_state)
        np.random.set_state(numpy_state)
