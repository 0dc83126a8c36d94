"""Request bodies collected as their bytes arrive."""

from __future__ import annotations

import hashlib

import pytest

from registry.front.body import BodyError, ChunkedBody, LengthBody, PrefetchedBody


def _feed_bytewise(body, data: bytes) -> bytes:
    rest = b""
    for index in range(len(data)):
        rest += body.feed(data[index : index + 1])
    return rest


def test_length_body__takes_its_length_and_returns_what_follows():
    body = LengthBody(5)
    assert body.feed(b"abc") == b""
    assert not body.complete
    assert body.wanted() == 2
    assert body.feed(b"deGET /") == b"GET /"
    assert body.complete
    assert body.data == b"abcde"
    assert body.sha256() == hashlib.sha256(b"abcde").hexdigest()


def test_length_body__allocates_only_what_arrived():
    body = LengthBody(69 * 1024 * 1024)
    body.feed(b"{")
    assert len(body.data) == 1
    assert body.data.__sizeof__() < 1024


def test_chunked_body__decodes_fed_one_byte_at_a_time():
    wire = b"4\r\nWiki\r\n5;name=value\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT"
    body = ChunkedBody(limit=100)
    rest = _feed_bytewise(body, wire)
    assert body.complete
    assert body.data == b"Wikipedia"
    assert body.sha256() == hashlib.sha256(b"Wikipedia").hexdigest()
    assert rest == b"NEXT"


def test_chunked_body__decodes_in_one_piece():
    body = ChunkedBody(limit=100)
    assert body.feed(b"3\r\nabc\r\n0\r\n\r\n") == b""
    assert body.complete and body.data == b"abc"


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\nabc\r\n",  # not hex
        b"\r\n",  # no size
        b"3\r\nabcX\r\n",  # data not followed by CRLF
        b"3\nabc\r\n",  # bare LF
        b"1" * 5000,  # a size line without end
        b"-1\r\n",
    ],
)
def test_chunked_body__refuses_malformed_framing(wire):
    with pytest.raises(BodyError):
        ChunkedBody(limit=100).feed(wire)


def test_chunked_body__refuses_more_than_its_limit_before_taking_it():
    body = ChunkedBody(limit=10)
    body.feed(b"5\r\nhello\r\n")
    with pytest.raises(BodyError):
        body.feed(b"6\r\n")
    assert body.data == b"hello"


def test_prefetched_body__reads_like_a_file_without_owning_the_bytes():
    data = bytearray(b"line one\nline two\n")
    body = PrefetchedBody(data, "digest")
    assert body.read(5) == b"line "
    assert body.readline() == b"one\n"
    assert body.read() == b"line two\n"
    assert body.read() == b""
    assert body.data is data and body.sha256 == "digest"
    body.close()
    data += b"more"  # the reader released its view, so the owner may still resize


def test_prefetched_body__withheld_reads_as_empty():
    body = PrefetchedBody(withheld=True)
    assert body.withheld and body.read() == b""
    assert PrefetchedBody(b"x").sha256 == hashlib.sha256(b"x").hexdigest()


def test_prefetched_body__throttled_is_withheld_too():
    body = PrefetchedBody(throttled=True)
    assert body.throttled and body.withheld and body.read() == b""
    assert not PrefetchedBody(withheld=True).throttled
