"""Entry data of an untrusted archive: read from where its local header ends, inflated (stored,
deflate, Deflate64) in bounded chunks, and held exactly to the size and CRC-32 its header
declares. `Archive` (reader.py) takes these methods from `_Inflating`."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

try:
    # ISA-L inflates three times and checksums six times faster than zlib, and those two are
    # most of a merge's work. Its IgzipDecompressor also releases the GIL while inflating (its
    # zlib-style decompressobj does not), so archives inflate on every core at once.
    from isal import isal_zlib as _zlib
    from isal.igzip_lib import DECOMP_DEFLATE, IgzipDecompressor, IsalError
except ImportError:  # platforms without an isal wheel
    _zlib = zlib
    IgzipDecompressor = None

from registry.archive.entries import ZipEntry
from registry.archive.limits import MiB

STORED, DEFLATED, DEFLATE64 = 0, 8, 9

_READ_CHUNK = 256 * 1024  # compressed bytes read at a time
_OUT_CHUNK = 1 * MiB  # decompressed bytes produced at a time: bounds memory whatever the ratio
# Deflate64 has no output cap per call; one input byte can expand ~12,000-fold, so feed it little.
_DEFLATE64_CHUNK = 512


class _Inflating:
    """The data methods of `Archive`: they use its reader, its spans and its `fail`."""

    # -- data

    def iter_data(self, entry: ZipEntry) -> Iterator[bytes]:
        """Yield the entry's decompressed bytes; raise unless size and CRC match its header."""
        start = self._data_start(entry)
        left = entry.compressed_size
        end = start + left
        if end > self._central_start:
            raise self.fail("entry data runs into the central directory", entry)
        with self._spans_lock:
            self._spans[entry.index] = (entry.header_offset, end)
        produced = 0
        crc = 0
        for chunk in self._decompress(entry, start, left):
            produced += len(chunk)
            if produced > entry.size:
                raise self.fail(
                    f"decompresses to more than the {entry.size} bytes its header declares", entry
                )
            crc = _zlib.crc32(chunk, crc)
            yield chunk
        if produced != entry.size:
            raise self.fail(
                f"decompresses to {produced} bytes, its header declares {entry.size}", entry
            )
        if crc != entry.crc:
            raise self.fail("CRC-32 mismatch (corrupt data)", entry)

    def _read(self, pos: int, length: int, entry: ZipEntry) -> bytes:
        data = self._reader.read_at(pos, length)
        if len(data) != length:
            raise self.fail("archive is truncated", entry)
        return data

    def _decompress(self, entry: ZipEntry, pos: int, left: int) -> Iterator[bytes]:
        if entry.method == STORED:
            return self._unstore(entry, pos, left)
        if entry.method == DEFLATED and IgzipDecompressor is not None:
            return self._inflate_isal(entry, pos, left)
        if entry.method == DEFLATED:
            return self._inflate_zlib(entry, pos, left)
        return self._inflate_deflate64(entry, pos, left)

    def _unstore(self, entry: ZipEntry, pos: int, left: int) -> Iterator[bytes]:
        if entry.compressed_size != entry.size:
            raise self.fail("stored entry's sizes disagree", entry)
        while left:
            chunk = self._read(pos, min(left, _READ_CHUNK), entry)
            pos += len(chunk)
            left -= len(chunk)
            yield chunk

    def _inflate_isal(self, entry: ZipEntry, pos: int, left: int) -> Iterator[bytes]:
        inflater = IgzipDecompressor(flag=DECOMP_DEFLATE)
        # It allocates the whole output limit up front: ask for no more than the entry should
        # still produce (one byte more shows a lie).
        wanted = entry.size + 1
        try:
            while not inflater.eof:
                if inflater.needs_input:
                    if not left:
                        raise self.fail("compressed data ends early", entry)
                    data = self._read(pos, min(left, _READ_CHUNK), entry)
                    pos += len(data)
                    left -= len(data)
                else:
                    data = b""  # it holds input it has not inflated yet
                out = inflater.decompress(data, max(1, min(_OUT_CHUNK, wanted)))
                if out:
                    wanted -= len(out)
                    yield out
                elif not data and not inflater.eof:
                    raise self.fail("corrupt deflate data (no progress)", entry)
        except IsalError as exc:
            raise self.fail(f"corrupt deflate data ({exc})", entry) from None

    def _inflate_zlib(self, entry: ZipEntry, pos: int, left: int) -> Iterator[bytes]:
        inflater = zlib.decompressobj(-15)
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    data = inflater.unconsumed_tail
                elif left:
                    data = self._read(pos, min(left, _READ_CHUNK), entry)
                    pos += len(data)
                    left -= len(data)
                else:
                    data = b""
                out = inflater.decompress(data, _OUT_CHUNK)
                if not out and not data:
                    raise self.fail("compressed data ends early", entry)
                if out:
                    yield out
        except zlib.error as exc:
            raise self.fail(f"corrupt deflate data ({exc})", entry) from None

    def _inflate_deflate64(self, entry: ZipEntry, pos: int, left: int) -> Iterator[bytes]:
        # Imported on first use: the package imports all of zipfile, which start-up can spare.
        from zipfile_deflate64 import deflate64

        inflater = deflate64.Deflate64()
        try:
            while not inflater.eof:
                if not left:
                    raise self.fail("compressed data ends early", entry)
                data = self._read(pos, min(left, _DEFLATE64_CHUNK), entry)
                pos += len(data)
                left -= len(data)
                out = inflater.decompress(data)
                if out:
                    yield out
        except (ValueError, RuntimeError, OSError) as exc:
            raise self.fail(f"corrupt Deflate64 data ({exc})", entry) from None
