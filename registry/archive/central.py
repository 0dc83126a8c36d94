"""The central directory of an untrusted zip: its end record (zip64 too) and each entry's record.

Counts, sizes and ratios are refused here, before any tree is built or any data read; what the
records say is then held to the bytes really produced (inflate.py). `Archive` (reader.py) takes
these methods from `_CentralDirectory`.
"""

from __future__ import annotations

import stat
import struct

from registry.archive.entries import DIR, FILE, SYMLINK, ZipEntry
from registry.archive.inflate import DEFLATE64, DEFLATED, STORED
from registry.archive.limits import NodeBudget
from registry.archive.names import _WINDOWS_HOSTS, normalise_name

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_EOCD_SIG, _EOCD64_LOCATOR_SIG, _EOCD64_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_ZIP64_EXTRA = 0x0001
_FLAG_ENCRYPTED, _FLAG_UTF8, _FLAG_STRONG_ENCRYPTION = 0x1, 0x800, 0x40
_ENCRYPTION_FLAGS = _FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION
_METHODS = (STORED, DEFLATED, DEFLATE64)
_DOS_DIRECTORY = 0x10
_MAX_LINK_BYTES = 4095


class _CentralDirectory:
    """The central-directory methods of `Archive`: they use its reader, limits, entries, `fail`."""

    def _read_central_directory(self) -> None:
        limits = self.limits
        eocd_pos, count, cd_size, cd_offset = self._end_of_central_directory()
        base = eocd_pos - cd_size - cd_offset  # bytes prepended to the archive (self-extractors)
        if base < 0:
            raise self.fail("central directory lies outside the file")
        if count > limits.max_entries:
            raise self.fail(f"{count} entries, more than the limit of {limits.max_entries}")
        self._central_start = base + cd_offset
        directory = self._reader.read_at(self._central_start, cd_size)
        if len(directory) != cd_size:
            raise self.fail("central directory is truncated")
        pos = 0
        declared_total = 0
        # Counted while parsing, before any tree is built: the tree of an archive over budget
        # would cost memory and time in proportion to the directories it implies.
        budget = NodeBudget(limits)
        while pos < cd_size:
            if len(self.entries) >= count:
                raise self.fail("central directory holds more entries than its end record says")
            entry, pos = self._parse_central_record(directory, pos, base)
            if not budget.add(entry.path):
                raise self.fail(budget.refusal(), entry)
            declared_total += entry.size
            self.entries.append(entry)
        if len(self.entries) != count:
            raise self.fail("central directory holds fewer entries than its end record says")
        if declared_total > limits.max_unzipped_bytes:
            raise self.fail(
                f"unzips to {declared_total} bytes, more than the limit of "
                f"{limits.max_unzipped_bytes}"
            )
        if declared_total > limits.ratio_floor_bytes and declared_total > (
            limits.max_total_ratio * max(self.size, 1)
        ):
            raise self.fail(
                f"compression ratio {declared_total / max(self.size, 1):.0f}:1 is above the "
                f"limit of {limits.max_total_ratio:.0f}:1 (zip bomb?)"
            )

    def _end_of_central_directory(self) -> tuple[int, int, int, int]:
        """Return (position of the record that ends the central directory, count, size, offset)."""
        tail_start = max(0, self.size - (_EOCD.size + 0xFFFF))
        tail = self._reader.read_at(tail_start, self.size - tail_start)
        pos = tail.rfind(_EOCD_SIG)
        while pos >= 0:
            if pos + _EOCD.size <= len(tail):
                record = _EOCD.unpack_from(tail, pos)
                if pos + _EOCD.size + record[7] <= len(tail):
                    break
            pos = tail.rfind(_EOCD_SIG, 0, pos)
        else:
            raise self.fail("not a zip file (no end of central directory record)")
        _, disk, cd_disk, disk_count, count, cd_size, cd_offset, _ = record
        eocd_pos = tail_start + pos
        locator_pos = eocd_pos - _EOCD64_LOCATOR.size
        if locator_pos >= 0:
            locator = _EOCD64_LOCATOR.unpack(
                self._reader.read_at(locator_pos, _EOCD64_LOCATOR.size)
            )
            if locator[0] == _EOCD64_LOCATOR_SIG:
                eocd_pos = locator_pos - _EOCD64.size
                raw = self._reader.read_at(eocd_pos, _EOCD64.size) if eocd_pos >= 0 else b""
                if len(raw) != _EOCD64.size or raw[:4] != _EOCD64_SIG:
                    raise self.fail("zip64 end of central directory record is missing")
                _, _, _, _, disk, cd_disk, disk_count, count, cd_size, cd_offset = _EOCD64.unpack(
                    raw
                )
        if disk != 0 or cd_disk != 0 or disk_count != count:
            raise self.fail("multi-disk archives are not supported")
        if cd_size > self.size:
            raise self.fail("central directory is larger than the file")
        return eocd_pos, count, cd_size, cd_offset

    def _parse_central_record(self, directory: bytes, pos: int, base: int) -> tuple[ZipEntry, int]:
        index = len(self.entries)
        if pos + _CENTRAL.size > len(directory):
            raise self.fail(f"central directory record {index} is truncated")
        (
            sig,
            made_by,
            _,
            flags,
            method,
            _,
            _,
            crc,
            compressed_size,
            size,
            name_len,
            extra_len,
            comment_len,
            disk,
            _,
            external,
            offset,
        ) = _CENTRAL.unpack_from(directory, pos)
        if sig != _CENTRAL_SIG:
            raise self.fail(f"central directory record {index} is corrupt")
        start = pos + _CENTRAL.size
        end = start + name_len + extra_len + comment_len
        if end > len(directory):
            raise self.fail(f"central directory record {index} is truncated")
        raw_name = directory[start : start + name_len]
        if raw_name.isascii():
            name = raw_name.decode("ascii")  # the same in UTF-8 and cp437, and much faster
        else:
            name = self._decode_name(raw_name, flags)
        if 0xFFFFFFFF in (size, compressed_size, offset) or disk == 0xFFFF:
            extra = directory[start + name_len : start + name_len + extra_len]
            size, compressed_size, offset, disk = self._zip64_values(
                name, extra, size, compressed_size, offset, disk
            )
        if disk != 0 or flags & _ENCRYPTION_FLAGS or method not in _METHODS:
            raise self._unsupported(name, disk, flags, method)
        path, kind, mode = self._path_kind_and_mode(
            name, made_by >> 8, external, size, compressed_size
        )
        entry = ZipEntry(
            index=index,
            name=name,
            raw_name=raw_name,
            path=path,
            kind=kind,
            mode=mode,
            method=method,
            crc=crc,
            compressed_size=compressed_size,
            size=size,
            header_offset=base + offset,
        )
        return entry, end

    def _decode_name(self, raw_name: bytes, flags: int) -> str:
        if flags & _FLAG_UTF8:
            try:
                return raw_name.decode("utf-8")
            except UnicodeDecodeError:
                raise self.fail(
                    "name is flagged UTF-8 but is not valid UTF-8", raw_name.decode("cp437")
                ) from None
        return raw_name.decode("cp437")

    def _unsupported(self, name: str, disk: int, flags: int, method: int):
        """Why a record that spans disks, is encrypted or uses another method is refused."""
        if disk != 0:
            return self.fail("multi-disk archives are not supported", name)
        if flags & _ENCRYPTION_FLAGS:
            return self.fail("encrypted entries are not supported", name)
        return self.fail(
            f"compression method {method} is not supported (stored, deflate, Deflate64)", name
        )

    def _zip64_values(self, name, extra, size, compressed_size, offset, disk):
        pos = 0
        while pos + 4 <= len(extra):
            tag, length = struct.unpack_from("<2H", extra, pos)
            body = extra[pos + 4 : pos + 4 + length]
            pos += 4 + length
            if tag != _ZIP64_EXTRA:
                continue
            at = 0

            def take(fmt: str, width: int, body: bytes = body):
                nonlocal at
                if at + width > len(body):
                    raise self.fail("zip64 extra field is truncated", name)
                (value,) = struct.unpack_from(fmt, body, at)
                at += width
                return value

            if size == 0xFFFFFFFF:
                size = take("<Q", 8)
            if compressed_size == 0xFFFFFFFF:
                compressed_size = take("<Q", 8)
            if offset == 0xFFFFFFFF:
                offset = take("<Q", 8)
            if disk == 0xFFFF:
                disk = take("<L", 4)
            return size, compressed_size, offset, disk
        raise self.fail("zip64 sizes announced but the zip64 extra field is missing", name)

    def _path_kind_and_mode(
        self, name: str, host: int, external: int, size: int, compressed_size: int
    ) -> tuple[str, str, int]:
        """The entry's normalised path, kind and mode; refused where they and its sizes
        disagree, or where its compression ratio is a bomb's."""
        try:
            path, names_dir = normalise_name(name, host)
        except ValueError as exc:
            raise self.fail(str(exc), name) from None
        unix = external >> 16
        file_type = stat.S_IFMT(unix)
        if file_type == stat.S_IFLNK:
            if names_dir:
                raise self.fail("symlink entry named like a directory", name)
            kind, mode = SYMLINK, 0o777
        elif (
            file_type == stat.S_IFDIR
            or names_dir
            or (host in _WINDOWS_HOSTS and not file_type and external & _DOS_DIRECTORY)
        ):
            kind, mode = DIR, 0o755
        elif file_type not in (0, stat.S_IFREG):
            raise self.fail("device, fifo or socket entries are not allowed", name)
        else:
            # Only the executable bit survives: setuid, setgid, sticky and odd permissions do not.
            kind, mode = FILE, 0o755 if unix & 0o111 else 0o644
        if not path and kind != DIR:
            raise self.fail("entry has an empty path", name)
        if kind == DIR and size != 0:
            raise self.fail("directory entry carries data", name)
        if kind == SYMLINK and size > _MAX_LINK_BYTES:
            raise self.fail("symlink target is too long", name)
        if size > self.limits.ratio_floor_bytes and size > self.limits.max_entry_ratio * max(
            compressed_size, 1
        ):
            raise self.fail(
                f"compression ratio {size / max(compressed_size, 1):.0f}:1 is above the limit of "
                f"{self.limits.max_entry_ratio:.0f}:1 (zip bomb?)",
                name,
            )
        return path, kind, mode
