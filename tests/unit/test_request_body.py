"""A request body as API Gateway hands it over: text as it is, a binary body in base64."""

import base64

import pytest

from attendance.request_body import BodyTooLarge, NotBase64, body_bytes

LIMIT = 10


@pytest.mark.parametrize("size", [0, 1, 2, 3, LIMIT - 1, LIMIT])
def test_a_body_within_the_limit_reads_the_same_in_either_encoding(size):
    data = bytes(range(65, 65 + size))
    assert body_bytes(data.decode(), False, LIMIT) == data
    assert body_bytes(base64.b64encode(data).decode(), True, LIMIT) == data


def test_no_body_is_no_bytes():
    assert body_bytes(None, False, LIMIT) == body_bytes(None, True, LIMIT) == b""


def test_a_body_one_byte_over_is_refused_in_either_encoding():
    data = b"x" * (LIMIT + 1)
    for body, is_base64 in ((data.decode(), False), (base64.b64encode(data).decode(), True)):
        with pytest.raises(BodyTooLarge, match="larger than 10 bytes"):
            body_bytes(body, is_base64, LIMIT)


def test_text_is_measured_in_bytes_not_characters():
    with pytest.raises(BodyTooLarge):
        body_bytes("ü" * 6, False, LIMIT)  # 6 characters, 12 bytes


def test_a_base64_body_plainly_too_large_is_refused_before_it_is_decoded():
    # Not base64 at all, but its length alone shows it would decode to more than the limit
    with pytest.raises(BodyTooLarge):
        body_bytes("!" * 17, True, LIMIT)


def test_a_body_that_is_not_base64_is_named():
    for garbage in ("abc", "ab!d", "YWJj\nZA=="):
        with pytest.raises(NotBase64, match="not valid base64"):
            body_bytes(garbage, True, LIMIT)
