"""Failed console sign-ins, counted per client address and per access key id from that address,
shared by every worker process of a node.

Never per key alone: a generated secret is 240 random bits that no rate of guessing comes near, so a
count of the key's failures from everywhere would protect nothing and let anyone who knows a key
id lock its owner out. An IPv6 client is counted by its /64, which one host usually holds whole.

The counts live in a small file of fixed size mapped into each process (gunicorn's workers do not
share memory), so memory stays bounded whatever the number of keys or addresses tried: each
subject hashes to a slot among a few probed ones, and when all of those are taken the slot whose
window is oldest is reused. Two subjects sharing a slot only ever add their failures together,
which can lock a subject out early, never let one in late.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import mmap
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

_SLOT = struct.Struct("<QII")  # subject hash, window start (unix seconds), failures
_SLOTS = 4096
_PROBES = 8
_FILE_BYTES = _SLOT.size * _SLOTS


@dataclass(frozen=True)
class SignInLimits:
    window_seconds: int = 15 * 60
    per_key: int = 5  # failures of one access key id from one client address within a window
    per_address: int = 20  # failures from one client address, whatever the key, within a window


class SignInFailures:
    def __init__(self, path: Path, limits: SignInLimits = SignInLimits()):
        self._limits = limits
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _FILE_BYTES:
                os.ftruncate(fd, _FILE_BYTES)
            self._map = mmap.mmap(fd, _FILE_BYTES)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def retry_after(self, access_key_id: str, address: str) -> int:
        """Seconds until a sign-in may be tried again; 0 when it may be tried now."""
        now = int(time.time())
        with self._locked():
            waits = [
                self._wait(self._find(subject), limit, now)
                for subject, limit in self._subjects(access_key_id, address)
            ]
        return max(waits)

    def failed(self, access_key_id: str, address: str) -> None:
        now = int(time.time())
        with self._locked():
            for subject, _limit in self._subjects(access_key_id, address):
                index = self._slot_for(subject, now)
                _digest, start, count = _SLOT.unpack_from(self._map, index * _SLOT.size)
                if now - start >= self._limits.window_seconds:
                    start, count = now, 0
                _SLOT.pack_into(self._map, index * _SLOT.size, subject, start, count + 1)

    def _subjects(self, access_key_id: str, address: str) -> list[tuple[int, int]]:
        client = _client(address)
        return [
            (_hash("key", f"{access_key_id}\0{client}"), self._limits.per_key),
            (_hash("address", client), self._limits.per_address),
        ]

    def _wait(self, index: int | None, limit: int, now: int) -> int:
        if index is None:
            return 0
        _digest, start, count = _SLOT.unpack_from(self._map, index * _SLOT.size)
        left = start + self._limits.window_seconds - now
        return max(left, 1) if count >= limit and left > 0 else 0

    def _find(self, subject: int) -> int | None:
        for index in _probe(subject):
            digest, _start, _count = _SLOT.unpack_from(self._map, index * _SLOT.size)
            if digest == subject:
                return index
        return None

    def _slot_for(self, subject: int, now: int) -> int:
        """The subject's slot, else a free or expired one, else the one with the oldest window."""
        oldest, oldest_start = None, None
        for index in _probe(subject):
            digest, start, _count = _SLOT.unpack_from(self._map, index * _SLOT.size)
            if digest == subject:
                return index
            if digest == 0 or now - start >= self._limits.window_seconds:
                start = -1
            if oldest_start is None or start < oldest_start:
                oldest, oldest_start = index, start
        _SLOT.pack_into(self._map, oldest * _SLOT.size, subject, now, 0)
        return oldest

    def _locked(self):
        return _FileLock(self._fd)


class _FileLock:
    def __init__(self, fd: int):
        self._fd = fd

    def __enter__(self):
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self._fd, fcntl.LOCK_UN)


def _client(address: str) -> str:
    """What a client is counted as: an IPv6 address's /64, any other address as it is (the caller
    has made an IPv4-mapped address plain IPv4)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def _hash(kind: str, value: str) -> int:
    digest = int.from_bytes(hashlib.sha256(f"{kind}\0{value}".encode()).digest()[:8], "little")
    return digest or 1  # 0 marks a free slot


def _probe(subject: int) -> list[int]:
    first = subject % _SLOTS
    return [(first + step) % _SLOTS for step in range(_PROBES)]
