"""The request types every service shares (club_platform.inputs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from club_platform.inputs import Moment
from pydantic import TypeAdapter, ValidationError

moment = TypeAdapter(Moment)


def test_a_moment_is_rfc_3339_text_with_an_offset():
    assert moment.validate_python("2030-01-31T09:30:00+08:00") == datetime(
        2030, 1, 31, 1, 30, tzinfo=UTC)
    assert moment.validate_python("1990-05-01T00:00:00Z").year == 1990


@pytest.mark.parametrize(("value", "words"), [
    (12345, "not as a number"),
    (1.7e9, "not as a number"),
    ("9999-12-31T23:59:59.999999+00:00", "between 1900 and 2199"),
    ("0001-01-01T00:00:00+00:00", "between 1900 and 2199"),
    ("2030-01-31T09:30:00", "timezone"),
    ("tomorrow", "datetime"),
])
def test_numbers_naive_times_and_the_ends_of_the_calendar_are_refused(value, words):
    with pytest.raises(ValidationError) as refused:
        moment.validate_python(value)
    assert words in str(refused.value)
