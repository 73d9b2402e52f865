"""Paging cursors of the applications list (issue 13, item 4): whatever a client sends as
``?after=`` is a 400 ``cursor_invalid`` or a page, never a 500."""

from __future__ import annotations

import pytest

from services.nominations.entrypoints.queries import decode, encode
from shared.errors import DomainError


@pytest.mark.parametrize("cursor", ["é", "ключ", "abc$", "////", encode("a\u0000b"), "gA"])
def test_a_cursor_this_api_never_gave_is_400_cursor_invalid(cursor: str) -> None:
    with pytest.raises(DomainError) as refused:
        decode(cursor)
    assert (refused.value.status, refused.value.code) == (400, "cursor_invalid")


def test_a_cursor_the_api_gave_comes_back_as_its_key() -> None:
    key = "e/110000000/111000000/0190f5a0-0000-7000-8000-000000000001"
    assert decode(encode(key)) == key and decode("") == ""
