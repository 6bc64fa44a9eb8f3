"""The code printed as a QR symbol on each page: which case, form version, party and page,
under a MAC keyed by one of the service's keys, so that a forged or altered code is caught.

Payload: `CESJA1:CS-ABCD-EFGH:3:CR:1:<16 base32 characters>`. The character after `CESJA` is
the id of the key that signed it, so that codes printed before a key was rotated still verify
under the key they were made with (codes printed before keys had ids say `1`: the first
key's). Upper case, digits and `:-` only, so the symbol uses QR's alphanumeric mode and stays
at version 3 (29 modules): big modules survive a 98 dpi fax.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import zxingcpp

from documents.errors import InvalidCode
from documents.layout import PAGE_OF_PARTY, PARTY_OF_PAGE, Party

# A key's id is one of these characters; "1" is the first key's, and every key's before ids.
KEY_IDS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
FIRST_KEY_ID = "1"
PREFIX = "CESJA" + FIRST_KEY_ID  # the first key's codes: all that were printed before ids
_OURS = re.compile(rf"CESJA[{KEY_IDS}]:")
# Digits and only the letters that no digit or other letter resembles, in print, on a fax or
# read aloud (no O/D/Q, I/L/J, Z, S, B, G, A, T, U). 23**8 case ids.
CASE_ID_ALPHABET = "0123456789CEFHKMNPRVWXY"
_PARTY_CODE: dict[Party, str] = {"current_registrant": "CR", "new_registrant": "NR"}
_PARTY_OF_CODE = {code: party for party, code in _PARTY_CODE.items()}
_PAYLOAD = re.compile(
    rf"CESJA([{KEY_IDS}]):(CS-[0-9A-Z]{{4}}-[0-9A-Z]{{4}}):([0-9]{{1,4}}):(CR|NR):([12]):"
    r"([A-Z2-7]{16})"
)
MAC_BYTES = 10  # 80 bits: forging one code by chance is out of reach.
# Q recovers 25 % of the symbol: fax streaks and a signature across a corner.
ERROR_CORRECTION = "Q"


# The keys codes are signed with, by id; a key alone is the first key (id "1").
Keys = bytes | Mapping[str, bytes]


@dataclass(frozen=True)
class PageCode:
    """What a page is: the case, the form version it was printed from, and the party's page;
    and the id of the key its code is signed with."""

    case_id: str
    form_version: int
    party: Party
    key_id: str = FIRST_KEY_ID

    @property
    def page(self) -> int:
        return PAGE_OF_PARTY[self.party]

    def body(self) -> str:
        party, page = _PARTY_CODE[self.party], self.page
        return f"CESJA{self.key_id}:{self.case_id}:{self.form_version}:{party}:{page}"


def is_ours(text: str) -> bool:
    """Whether a QR symbol's text claims to be one of our page codes (under any key)."""
    return _OURS.match(text) is not None


def _ring(keys: Keys) -> Mapping[str, bytes]:
    return {FIRST_KEY_ID: keys} if isinstance(keys, bytes) else keys


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, b"cesja-page-code|" + body.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode()


def encode(code: PageCode, keys: Keys) -> str:
    """The code's text, signed with the key its `key_id` names (KeyError when none has it)."""
    body = code.body()
    return f"{body}:{_mac(_ring(keys)[code.key_id], body)}"


def decode(text: str, keys: Keys) -> PageCode:
    """The page code in a QR symbol's text; InvalidCode when it is malformed, signed with a
    key we do not hold, or its MAC fails.

    `InvalidCode.foreign` tells a code that is not ours at all (a foreign page's QR) from one
    that claims to be ours and is not (altered or forged).
    """
    if not is_ours(text):
        raise InvalidCode("not a Cesja page code", foreign=True)
    match = _PAYLOAD.fullmatch(text)
    if match is None:
        raise InvalidCode("the page code is malformed")
    key_id, case_id, version, party_code, page, mac = match.groups()
    party = _PARTY_OF_CODE[party_code]
    if PARTY_OF_PAGE[int(page)] != party:
        raise InvalidCode("the page code names a party and a page that do not belong together")
    key = _ring(keys).get(key_id)
    if key is None:
        raise InvalidCode(
            f"the page code is signed with key {key_id}, which the service no longer holds "
            "(retired): the form was printed before that key was removed"
        )
    code = PageCode(case_id=case_id, form_version=int(version), party=party, key_id=key_id)
    if not hmac.compare_digest(mac, _mac(key, code.body())):
        raise InvalidCode("the page code's MAC does not match: the code was altered or forged")
    return code


def qr_modules(text: str) -> np.ndarray:
    """The QR symbol for `text` as a boolean matrix, True for a dark module, no quiet zone."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_CORRECTION)
    image = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
    return np.asarray(image < 128)
