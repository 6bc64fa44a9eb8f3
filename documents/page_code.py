"""The code printed as a QR symbol on each page: which case, form version, party and page,
under a MAC keyed by the service's secret, so that a forged or altered code is caught.

Payload: `CESJA1:CS-ABCD-EFGH:3:CR:1:<16 base32 characters>`. Upper case, digits and `:-`
only, so the symbol uses QR's alphanumeric mode and stays at version 3 (29 modules): big
modules survive a 98 dpi fax.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

import numpy as np
import zxingcpp

from documents.errors import InvalidCode
from documents.layout import PAGE_OF_PARTY, PARTY_OF_PAGE, Party

PREFIX = "CESJA1"
# Digits and only the letters that no digit or other letter resembles, in print, on a fax or
# read aloud (no O/D/Q, I/L/J, Z, S, B, G, A, T, U). 23**8 case ids.
CASE_ID_ALPHABET = "0123456789CEFHKMNPRVWXY"
_PARTY_CODE: dict[Party, str] = {"current_registrant": "CR", "new_registrant": "NR"}
_PARTY_OF_CODE = {code: party for party, code in _PARTY_CODE.items()}
_PAYLOAD = re.compile(
    r"CESJA1:(CS-[0-9A-Z]{4}-[0-9A-Z]{4}):([0-9]{1,4}):(CR|NR):([12]):([A-Z2-7]{16})"
)
MAC_BYTES = 10  # 80 bits: forging one code by chance is out of reach.
# Q recovers 25 % of the symbol: fax streaks and a signature across a corner.
ERROR_CORRECTION = "Q"


@dataclass(frozen=True)
class PageCode:
    """What a page is: the case, the form version it was printed from, and the party's page."""

    case_id: str
    form_version: int
    party: Party

    @property
    def page(self) -> int:
        return PAGE_OF_PARTY[self.party]

    def body(self) -> str:
        return f"{PREFIX}:{self.case_id}:{self.form_version}:{_PARTY_CODE[self.party]}:{self.page}"


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, b"cesja-page-code|" + body.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode()


def encode(code: PageCode, key: bytes) -> str:
    body = code.body()
    return f"{body}:{_mac(key, body)}"


def decode(text: str, key: bytes) -> PageCode:
    """The page code in a QR symbol's text; InvalidCode when it is malformed or its MAC fails.

    `InvalidCode.foreign` tells a code that is not ours at all (a foreign page's QR) from one
    that claims to be ours and is not (altered or forged).
    """
    if not text.startswith(f"{PREFIX}:"):
        raise InvalidCode("not a Cesja page code", foreign=True)
    match = _PAYLOAD.fullmatch(text)
    if match is None:
        raise InvalidCode("the page code is malformed")
    case_id, version, party_code, page, mac = match.groups()
    party = _PARTY_OF_CODE[party_code]
    if PARTY_OF_PAGE[int(page)] != party:
        raise InvalidCode("the page code names a party and a page that do not belong together")
    code = PageCode(case_id=case_id, form_version=int(version), party=party)
    if not hmac.compare_digest(mac, _mac(key, code.body())):
        raise InvalidCode("the page code's MAC does not match: the code was altered or forged")
    return code


def qr_modules(text: str) -> np.ndarray:
    """The QR symbol for `text` as a boolean matrix, True for a dark module, no quiet zone."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_CORRECTION)
    image = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
    return np.asarray(image < 128)
