"""The .qdpx zip writer: what zip readers (zipfile, unzip, and readers that stream entries
from the front) find in it, including where the format needs zip64 records."""
from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
import zipfile
import zlib

import pytest

from impactmodel.coding import qdpx, qdpx_zip
from impactmodel.coding.qdpx_zip import QdpxZip

MADE_AT = (2026, 12, 3, 14, 7, 31)


def _deflated(data: bytes) -> tuple[io.BytesIO, int, int, int]:
    z = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = z.compress(data) + z.flush()
    return io.BytesIO(stream), zlib.crc32(data), len(data), len(stream)


def _write(entries: dict[str, bytes], deflated: dict[str, bytes] | None = None) -> bytes:
    fh = io.BytesIO()
    archive = QdpxZip(fh, MADE_AT)
    for name, data in entries.items():
        archive.add(name, data)
    for name, data in (deflated or {}).items():
        archive.add_deflated(name, *_deflated(data))
    archive.close()
    return fh.getvalue()


def _streamed(raw: bytes) -> dict[str, bytes]:
    """The entries as a reader that walks local headers from the front finds them: every
    header must carry the entry's sizes (there are no data descriptors to look for)."""
    found, pos = {}, 0
    while raw[pos:pos + 4] == b"PK\x03\x04":
        (_sig, _version, flags, method, _time, _date, crc, csize, size, name_len,
         extra_len) = struct.unpack_from("<4s5H3L2H", raw, pos)
        assert not flags & 0x08
        name = raw[pos + 30:pos + 30 + name_len].decode()
        extra = raw[pos + 30 + name_len:pos + 30 + name_len + extra_len]
        if (csize, size) == (0xFFFFFFFF, 0xFFFFFFFF):
            _tag, _len, size, csize = struct.unpack("<2H2Q", extra)
        start = pos + 30 + name_len + extra_len
        body = raw[start:start + csize]
        data = body if method == 0 else zlib.decompress(body, -zlib.MAX_WBITS)
        assert len(data) == size and zlib.crc32(data) == crc
        found[name] = data
        pos = start + csize
    assert raw[pos:pos + 4] == b"PK\x01\x02"      # then the central directory
    return found


def _central(raw: bytes, name: str) -> tuple[tuple, bytes]:
    """The central directory record of ``name`` (the name's last place in the file) and its extra field."""
    at = raw.rindex(name.encode()) - 46
    record = struct.unpack_from("<4s6H3L5H2L", raw, at)
    assert record[0] == b"PK\x01\x02"
    return record, raw[at + 46 + len(name):at + 46 + len(name) + record[11]]


def test_entries_read_back_the_same_from_the_directory_and_from_the_front(tmp_path):
    sources = {f"sources/{n:04d}.txt": f"answer {n} · café\n".encode() * n for n in range(50)}
    qde = b'<?xml version="1.0" encoding="UTF-8"?>\n<Project />\n' * 1000
    raw = _write(sources, {"project.qde": qde})
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == [*sources, "project.qde"]
        assert {n: zf.read(n) for n in sources} == sources and zf.read("project.qde") == qde
        first = zf.getinfo("sources/0001.txt")
        assert first.compress_type == zipfile.ZIP_STORED and zf.getinfo("project.qde").compress_type == 8
        assert first.date_time == (2026, 12, 3, 14, 7, 30)     # DOS times count two seconds
        assert first.external_attr >> 16 == 0o600 and first.create_system == 3
    assert _streamed(raw) == {**sources, "project.qde": qde}
    if shutil.which("unzip"):
        (tmp_path / "t.zip").write_bytes(raw)
        checked = subprocess.run(["unzip", "-tq", str(tmp_path / "t.zip")], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_more_entries_than_a_plain_zip_counts_take_zip64_end_records(tmp_path):
    sources = {f"sources/{n:06d}.txt": str(n).encode() for n in range(70_000)}
    raw = _write(sources)
    assert b"PK\x06\x06" in raw[-200:] and b"PK\x06\x07" in raw[-200:]
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert len(zf.infolist()) == 70_000
        assert zf.read("sources/069999.txt") == b"69999" and zf.testzip() is None
    if shutil.which("unzip"):
        (tmp_path / "t.zip").write_bytes(raw)
        checked = subprocess.run(["unzip", "-tq", str(tmp_path / "t.zip")], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_sizes_and_offsets_past_the_32_bit_limit_go_in_zip64_fields(monkeypatch):
    # Gigabytes would take minutes: the limit is lowered, the fields are the real ones.
    monkeypatch.setattr(qdpx_zip, "_LIMIT", 100)
    small, large = b"short", b"x" * 300
    raw = _write({"a.txt": small, "b.txt": large}, {"project.qde": b"<Project />\n" * 50})
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert [zf.read(n) for n in ("a.txt", "b.txt")] == [small, large]
        assert zf.read("project.qde") == b"<Project />\n" * 50 and zf.testzip() is None
        qde_at = zf.getinfo("project.qde").header_offset
    assert qde_at > 100       # so zipfile read it from the zip64 field
    assert _streamed(raw)["b.txt"] == large
    record, extra = _central(raw, "b.txt")
    assert (record[8], record[9]) == (0xFFFFFFFF, 0xFFFFFFFF) and struct.unpack("<2H2Q", extra) == (1, 16, 300, 300)
    record, extra = _central(raw, "project.qde")
    assert record[16] == 0xFFFFFFFF and struct.unpack(f"<2H{len(extra) // 8}Q", extra)[-1] == qde_at
    assert raw.count(b"PK\x06\x06") == 1          # the directory starts past the limit


def test_crc32_combine_gives_the_crc_of_the_two_parts_together():
    rng = random.Random(7)
    for length_a, length_b in [(0, 0), (0, 5), (5, 0), (1, 1), (100, 4096), (3000, 100_003)]:
        a, b = rng.randbytes(length_a), rng.randbytes(length_b)
        assert qdpx_zip.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


class _FullDisk(io.BytesIO):
    def write(self, data):
        raise OSError(28, "No space left on device")


def test_a_failure_deflating_aside_reaches_the_export_without_a_hang():
    with pytest.raises(OSError, match="No space"):
        with qdpx._DeflatedAside(_FullDisk()) as aside:
            for _ in range(50):          # more than the queue holds
                aside.write(b"<TextSource />\n" * 1000)
            aside.finish()


def test_the_sources_deflated_aside_splice_into_one_stream():
    fh, aside_fh = io.BytesIO(), io.BytesIO()
    with qdpx._DeflatedAside(aside_fh) as aside:
        aside.write("  <Sources>ü\n".encode() * 5000)
        aside.finish()
    qde = qdpx._Deflated(fh)
    qde.write("<Project>\n" * 300)
    qde.splice(aside)
    qde.write("</Project>\n")
    size = qde.finish()
    whole = "<Project>\n" * 300 + "  <Sources>ü\n" * 5000 + "</Project>\n"
    assert zlib.decompress(fh.getvalue()[:size], -zlib.MAX_WBITS) == whole.encode()
    assert (qde.crc, qde.size) == (zlib.crc32(whole.encode()), len(whole.encode()))
