"""Golden bytes of the primitive encodings: varints, fixed ints, crc32c and its masking.

Each table row is an exact byte string from the spec (tf-formats.md section 0). The other
golden files: test_golden_table.py (blocks, tables), test_golden_bundle.py (protos, data
files, slice keys), test_golden_samples.py (byte identity with TensorFlow's samples).
"""
from __future__ import annotations

import pytest

from flowsaver.format import coding
from flowsaver.format.coding import CorruptionError
from format_helpers import h


VARINTS = [
    (0, "00"),
    (1, "01"),
    (127, "7f"),
    (128, "80 01"),
    (300, "ac 02"),
    (16383, "ff 7f"),
    (16384, "80 80 01"),
    (2**32 - 1, "ff ff ff ff 0f"),
    (2**63, "80 80 80 80 80 80 80 80 80 01"),
    (2**64 - 1, "ff ff ff ff ff ff ff ff ff 01"),
]


@pytest.mark.parametrize("value,hexbytes", VARINTS)
def test_varint_golden(value, hexbytes):
    encoded = h(hexbytes)
    assert coding.encode_varint(value) == encoded
    assert coding.decode_varint(encoded, 0) == (value, len(encoded))
    # Decoding stops at the last byte of the varint, whatever follows.
    assert coding.decode_varint(b"\x99" + encoded + b"\xff\xff", 1) == (value,
                                                                         1 + len(encoded))


@pytest.mark.parametrize("value,hexbytes", [(v, x) for v, x in VARINTS if v < 2**32])
def test_varint32_golden(value, hexbytes):
    assert coding.decode_varint32(h(hexbytes), 0) == (value, len(h(hexbytes)))


BAD_VARINTS = [
    # (bytes, decoder) -- each must raise CorruptionError, never IndexError or loop.
    ("", coding.decode_varint),                                   # nothing at all
    ("80", coding.decode_varint),                                 # truncated
    ("ff ff ff", coding.decode_varint),                           # truncated
    ("80 80 80 80 80 80 80 80 80 80 00", coding.decode_varint),   # 11 bytes: overlong
    ("ff ff ff ff ff ff ff ff ff ff ff ff ff", coding.decode_varint),  # never ends
    ("ff ff ff ff ff ff ff ff ff 02", coding.decode_varint),      # 2**64: overflows
    ("ff ff ff ff ff ff ff ff ff 7f", coding.decode_varint),      # overflows
    ("80 80 80 80 80 00", coding.decode_varint32),                # 6 bytes: overlong
    ("ff ff ff ff 1f", coding.decode_varint32),                   # 2**33-1: overflows
    ("ff ff ff ff 10", coding.decode_varint32),                   # 2**32: overflows
    ("ff ff", coding.decode_varint32),                            # truncated
]


@pytest.mark.parametrize("hexbytes,decoder", BAD_VARINTS)
def test_varint_decoding_errors(hexbytes, decoder):
    with pytest.raises(CorruptionError):
        decoder(h(hexbytes), 0)


def test_varint_limit_is_respected():
    # The bytes exist, but past the caller's limit: a block's entries end before its restarts.
    with pytest.raises(CorruptionError):
        coding.decode_varint(h("80 80 01"), 0, limit=2)


@pytest.mark.parametrize("value", [-1, 2**64])
def test_varint_encode_out_of_range(value):
    with pytest.raises(ValueError):
        coding.encode_varint(value)


@pytest.mark.parametrize("value,fixed32,fixed64", [
    (0, "00 00 00 00", "00 00 00 00 00 00 00 00"),
    (1, "01 00 00 00", "01 00 00 00 00 00 00 00"),
    (0x8B80FB57, "57 fb 80 8b", "57 fb 80 8b 00 00 00 00"),
    (0xFFFFFFFF, "ff ff ff ff", "ff ff ff ff 00 00 00 00"),
])
def test_fixed_golden(value, fixed32, fixed64):
    assert coding.encode_fixed32(value) == h(fixed32)
    assert coding.decode_fixed32(h(fixed32), 0) == value
    assert coding.encode_fixed64(value) == h(fixed64)
    assert coding.decode_fixed64(h(fixed64), 0) == value


@pytest.mark.parametrize("decoder,size", [(coding.decode_fixed32, 4),
                                          (coding.decode_fixed64, 8)])
def test_fixed_truncated(decoder, size):
    with pytest.raises(CorruptionError):
        decoder(bytes(size - 1), 0)
    with pytest.raises(CorruptionError):
        decoder(bytes(size), 1)


CRCS = [
    (b"", 0x00000000),
    (b"123456789", 0xE3069283),               # the CRC-32C check value
    (bytes(32), 0x8A9136AA),                  # RFC 3720 B.4: 32 zero bytes
    (b"\xff" * 32, 0x62A8AB43),               # RFC 3720 B.4: 32 0xff bytes
    (bytes(range(32)), 0x46DD794E),           # RFC 3720 B.4: ascending
]


@pytest.mark.parametrize("data,crc", CRCS)
def test_crc32c_golden(data, crc):
    assert coding.crc32c(data) == crc


def test_crc32c_extend_is_crc_of_concatenation():
    assert coding.crc32c(b"456789", coding.crc32c(b"123")) == 0xE3069283


@pytest.mark.parametrize("data,masked", [
    (b"", 0xA282EAD8),                 # mask(0): the stored crc of an empty tensor
    (b"\x05\x00\x00\x00", 0x439CC6D9),  # length crc of b"hello", stored d9 c6 9c 43
])
def test_mask_golden(data, masked):
    assert coding.mask(coding.crc32c(data)) == masked
    assert coding.unmask(masked) == coding.crc32c(data)


@pytest.mark.parametrize("crc", [0, 1, 0x7FFF, 0x8000, 0xE3069283, 0xFFFFFFFF, 0xA282EAD8,
                                 0x12345678])
def test_mask_unmask_inverse(crc):
    assert coding.unmask(coding.mask(crc)) == crc
    assert coding.mask(coding.unmask(crc)) == crc
    assert 0 <= coding.mask(crc) <= 0xFFFFFFFF


def test_mask_is_rotate_right_15_plus_delta():
    assert coding.mask(1) == ((1 << 17) + 0xA282EAD8) & 0xFFFFFFFF
    assert coding.mask(1 << 15) == (1 + 0xA282EAD8) & 0xFFFFFFFF
