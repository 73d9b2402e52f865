"""The resident's IIN (ЖСН / ИИН): validation, the stored key, and test data (§14.3).

A resident answers once, identified by the 12-digit individual identification number, which
is never stored (API.md, Auth): only ``HMAC-SHA256(pepper, IIN)`` is.

Layout: ``YYMMDD`` date of birth, digit 7 = century and sex (1/2: 1800s, 3/4: 1900s,
5/6: 2000s; odd male, even female), digits 8–11 a registration number, digit 12 the check digit:
``sum(d_i * i for i in 1..11) mod 11``; when that is 10, a second pass with the weights
3,4,5,6,7,8,9,10,11,1,2; when that is 10 again the number is never issued.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta

from shared.errors import ErrorItem, RuleViolation

IIN_LENGTH = 12
_FIRST_WEIGHTS = tuple(range(1, 12))
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


@dataclass(frozen=True)
class IinProblem:
    """Why a string is not a valid IIN (``reason`` is stable; the IIN is never echoed)."""

    reason: str
    detail: str

    def refusal(self, field: str = "iin") -> RuleViolation:
        item = ErrorItem(code="invalid_iin", detail=self.detail, field=field)
        return RuleViolation("invalid_iin", self.detail, errors=[item], reason=self.reason)


def check_digit(first11: str) -> int | None:
    """The 12th digit for these 11 digits, or None when the number cannot be issued."""
    digits = [int(c) for c in first11]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def birth_date(iin: str) -> date | None:
    """The date of birth encoded in digits 1–7, or None when implausible."""
    century = _CENTURY.get(int(iin[6]))
    if century is None:
        return None
    try:
        return date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None


def iin_problem(iin: str, today: date | None = None) -> IinProblem | None:
    """None when ``iin`` is a valid personal IIN; otherwise the first problem found."""
    if len(iin) != IIN_LENGTH:
        return IinProblem("wrong_length", f"an IIN has {IIN_LENGTH} digits, got {len(iin)}")
    if not (iin.isascii() and iin.isdigit()):
        return IinProblem("not_digits", "an IIN holds digits only")
    if int(iin[6]) not in _CENTURY:
        return IinProblem("bad_century_digit", "digit 7 (century and sex) must be 1 to 6")
    born = birth_date(iin)
    if born is None or (today is not None and born > today):
        return IinProblem("bad_birth_date", "digits 1-6 are not a plausible date of birth")
    expected = check_digit(iin[:11])
    if expected is None:
        return IinProblem("unissuable", "no check digit exists for these 11 digits")
    if expected != int(iin[11]):
        return IinProblem("bad_checksum", "the check digit does not match")
    return None


def validate_iin(iin: str, today: date | None = None) -> str:
    """``iin`` itself when valid; raises ``invalid_iin`` (422) otherwise."""
    problem = iin_problem(iin, today)
    if problem is not None:
        raise problem.refusal()
    return iin


def resident_key(iin: str, pepper: bytes) -> str:
    """``HMAC-SHA256(pepper, iin)`` in hex: the only trace of a resident that is kept."""
    validate_iin(iin)
    return keyed(iin, pepper)


def keyed(valid_iin: str, pepper: bytes) -> str:
    """:func:`resident_key` of an IIN already validated (the key's pads computed once per
    pepper, not per resident)."""
    base = _KEYED.get(pepper)
    if base is None:
        if not pepper:
            raise ValueError("the resident pepper must not be empty")
        base = _KEYED[pepper] = hmac.new(pepper, digestmod=hashlib.sha256)
    mac = base.copy()
    mac.update(valid_iin.encode("ascii"))
    return mac.hexdigest()


_KEYED: dict[bytes, hmac.HMAC] = {}


_SERIALS = 10_000
_FIRST_BIRTHDAY = date(1940, 1, 1)


def make_iin(n: int) -> str:
    """A valid IIN, distinct for every ``n >= 0`` (test and benchmark data, not real people).

    ``n`` picks the birthday (one per 10,000 numbers, from 1940-01-01) and the 4-digit serial;
    digit 7 is 3 or 4 by parity, switched when that leaves no check digit (a change of one in
    digit 7 moves the first-pass sum by 7, so the other value always has one).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    born = _FIRST_BIRTHDAY + timedelta(days=n // _SERIALS)
    if born.year > 2099:
        raise ValueError("n too large: the birthday would leave the 2000s")
    first = 3 if born.year < 2000 else 5
    serial = f"{n % _SERIALS:04d}"
    for sex in (n % 2, 1 - n % 2):
        head = f"{born:%y%m%d}{first + sex}{serial}"
        digit = check_digit(head)
        if digit is not None:
            return f"{head}{digit}"
    raise AssertionError("unreachable: one of two adjacent century digits has a check digit")
