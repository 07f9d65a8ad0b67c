"""Bitcoin-style wire serialization: little-endian integers, compact sizes, byte vectors.

`ByteReader` raises `DecodeError` on truncated or malformed input; `ByteWriter` builds
bytes in a list and joins once, which keeps encoding linear in the output size.
"""

from __future__ import annotations

import struct

MAX_SIZE = 0x02000000  # fluxd's MAX_SIZE: no vector or string may claim more elements


class DecodeError(ValueError):
    """The bytes do not hold a well-formed structure of the expected type."""


_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")


def compact_size(n: int) -> bytes:
    """Encode a non-negative integer as a Bitcoin compact size."""
    if n < 0:
        raise ValueError(f"compact size must be non-negative, got {n}")
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + _U16.pack(n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + _U32.pack(n)
    return b"\xff" + _U64.pack(n)


class ByteReader:
    """Sequential reader over a bytes object."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise DecodeError(f"need {n} bytes at offset {self.pos}, {self.remaining()} left")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _unpack(self, fmt: struct.Struct) -> int:
        end = self.pos + fmt.size
        if end > len(self.data):
            raise DecodeError(
                f"need {fmt.size} bytes at offset {self.pos}, {self.remaining()} left"
            )
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos = end
        return int(value)

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise DecodeError(f"need 1 byte at offset {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def i8(self) -> int:
        value = self.u8()
        return value - 256 if value >= 128 else value

    def u16(self) -> int:
        return self._unpack(_U16)

    def u32(self) -> int:
        return self._unpack(_U32)

    def i32(self) -> int:
        return self._unpack(_I32)

    def u64(self) -> int:
        return self._unpack(_U64)

    def i64(self) -> int:
        return self._unpack(_I64)

    def compact_size(self) -> int:
        first = self.u8()
        if first < 0xFD:
            value = first
        elif first == 0xFD:
            value = self.u16()
            if value < 0xFD:
                raise DecodeError("non-canonical compact size")
        elif first == 0xFE:
            value = self.u32()
            if value <= 0xFFFF:
                raise DecodeError("non-canonical compact size")
        else:
            value = self.u64()
            if value <= 0xFFFFFFFF:
                raise DecodeError("non-canonical compact size")
        if value > MAX_SIZE:
            raise DecodeError(f"size {value} exceeds the maximum {MAX_SIZE}")
        return value

    def var_bytes(self) -> bytes:
        return self.read(self.compact_size())

    def count(self, min_item_size: int = 1) -> int:
        """Read a vector length, rejecting counts the remaining bytes cannot hold."""
        n = self.compact_size()
        if n * min_item_size > self.remaining():
            raise DecodeError(f"vector of {n} items cannot fit in {self.remaining()} bytes")
        return n


class ByteWriter:
    """Accumulates serialized fields."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def u8(self, v: int) -> None:
        self.parts.append(bytes((v & 0xFF,)))

    def i8(self, v: int) -> None:
        self.parts.append(bytes((v & 0xFF,)))

    def u16(self, v: int) -> None:
        self.parts.append(_U16.pack(v))

    def u32(self, v: int) -> None:
        self.parts.append(_U32.pack(v))

    def i32(self, v: int) -> None:
        self.parts.append(_I32.pack(v))

    def u64(self, v: int) -> None:
        self.parts.append(_U64.pack(v))

    def i64(self, v: int) -> None:
        self.parts.append(_I64.pack(v))

    def compact_size(self, n: int) -> None:
        self.parts.append(compact_size(n))

    def var_bytes(self, data: bytes) -> None:
        self.parts.append(compact_size(len(data)))
        self.parts.append(data)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)
