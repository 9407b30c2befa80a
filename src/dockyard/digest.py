"""Content digests and the verifying stream wrappers that every blob passes through."""

from __future__ import annotations

from ._lazyre import lazy_compile
from ._record import dataclass

from .errors import DigestMismatch, InvalidDigest, SizeMismatch

TYPE_CHECKING = False
if TYPE_CHECKING:
    import hashlib
    from collections.abc import Callable
    from typing import BinaryIO, Protocol

    class Readable(Protocol):
        def read(self, size: int = -1, /) -> bytes: ...

else:

    def __getattr__(name: str) -> object:
        # Readable is a typing.Protocol, made when a module first imports it: typing costs start-up ~10 ms.
        if name == "Readable":
            from typing import Protocol

            class Readable(Protocol):
                def read(self, size: int = -1, /) -> bytes: ...

            globals()["Readable"] = Readable
            return Readable
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_ALGORITHM_HEX_LENGTH = {"sha256": 64, "sha512": 128}
# OCI descriptor grammar: algorithm components joined by + . _ -, then ':' and the encoded part.
_DIGEST_GRAMMAR = lazy_compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_LOWER_HEX = lazy_compile(r"[a-f0-9]+")

CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class Digest:
    """A validated ``algorithm:hex`` digest. Only ``parse`` and ``of`` make one."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse with go-digest's checks, in its order and words."""
        if ":" not in text:
            raise InvalidDigest("invalid checksum digest format")
        algorithm, _, encoded = text.partition(":")
        if not _DIGEST_GRAMMAR.fullmatch(text):
            raise InvalidDigest("invalid checksum digest format")
        length = _ALGORITHM_HEX_LENGTH.get(algorithm)
        if length is None:
            raise InvalidDigest("unsupported digest algorithm")
        if len(encoded) != length:
            raise InvalidDigest("invalid checksum digest length")
        if not _LOWER_HEX.fullmatch(encoded):
            raise InvalidDigest("invalid checksum digest format")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        import hashlib  # lazily: loading OpenSSL is a few ms that listing never needs

        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    @classmethod
    def from_hasher(cls, hasher: "hashlib._Hash") -> Digest:
        return cls(hasher.name, hasher.hexdigest())

    def hasher(self) -> "hashlib._Hash":
        return new_hasher(self.algorithm)

    @property
    def short(self) -> str:
        """The 12-character form Docker shows for IDs and layer lines."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def new_hasher(algorithm: str = "sha256") -> "hashlib._Hash":
    if algorithm not in _ALGORITHM_HEX_LENGTH:
        raise InvalidDigest("unsupported digest algorithm")
    import hashlib

    return hashlib.new(algorithm)


def is_hex_id(text: str) -> bool:
    """True for a full 64-character lowercase hex string (an image ID without its prefix)."""
    return len(text) == 64 and _LOWER_HEX.fullmatch(text) is not None


class VerifyingReader:
    """Wraps a stream; hashes and counts what passes; fails at EOF if size or digest differ.

    It never reads more than ``expected_size + 1`` bytes from the source, so a lying source cannot make it
    buffer without bound. A mismatch raises before the final (empty) read returns, so a consumer that reads
    to EOF cannot miss it.
    """

    def __init__(self, source: Readable, expected: Digest, expected_size: int | None = None) -> None:
        self._source = source
        self.expected = expected
        self.expected_size = expected_size
        self._hasher = expected.hasher()
        self.count = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if self._done:
            return b""
        want = size
        if self.expected_size is not None:
            want = min(want, self.expected_size + 1 - self.count)
        chunk = self._source.read(want) if want > 0 else b""
        if chunk:
            self._hasher.update(chunk)
            self.count += len(chunk)
            if self.expected_size is not None and self.count > self.expected_size:
                self._done = True
                raise SizeMismatch(str(self.expected), self.expected_size, self.count)
            return chunk
        self._finish()
        return b""

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _finish(self) -> None:
        self._done = True
        if self.expected_size is not None and self.count != self.expected_size:
            raise SizeMismatch(str(self.expected), self.expected_size, self.count)
        actual = Digest.from_hasher(self._hasher)
        if actual != self.expected:
            raise DigestMismatch(str(self.expected), str(actual), self.count)

    def verify_to_end(self) -> None:
        """Drain the rest of the source (e.g. padding after a tar's end) so the digest is checked."""
        while self.read(CHUNK):
            pass

    @property
    def digest_so_far(self) -> Digest:
        return Digest.from_hasher(self._hasher.copy())


class HashingWriter:
    """Wraps a binary sink; hashes and counts what is written through it."""

    def __init__(self, sink: BinaryIO, algorithm: str = "sha256") -> None:
        self._sink = sink
        self._hasher = new_hasher(algorithm)
        self.count = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hasher.update(data)
        self.count += len(data)
        self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    @property
    def digest(self) -> Digest:
        return Digest.from_hasher(self._hasher.copy())


def digest_file(path: str, algorithm: str = "sha256") -> tuple[Digest, int]:
    """Hash a file in large chunks; returns its digest and size."""
    hasher = new_hasher(algorithm)
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return Digest.from_hasher(hasher), size


def short_id(image_id: str) -> str:
    """moby's ``stringid.TruncateID``: drop an ``algorithm:`` prefix, keep 12 characters."""
    _, colon, rest = image_id.partition(":")
    return (rest if colon else image_id)[:12]


def copy_verified(
    source: BinaryIO, write: Callable[[memoryview], object], expected: Digest, size: int,
    *, buffer: bytearray | None = None, what: str = "stored blob",
) -> None:
    """Copy exactly ``size`` bytes of ``source`` to ``write`` (1 MiB at a time, no extra copies), hashing
    them on the way; fails on a short or long source or a digest mismatch once everything was written."""
    hasher = new_hasher(expected.algorithm)
    view = memoryview(buffer if buffer is not None else bytearray(CHUNK))
    left = size
    while left > 0:
        n = source.readinto(view[: min(len(view), left)])  # type: ignore[attr-defined]
        if not n:
            raise SizeMismatch(str(expected), size, size - left)
        hasher.update(view[:n])
        write(view[:n])
        left -= n
    if source.read(1):
        raise SizeMismatch(str(expected), size, size + 1)
    actual = Digest.from_hasher(hasher)
    if actual != expected:
        raise DigestMismatch(str(expected), str(actual), size, what=what)

