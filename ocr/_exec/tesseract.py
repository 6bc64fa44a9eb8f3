"""Tesseract through tesserocr: one engine handle per thread, reading small zones, nothing else.

A new tesseract process per zone costs ~120 ms; a kept handle reads a zone in ~10 ms
(DESIGN.md). Handles are not thread-safe, so each worker thread gets its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ocr.errors import ToolMissing

DEFAULT_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
LANGUAGE = "pol"
INSTALL_HINT = "install tesseract-ocr-pol (apt-get install tesseract-ocr tesseract-ocr-pol)"

_local = threading.local()


@dataclass(frozen=True)
class LineText:
    """What tesseract read in one zone, with its mean word confidence (0–100)."""

    text: str
    confidence: float


def check(tessdata: Path | None = None) -> str | None:
    """None when tesserocr loads and has the Polish model, else what is wrong and how to fix it."""
    folder = tessdata or DEFAULT_TESSDATA
    if not (folder / f"{LANGUAGE}.traineddata").is_file():
        return f"no Polish language data in {folder}: {INSTALL_HINT}"
    try:
        import tesserocr
    except ImportError as err:  # the wheel is a dependency, but a broken install says so here
        return f"tesserocr cannot be imported ({err}): reinstall the project's Python packages"
    version = tesserocr.tesseract_version().split()[1] if tesserocr.tesseract_version() else "?"
    if not version.startswith(("4.", "5.")):
        return f"tesseract {version} is too old: 4.1 or newer is needed"
    return None


def has_language(language: str, tessdata: Path | None = None) -> bool:
    return ((tessdata or DEFAULT_TESSDATA) / f"{language}.traineddata").is_file()


def version() -> str:
    import tesserocr

    return str(tesserocr.tesseract_version().splitlines()[0])


def _api(tessdata: Path | None, language: str = LANGUAGE) -> object:
    import tesserocr

    folder = str(tessdata or DEFAULT_TESSDATA)
    if getattr(_local, "folder", None) != folder:
        problem = check(Path(folder))
        if problem:
            raise ToolMissing(problem)
        _local.apis = {}
        _local.folder = folder
    apis: dict[str, object] = _local.apis
    if language not in apis:
        apis[language] = tesserocr.PyTessBaseAPI(
            path=folder, lang=language, oem=tesserocr.OEM.LSTM_ONLY
        )
    return apis[language]


def read_zone(
    image: np.ndarray,
    *,
    dpi: int,
    lines: int = 1,
    whitelist: str = "",
    tessdata: Path | None = None,
    language: str = LANGUAGE,
) -> LineText:
    """Read a greyscale crop that holds `lines` lines of printed text (black on white);
    `lines=0`: a single character."""
    import tesserocr

    api = _api(tessdata, language)
    psm = {0: tesserocr.PSM.SINGLE_CHAR, 1: tesserocr.PSM.SINGLE_LINE}.get(
        lines, tesserocr.PSM.SINGLE_BLOCK
    )
    api.SetPageSegMode(psm)  # type: ignore[attr-defined]
    api.SetVariable("tessedit_char_whitelist", whitelist)  # type: ignore[attr-defined]
    api.SetImage(Image.fromarray(image))  # type: ignore[attr-defined]
    api.SetSourceResolution(dpi)  # type: ignore[attr-defined]
    text = api.GetUTF8Text() or ""  # type: ignore[attr-defined]
    confidence = api.MeanTextConf()  # type: ignore[attr-defined]
    return LineText(text=" ".join(text.split()), confidence=float(confidence))


@dataclass(frozen=True)
class Symbol:
    """One recognised character and the alternatives tesseract weighed, best first (0–100)."""

    choices: tuple[tuple[str, float], ...]

    @property
    def best(self) -> str:
        return self.choices[0][0]


def read_symbols(
    image: np.ndarray, *, dpi: int, lines: int = 1, tessdata: Path | None = None
) -> tuple[LineText, list[Symbol]]:
    """Like `read_zone`, with every character's alternatives (for verifying, not reading)."""
    import tesserocr

    api = _api(tessdata)
    psm = tesserocr.PSM.SINGLE_LINE if lines == 1 else tesserocr.PSM.SINGLE_BLOCK
    api.SetPageSegMode(psm)  # type: ignore[attr-defined]
    api.SetVariable("tessedit_char_whitelist", "")  # type: ignore[attr-defined]
    api.SetVariable("lstm_choice_mode", "1")  # type: ignore[attr-defined]
    try:
        api.SetImage(Image.fromarray(image))  # type: ignore[attr-defined]
        api.SetSourceResolution(dpi)  # type: ignore[attr-defined]
        text = api.GetUTF8Text() or ""  # type: ignore[attr-defined]
        confidence = float(api.MeanTextConf())  # type: ignore[attr-defined]
        symbols = []
        level = tesserocr.RIL.SYMBOL
        iterator = api.GetIterator()  # type: ignore[attr-defined]
        for result in tesserocr.iterate_level(iterator, level):
            choices = tuple(
                (alternative, float(choice.Confidence()))
                for choice in (result.GetChoiceIterator() or ())
                if (alternative := choice.GetUTF8Text())
            )
            if choices:
                symbols.append(Symbol(choices))
    finally:
        api.SetVariable("lstm_choice_mode", "0")  # type: ignore[attr-defined]
    return LineText(" ".join(text.split()), confidence), symbols
