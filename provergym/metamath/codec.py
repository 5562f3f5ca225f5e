"""The compressed-proof codec: codes <-> numbers, one proof or many at once.

A compressed proof's letters are codes: ``A``-``T`` end a number, ``U``-``Y`` are its leading
digits (base 5), ``Z`` saves the top of the stack and ``?`` is an unknown step. The kernel
runs proofs as numbers (``Z`` is 0), and the letters of many proofs are decoded together,
vectorised with numpy (5x the regex split); see :func:`decode_numbers`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

COMPRESSED_STEP = re.compile(r"[U-Y]*[A-T]|Z|\?")
find_codes = COMPRESSED_STEP.findall  # the codes of a proof's letters, one by one


def compressed_code(number: int) -> str:
    """The letters of ``number`` (1-based) in a compressed proof: 1 -> A, 20 -> T, 21 -> UA."""
    number -= 1
    letters = [chr(65 + number % 20)]  # A..T end a number
    number //= 20
    while number:
        number -= 1
        letters.append(chr(85 + number % 5))  # U..Y are the leading digits
        number //= 5
    return "".join(reversed(letters))


_CODES: list[str] = [""]  # _CODES[n] is compressed_code(n); grown on demand


def codes_upto(n: int) -> list[str]:
    """A list whose item ``i`` is ``compressed_code(i)``, for every ``i <= n`` at least."""
    codes = _CODES
    if len(codes) <= n:
        codes.extend([compressed_code(i) for i in range(len(codes), 2 * n + 64)])
    return codes


def compressed_number(code: str) -> int:
    """The number (1-based) a compressed-proof code stands for: A -> 1, T -> 20, UA -> 21."""
    number = 0
    for char in code[:-1]:
        number = number * 5 + (ord(char) - 84)  # U=1 .. Y=5
    return number * 20 + (ord(code[-1]) - 64)  # A=1 .. T=20


# The fast loop's decoding of compressed letters into numbers, vectorised: every character
# but the leading digits U-Y ends a code, so no character is skipped. A-T end a number, Z
# is 0, and anything else that ends a code (?, a bad character, Z or ? after leading
# digits) is BAD, a number beyond any table, so the fast loop's lookup fails on it.
BAD = 1 << 40
MAX_LEADING = 10  # more leading digits than this: a number beyond any table (BAD)
_ENDS_IN_LEADING = frozenset("UVWXY")


@functools.cache
def decoding_tables():
    """numpy and its tables, imported on first use (the parallel check imports them once
    before forking, so no worker pays for it)."""
    import numpy as np

    final = np.full(256, BAD, dtype=np.int64)
    final[65:85] = np.arange(1, 21)  # A..T
    final[ord("Z")] = 0
    leading = np.zeros(256, dtype=np.int64)
    leading[85:90] = np.arange(1, 6)  # U..Y
    powers = 5.0 ** np.arange(MAX_LEADING)  # exact in float64 (bincount's weights)
    return np, final, leading, powers


def letters_of(numbers: list[int]) -> str:
    """The compressed letters of numbers we made ourselves (each one Z or a valid code)."""
    codes = codes_upto(max(numbers, default=0))
    return "".join(["Z" if n == 0 else codes[n] for n in numbers])


def decode_numbers(proofs: Sequence[str]) -> list[list[int]]:
    """The numbers of the codes of each compressed proof in ``proofs`` (letters only, no
    spaces): ``Z`` is 0, a code that is not a number or ``Z`` is :data:`BAD`, and so is a
    number cut short at the end. One vectorised pass over all of them."""
    np, final_of, leading_of, powers = decoding_tables()
    # A proof ending in leading digits gets a bad character, so they stay its own.
    texts = [text + "!" if text[-1:] in _ENDS_IN_LEADING else text for text in proofs]
    chars = np.frombuffer("".join(texts).encode("latin-1", "replace"), dtype=np.uint8)
    leading = leading_of[chars]
    ends = leading == 0
    where_ends = np.flatnonzero(ends)
    numbers = final_of[chars[where_ends]]
    digits = np.flatnonzero(~ends)
    if len(digits):
        code = np.cumsum(ends)[digits]  # each leading digit's code: the codes ended before
        power = where_ends[code] - digits - 1
        weights = leading[digits] * powers[np.minimum(power, MAX_LEADING - 1)]
        values = np.bincount(code, weights=weights, minlength=len(numbers)).astype(np.int64)
        too_long = np.bincount(code, weights=power >= MAX_LEADING, minlength=len(numbers)) > 0
        prefixed = values > 0
        numbers = np.where(prefixed & (numbers > 0) & (numbers < BAD) & ~too_long,
                           values * 20 + numbers, np.where(prefixed, BAD, numbers))
    flat = numbers.tolist()
    bounds = np.searchsorted(where_ends, np.cumsum([len(t) for t in texts])).tolist()
    return [flat[start:end] for start, end in zip([0, *bounds], bounds)]

