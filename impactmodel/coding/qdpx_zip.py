"""The ``.qdpx`` zip, written front to back: tens of thousands of small sources, stored,
then ``project.qde``, deflated beforehand.

Every entry's CRC and sizes are known before its header is written, so the file is
written once, with no seeking back and no data descriptors, and any zip reader (those
that stream entries from the front too) reads it. zipfile would spend most of the time
the export takes on the sources: a few dozen microseconds of bookkeeping for each one,
against a few here. Zip64 records are written where the format needs them (more than
65,535 entries, or an entry or offset past 4 GiB), as zipfile writes them.
"""
from __future__ import annotations

import shutil
import struct
import zlib
from typing import IO

STORED, DEFLATED = 0, 8
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_END = struct.Struct("<4s4H2LH")
# A size, offset or count from these on is written in a zip64 field; its own field then
# holds the sentinel, which tells readers to look there.
_LIMIT, _SENTINEL = 0xFFFFFFFF, 0xFFFFFFFF
_COUNT_LIMIT, _COUNT_SENTINEL = 0xFFFF, 0xFFFF
_UNIX = 3 << 8               # version made by: Unix, so the permissions below are read
_PERMISSIONS = 0o600 << 16   # rw------- as zipfile gives an entry written from bytes


_CRC_POLYNOMIAL = 0xEDB88320    # CRC-32's, bits reversed as zlib keeps them


def _times_mod_p(a: int, b: int) -> int:
    """``a * b`` modulo CRC-32's polynomial (zlib's ``multmodp``)."""
    m, product = 1 << 31, 0
    while True:
        if a & m:
            product ^= b
            if not a & (m - 1):
                return product
        m >>= 1
        b = (b >> 1) ^ _CRC_POLYNOMIAL if b & 1 else b >> 1


# x to the power 2**k modulo the polynomial, for k from 0: each the square of the last.
_X_TO_2_TO_K = [1 << 30]
for _ in range(31):
    _X_TO_2_TO_K.append(_times_mod_p(_X_TO_2_TO_K[-1], _X_TO_2_TO_K[-1]))


def crc32_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC-32 of A followed by B, from A's, B's and B's length in bytes: zlib's
    ``crc32_combine``, which Python's zlib does not offer. Appending a byte multiplies
    A's CRC by x**8, so B's length shifts A's CRC by x**(8 * length_b)."""
    shift, k = 1 << 31, 3
    while length_b:
        if length_b & 1:
            shift = _times_mod_p(_X_TO_2_TO_K[k & 31], shift)
        length_b >>= 1
        k += 1
    return _times_mod_p(shift, crc_a) ^ crc_b


def _narrow(value: int) -> int:
    return _SENTINEL if value >= _LIMIT else value


class QdpxZip:
    """A zip written to the binary file ``fh`` from where it stands; ``made_at`` (local
    time, as ``time.localtime()[:6]``) is every entry's modification time."""

    def __init__(self, fh: IO[bytes], made_at: tuple[int, ...]):
        year, month, day, hour, minute, second = made_at
        self._dos = ((hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day)
        self._fh = fh
        self._offset = fh.tell()
        self._central: list[bytes] = []
        self._unwritten: list[bytes] = []     # entries are written to fh a thousand at a time

    def add(self, name: str, data: bytes) -> None:
        """``data`` stored (not compressed) as ``name``."""
        if self._offset + len(data) >= _LIMIT:
            self._header(name, STORED, zlib.crc32(data), len(data), len(data), data)
            return
        # Most entries: a small source early in the file, with no zip64 field.
        encoded, crc, size = name.encode("ascii"), zlib.crc32(data), len(data)
        time, date = self._dos
        self._unwritten.append(_LOCAL.pack(b"PK\x03\x04", 20, 0, STORED, time, date, crc, size, size,
                                           len(encoded), 0) + encoded + data)
        self._central.append(_CENTRAL.pack(b"PK\x01\x02", _UNIX | 20, 20, 0, STORED, time, date, crc, size, size,
                                           len(encoded), 0, 0, 0, 0, _PERMISSIONS, self._offset) + encoded)
        self._offset += _LOCAL.size + len(encoded) + size
        if len(self._unwritten) >= 1000:
            self._write_out()

    def add_deflated(self, name: str, deflated: IO[bytes], crc: int, size: int, deflated_size: int) -> None:
        """The raw deflate stream in ``deflated`` (read from its start), of ``size`` bytes
        with CRC-32 ``crc``, as ``name``."""
        self._header(name, DEFLATED, crc, size, deflated_size, b"")
        self._write_out()
        deflated.seek(0)
        shutil.copyfileobj(deflated, self._fh)
        self._offset += deflated_size

    def _header(self, name: str, method: int, crc: int, size: int, deflated_size: int, data: bytes) -> None:
        encoded = name.encode("ascii")      # the export's names are GUIDs: no flag for UTF-8 needed
        time, date = self._dos
        zip64 = size >= _LIMIT or deflated_size >= _LIMIT
        local_extra = struct.pack("<2H2Q", 1, 16, size, deflated_size) if zip64 else b""
        version = 45 if zip64 else 20
        sizes = (_SENTINEL, _SENTINEL) if zip64 else (deflated_size, size)
        self._unwritten.append(_LOCAL.pack(b"PK\x03\x04", version, 0, method, time, date, crc, *sizes,
                                           len(encoded), len(local_extra)) + encoded + local_extra + data)
        if len(self._unwritten) >= 1000:
            self._write_out()
        # The central record says in its own zip64 field what does not fit in 32 bits.
        wide = [v for v in (size, deflated_size, self._offset) if v >= _LIMIT]
        central_extra = struct.pack(f"<2H{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b""
        version = 45 if wide else 20
        self._central.append(_CENTRAL.pack(
            b"PK\x01\x02", _UNIX | version, version, 0, method, time, date, crc,
            _narrow(deflated_size), _narrow(size), len(encoded), len(central_extra), 0, 0, 0,
            _PERMISSIONS, _narrow(self._offset)) + encoded + central_extra)
        self._offset += _LOCAL.size + len(encoded) + len(local_extra) + len(data)

    def _write_out(self) -> None:
        self._fh.write(b"".join(self._unwritten))
        self._unwritten.clear()

    def close(self) -> None:
        """The central directory and the end records."""
        self._write_out()
        start, count = self._offset, len(self._central)
        directory = b"".join(self._central)
        self._fh.write(directory)
        end = start + len(directory)
        entries = _COUNT_SENTINEL if count >= _COUNT_LIMIT else count
        if entries != count or start >= _LIMIT or len(directory) >= _LIMIT:
            self._fh.write(_ZIP64_END.pack(b"PK\x06\x06", _ZIP64_END.size - 12, _UNIX | 45, 45, 0, 0,
                                           count, count, len(directory), start)
                           + _ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
        self._fh.write(_END.pack(b"PK\x05\x06", 0, 0, entries, entries, _narrow(len(directory)), _narrow(start), 0))
        self._fh.flush()
        self._central.clear()
