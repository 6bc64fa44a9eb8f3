"""Verifying a value against what tesseract saw, character by character, with its doubts.

Reading is open-ended; verifying asks a narrower question: could this ink say the expected
text? Each character tesseract recognised comes with the alternatives it weighed. The
expected value is accepted when it lines up with the recognised characters one to one,
where each character is either the one read or an alternative the model gave real weight
to, and only a few are alternatives. A different name never lines up: its letters are not
among the model's doubts.
"""

from __future__ import annotations

from collections.abc import Callable

from ocr._exec.tesseract import Symbol

# An alternative the model gave at least this weight (0–100) is a plausible reading.
MIN_ALTERNATIVE_CONFIDENCE = 3.0
# How many characters may be taken from the alternatives rather than the best reading.
MAX_ALTERNATIVES = 3
ALTERNATIVES_PER_CHARACTERS = 6
_INFINITE = 10**6


def verify(
    expected: str,
    symbols: list[Symbol],
    canon: Callable[[str], str],
    *,
    wildcard: str | None = None,
    junk_only: bool = False,
) -> int | None:
    """How many characters had to come from alternatives for `expected` to line up with
    `symbols`, or None when it does not line up within the allowance.

    `canon` maps one character to its compared form ("" for what is not compared, such as
    spaces and punctuation in a name). `wildcard` is an expected character that may be read
    as one to three arbitrary symbols (the `@` of an e-mail address). With `junk_only`, only a
    character read as something that cannot be part of the value at all (a bracket, a colon)
    may be replaced by an alternative: a letter or digit read is never overruled.
    """
    wanted = [c for c in (canon(ch) if ch != wildcard else ch for ch in expected) if c]
    seen = [([canon(c) for c, _ in s.choices], [conf for _, conf in s.choices]) for s in symbols]
    overrulable = [not (junk_only and s.best.isalnum()) for s in symbols]
    n, m = len(wanted), len(seen)
    if n == 0:
        return None
    # cost[i][j]: fewest alternatives to line up wanted[:i] with seen[:j].
    cost = [[_INFINITE] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0
    for i in range(n + 1):
        for j in range(m + 1):
            here = cost[i][j]
            if here >= _INFINITE:
                continue
            if j < m and seen[j][0][0] == "":
                cost[i][j + 1] = min(cost[i][j + 1], here)  # a space or a dot: not compared
            if i == n or j == m:
                continue
            if wanted[i] == wildcard:
                for width in (1, 2, 3):
                    if j + width <= m:
                        cost[i + 1][j + width] = min(cost[i + 1][j + width], here)
                continue
            forms, weights = seen[j]
            if forms[0] == wanted[i]:
                cost[i + 1][j + 1] = min(cost[i + 1][j + 1], here)
            elif overrulable[j] and any(
                form == wanted[i] and weight >= MIN_ALTERNATIVE_CONFIDENCE
                for form, weight in zip(forms[1:], weights[1:], strict=True)
            ):
                cost[i + 1][j + 1] = min(cost[i + 1][j + 1], here + 1)
    used = cost[n][m]
    allowance = min(MAX_ALTERNATIVES, max(1, n // ALTERNATIVES_PER_CHARACTERS))
    return used if used <= allowance else None
