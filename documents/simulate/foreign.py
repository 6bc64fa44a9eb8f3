"""Pages that belong to no case: a printed letter, sometimes with a QR code of its own."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from documents.layout import Box
from documents.simulate.lettering import font
from documents.simulate.paper import PRINT_DPI, Paper, blank_paper, mm_to_px, print_qr

SENDERS = (
    ("Biuro Rachunkowe Żaneta Kłos", "ul. Ogrodowa 5, 60-101 Poznań"),
    ("Przedsiębiorstwo Usługowe ŁAD s.c.", "al. Wolności 12, 20-300 Lublin"),
    ("Hurtownia Papiernicza Źdźbło", "ul. Młyńska 3/1, 80-850 Gdańsk"),
)
TITLES = ("Faktura VAT nr 2024/11/087", "Wezwanie do zapłaty", "Umowa o świadczenie usług", "Pismo")
SENTENCES = (
    "W nawiązaniu do naszej rozmowy telefonicznej przesyłamy zestawienie usług wykonanych "
    "w bieżącym miesiącu.",
    "Prosimy o uregulowanie należności w terminie czternastu dni od daty otrzymania pisma.",
    "Wszelkie zmiany danych kontaktowych prosimy zgłaszać pisemnie na adres siedziby.",
    "Zgodnie z postanowieniami umowy wynagrodzenie płatne jest przelewem na wskazany rachunek.",
    "W razie pytań pozostajemy do dyspozycji od poniedziałku do piątku w godzinach pracy biura.",
    "Dokument sporządzono w dwóch jednobrzmiących egzemplarzach, po jednym dla każdej ze stron.",
    "Załączamy kopię protokołu odbioru podpisanego przez przedstawiciela zamawiającego.",
    "Niniejsze pismo nie wymaga podpisu, ponieważ zostało wygenerowane elektronicznie.",
    "Uprzejmie informujemy, że od przyszłego kwartału zmienia się numer rachunku bankowego.",
    "Reklamacje dotyczące jakości towaru należy zgłaszać niezwłocznie po jego dostarczeniu.",
    "Opłata za przechowywanie dokumentów zostanie doliczona do najbliższej faktury.",
    "Dziękujemy za dotychczasową współpracę i liczymy na jej kontynuację w kolejnym roku.",
)
MARGIN_MM = 22.0


def foreign_paper(
    rng: np.random.Generator, qr_text: str | None = None, dpi: float = PRINT_DPI
) -> Paper:
    """A printed letter with no corner markers: a sender, a date, a title and paragraphs, and
    `qr_text` (a URL, say) as a QR code in the bottom-right corner when given."""
    paper = blank_paper(dpi)
    image = Image.fromarray(paper.pixels)
    pen = ImageDraw.Draw(image)
    ppm = mm_to_px(1, dpi)
    name, address = SENDERS[rng.integers(len(SENDERS))]
    left = MARGIN_MM * ppm
    width = (210 - 2 * MARGIN_MM) * ppm
    pen.text((left, 20 * ppm), name, 0, _pt(dpi, 11, bold=True))
    pen.text((left, 26 * ppm), address, 0, _pt(dpi, 9))
    day, month = int(rng.integers(1, 29)), int(rng.integers(1, 13))
    date = f"Warszawa, {day:02d}.{month:02d}.2025 r."
    pen.text((left + width, 40 * ppm), date, 0, _pt(dpi, 10), anchor="ra")
    pen.text((left, 55 * ppm), TITLES[rng.integers(len(TITLES))], 0, _pt(dpi, 14, bold=True))
    body = _pt(dpi, float(rng.uniform(9.5, 11.5)))
    line_height = body.size * 1.45
    y = 70 * ppm
    for _ in range(int(rng.integers(3, 7))):
        picked = rng.choice(len(SENTENCES), int(rng.integers(2, 5)), replace=False)
        paragraph = " ".join(SENTENCES[i] for i in picked)
        for line in _wrap(paragraph, body, width):
            pen.text((left, y), line, 0, body)
            y += line_height
        y += line_height * 0.8
    pen.text((left + width * 0.6, y + 10 * ppm), "Z poważaniem", 0, body)
    paper.pixels[...] = np.asarray(image)
    if qr_text is not None:
        print_qr(paper, qr_text, Box(210 - MARGIN_MM - 25, 297 - 45, 25, 25))
    return paper


def _pt(dpi: float, points: float, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    file = "DejaVuSerif-Bold.ttf" if bold else "DejaVuSerif.ttf"
    return font(file, round(points * dpi / 72))


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and face.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines
