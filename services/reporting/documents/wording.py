"""How a protocol writes numbers, moments and counts in Russian and in Kazakh.

Dates, times and decimals follow the locale (Babel: ``25 июня 2020 г.``, ``2020 ж. 25 маусым``,
``7,5556``); a count of members present is said in each language's own order — Russian
"8 из 9", Kazakh "9 мүшенің 8-і" (of nine members, eight), with the possessive suffix that
vowel harmony gives the numeral as it is read.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

ALMATY = ZoneInfo("Asia/Almaty")

# how the last word of a numeral is read: ones, tens, hundreds and up (0 reads нөл)
_ONES = ("нөл", "бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз")
_TENS = ("", "он", "жиырма", "отыз", "қырық", "елу", "алпыс", "жетпіс", "сексен", "тоқсан")
_BACK = set("аоұыя")
_FRONT = set("әеөүіиэ")
_VOWELS = _BACK | _FRONT  # у after a vowel is a glide: елу → елуі, as after a consonant


def _last_word(n: int) -> str:
    """The word a Kazakh numeral ends with when read aloud (the suffix follows it)."""
    if n % 10:
        return _ONES[n % 10]
    if n % 100:
        return _TENS[(n % 100) // 10]
    if n == 0:
        return _ONES[0]
    if n % 1000:
        return "жүз"
    if n % 1_000_000:
        return "мың"
    return "миллион"


def kk_possessive(n: int) -> str:
    """``n`` with the third-person possessive suffix: 8-і, 9-ы, 6-сы, 2-сі, 10-ы, 20-сы."""
    word = _last_word(n)
    back = next((ch in _BACK for ch in reversed(word) if ch in _BACK | _FRONT), False)
    vowel_ending = word[-1] in _VOWELS
    suffix = ("сы" if back else "сі") if vowel_ending else ("ы" if back else "і")
    return f"{n}-{suffix}"


def attendance_count(present: int, members: int, lang: str) -> str:
    """How many of the members were present, in the language's order."""
    if lang == "kk":
        return f"{members} мүшенің {kk_possessive(present)} қатысты"
    return f"присутствуют {present} из {members} членов комиссии"


def required_count(required: int, lang: str) -> str:
    if lang == "kk":
        return f"кемінде {required} мүше қажет"
    return f"требуется не менее {required}"


def moment(value: str | None, lang: str) -> str:
    """An RFC 3339 instant as a protocol writes it: the date in words and the time, in Almaty."""
    if not value:
        return ""
    at = datetime.fromisoformat(value).astimezone(ALMATY)
    return f"{format_date(at, 'long', locale=lang)}, {format_time(at, 'HH:mm', locale=lang)}"


def decimal(value: str | int | Decimal | None, lang: str, places: int = 4) -> str:
    """A figure with the locale's decimal comma and thousands separator (``7,5556``)."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=lang)


def tenge(amount: int, lang: str) -> str:
    """An amount in tenge with thousands separators (``1 250 000 ₸``)."""
    return f"{format_decimal(amount, format='#,##0', locale=lang)} ₸"
