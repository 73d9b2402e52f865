"""The IIN rules of the resident survey (§14.3): checksum, birth date, century digit, HMAC key."""

from __future__ import annotations

from datetime import date

import pytest

from services.survey.domain.iin import (
    check_digit,
    iin_problem,
    make_iin,
    resident_key,
    validate_iin,
)
from shared.errors import RuleViolation

# Worked by hand, so the tests do not just restate the code:
#
# 860101300126 — born 1986-01-01, digit 7 = 3 (a man born in the 1900s), serial 0012.
#   digits 8 6 0 1 0 1 3 0 0 1 2 x weights 1..11
#   = 8 + 12 + 0 + 4 + 0 + 6 + 21 + 0 + 0 + 10 + 22 = 83;  83 mod 11 = 6  -> check digit 6.
# 991231407770 — born 1999-12-31, digit 7 = 4 (a woman, 1900s).
#   9 + 18 + 3 + 8 + 15 + 6 + 28 + 0 + 63 + 70 + 77 = 297 = 27 x 11  -> remainder 0.
# 050615600428 — born 2005-06-15, digit 7 = 6 (a woman born in the 2000s).
#   0 + 10 + 0 + 24 + 5 + 30 + 42 + 0 + 0 + 40 + 22 = 173;  173 - 165 = 8  -> check digit 8.
# 850303400013 — needs the second pass.
#   first:  8 + 10 + 0 + 12 + 0 + 18 + 28 + 0 + 0 + 0 + 11 = 87;  87 - 77 = 10  -> again
#   second, weights 3 4 5 6 7 8 9 10 11 1 2:
#           24 + 20 + 0 + 18 + 0 + 24 + 36 + 0 + 0 + 0 + 2 = 124;  124 - 121 = 3  -> check digit 3.
# 8601013008?? — remainder 10 twice, so no 12th digit makes it valid:
#   first:  8 + 12 + 0 + 4 + 0 + 6 + 21 + 0 + 0 + 80 + 66 = 197;  197 - 187 = 10
#   second: 24 + 24 + 0 + 6 + 0 + 8 + 27 + 0 + 0 + 8 + 12 = 109;  109 - 99 = 10
VALID = ["860101300126", "991231407770", "050615600428", "850303400013"]


@pytest.mark.parametrize("iin", VALID)
def test_hand_computed_iins_are_valid(iin: str) -> None:
    assert iin_problem(iin) is None
    assert validate_iin(iin) == iin


def test_second_pass_gives_the_check_digit_when_the_first_remainder_is_ten() -> None:
    assert check_digit("85030340001") == 3


def test_remainder_ten_on_both_passes_leaves_no_check_digit() -> None:
    assert check_digit("86010130086") is None
    for last in "0123456789":
        problem = iin_problem("86010130086" + last)
        assert problem is not None and problem.reason == "unissuable"


@pytest.mark.parametrize(
    ("iin", "reason"),
    [
        ("860101300127", "bad_checksum"),
        ("850303400012", "bad_checksum"),
        ("86010130012", "wrong_length"),
        ("8601013001266", "wrong_length"),
        ("", "wrong_length"),
        ("86010130012a", "not_digits"),
        ("8601 1300126", "not_digits"),
        ("８６０１０１３００１２６", "not_digits"),  # full-width digits are not ASCII
        ("860101000126", "bad_century_digit"),
        ("860101700126", "bad_century_digit"),
        ("860230300126", "bad_birth_date"),
        ("861301300126", "bad_birth_date"),
    ],
)
def test_invalid_iins_are_named_by_reason(iin: str, reason: str) -> None:
    problem = iin_problem(iin)
    assert problem is not None and problem.reason == reason


def test_a_birth_date_after_today_is_implausible() -> None:
    born_2005 = "050615600428"
    assert iin_problem(born_2005, today=date(2020, 7, 1)) is None
    problem = iin_problem(born_2005, today=date(2005, 6, 14))
    assert problem is not None and problem.reason == "bad_birth_date"


def test_invalid_iin_is_a_422_that_never_echoes_the_number() -> None:
    with pytest.raises(RuleViolation) as caught:
        validate_iin("860101300127")
    error = caught.value
    assert (error.code, error.status) == ("invalid_iin", 422)
    assert error.errors[0].field == "iin"
    assert "860101300127" not in str(error) and "860101300127" not in error.detail


def test_resident_key_is_the_hmac_sha256_hex_of_the_iin() -> None:
    import hashlib
    import hmac

    key = resident_key("860101300126", b"pepper")
    assert key == hmac.new(b"pepper", b"860101300126", hashlib.sha256).hexdigest()
    assert len(key) == 64 and "860101300126" not in key
    assert resident_key("860101300126", b"other") != key


def test_resident_key_refuses_an_invalid_iin_and_an_empty_pepper() -> None:
    with pytest.raises(RuleViolation):
        resident_key("860101300127", b"pepper")
    with pytest.raises(ValueError):
        resident_key("860101300126", b"")


def test_make_iin_gives_valid_unique_numbers() -> None:
    numbers = [make_iin(n) for n in range(30_000)]
    assert len(set(numbers)) == len(numbers)
    assert all(iin_problem(iin) is None for iin in numbers)


def test_make_iin_switches_the_sex_digit_when_the_first_choice_has_no_check_digit() -> None:
    switched = []
    for n in range(10_000):
        iin = make_iin(n)
        preferred = str(3 + n % 2)
        if check_digit(iin[:6] + preferred + iin[7:11]) is None:
            switched.append(iin)
            assert iin[6] != preferred
    assert switched  # about one in a hundred numbers needs the switch
    assert all(iin_problem(iin) is None for iin in switched)


def test_make_iin_refuses_negative_n() -> None:
    with pytest.raises(ValueError):
        make_iin(-1)
