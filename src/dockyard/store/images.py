"""Find local images by what users type, and move tags: moby's ``GetImage`` / ``TagImage`` for dockyard.

How references are kept in the metadata (every module that writes tags or repo digests uses these helpers
so the convention lives in one place):

- a tag row: ``name`` = the full reference with its tag (``docker.io/library/busybox:latest``),
  ``repository`` = the full repository name (``docker.io/library/busybox``), ``tag`` = the tag;
- a repo digest row: ``repository`` = the full repository name, ``digest`` = ``sha256:<hex>`` (the manifest).

Lookup order (moby ``daemon/images/image.go`` with the graphdriver store):
1. 64 hex characters or ``sha256:<64 hex>``: an image ID, nothing else.
2. Otherwise the text must parse as a reference; a reference with a digest is looked up by its digest only
   (a tag beside it is ignored), a bare name gets ``:latest``.
3. Failing that, a unique ID prefix (``414f``, ``sha256:414f``).
4. Otherwise ``No such image: <familiar ref>`` (with ``:latest`` added to a bare name). An ambiguous prefix
   reads the same as a missing one: that is what the graphdriver engine says.
"""

from __future__ import annotations

from .._record import dataclass

from ..digest import Digest, short_id
from ..errors import InvalidArgument, InvalidReference, NotFound
from ..reference import Reference, parse_any
from .metadata import ImageRecord, Metadata

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Store


def _meta(store: Store) -> Metadata:
    return store.meta


# --- reference <-> rows ----------------------------------------------------------------------------------


def tag_key(ref: Reference) -> tuple[str, str, str]:
    """(name, repository, tag) of the tag row for ``ref`` (which must carry a tag and no digest)."""
    if ref.tag is None or ref.digest is not None:
        raise InvalidArgument(f"not a tagged reference: {ref}")
    return f"{ref.name}:{ref.tag}", ref.name, ref.tag


def set_tag(store: Store, ref: Reference, image_id: str, manifest_digest: str | None = None) -> str | None:
    """Point the tag ``ref`` at ``image_id`` (moving it if needed); returns the image it pointed at before."""
    name, repository, tag = tag_key(ref)
    return _meta(store).set_tag(name, repository, tag, image_id, manifest_digest)


def add_repo_digest(store: Store, ref: Reference, image_id: str) -> None:
    """Record ``repository@digest`` (``ref`` must carry a digest) for an image."""
    if ref.digest is None:
        raise InvalidArgument(f"not a canonical reference: {ref}")
    _meta(store).add_repo_digest(ref.name, str(ref.digest), image_id)


def _reference_of_row(repository: str, *, tag: str | None = None, digest: str | None = None) -> Reference:
    domain, _, path = repository.partition("/")
    return Reference(domain, path, tag, Digest.parse(digest) if digest else None)


def image_references(store: Store, image_id: str) -> list[Reference]:
    """Every tag and repo digest naming the image, in the engine's order.

    That order is moby's reference store ``References()``: sorted by the full reference text, so within
    one repository tags (``:``) come before digests (``@``).
    """
    meta = _meta(store)
    refs = [_reference_of_row(t.repository, tag=t.tag) for t in meta.tags_for(image_id)]
    refs += [_reference_of_row(d.repository, digest=d.digest) for d in meta.repo_digests_for(image_id)]
    refs.sort(key=str)
    return refs


def repo_tags(store: Store, image_id: str) -> list[str]:
    """``RepoTags`` of ``docker image inspect`` (familiar ``name:tag``), in engine order."""
    return [r.familiar() for r in image_references(store, image_id) if r.digest is None]


def repo_digests(store: Store, image_id: str) -> list[str]:
    """``RepoDigests`` of ``docker image inspect`` (familiar ``name@sha256:…``), in engine order."""
    return [r.familiar() for r in image_references(store, image_id) if r.digest is not None]


def remove_reference(store: Store, ref: Reference) -> bool:
    """Delete the tag or repo digest ``ref`` names (a digest wins over a tag, as in moby's favorDigest)."""
    meta = _meta(store)
    if ref.digest is not None:
        return bool(meta.remove_repo_digest(ref.name, str(ref.digest)))
    name, _, _ = tag_key(ref.with_default_tag())
    return bool(meta.remove_tag(name))


def image_for_reference(store: Store, ref: Reference) -> str | None:
    """The image ID a reference names in the reference store, or None (no ID-prefix fallback)."""
    meta = _meta(store)
    if ref.digest is not None:
        return meta.image_for_repo_digest(ref.name, str(ref.digest))
    name, _, _ = tag_key(ref.with_default_tag())
    return meta.image_for_tag(name)


# --- lookup ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """An image found for an operand, and the reference the operand parsed as (None for an ID)."""

    image: ImageRecord
    reference: Reference | None


def _not_found_text(parsed: Reference | Digest) -> str:
    if isinstance(parsed, Digest):
        return str(parsed)
    return parsed.with_default_tag().familiar()


def _prefix_match(meta: Metadata, operand: str) -> str | None:
    """Docker's digest-set short lookup: ``<hex prefix>`` or ``sha256:<hex prefix>``, unique or nothing."""
    text = operand
    if text.startswith("sha256:"):
        text = text[len("sha256:") :]
    if not text or any(c not in "0123456789abcdef" for c in text):
        return None
    matches = meta.images_by_prefix(text)
    return matches[0] if len(matches) == 1 else None


def resolve(store: Store, operand: str) -> Resolved:
    """Look up an image as the daemon does; see the module docstring for the order.

    Raises NotFound (daemon wording) or InvalidArgument (a daemon-side reference parse error).
    """
    meta = _meta(store)
    try:
        parsed = parse_any(operand)
    except InvalidReference as err:
        # The daemon parses the operand here, so its parse errors carry the daemon prefix.
        raise InvalidArgument(err.message) from err
    if isinstance(parsed, Digest):
        image = meta.get_image(str(parsed)) if parsed.algorithm == "sha256" else None
        if image is None:
            raise NotFound(f"No such image: {_not_found_text(parsed)}")
        return Resolved(image, None)
    image_id = image_for_reference(store, parsed)
    if image_id is not None:
        image = meta.get_image(image_id)
        if image is not None:
            return Resolved(image, parsed)
    image_id = _prefix_match(meta, operand)
    if image_id is not None:
        image = meta.get_image(image_id)
        if image is not None:
            return Resolved(image, None)
    raise NotFound(f"No such image: {_not_found_text(parsed)}")


def resolve_image(store: Store, operand: str) -> ImageRecord:
    """The image an operand names (ID, ``sha256:`` ID, reference, ``name@digest``, unique ID prefix)."""
    return resolve(store, operand).image


def is_image_id_prefix(image_id: str, operand: str) -> bool:
    """moby's ``isImageIDPrefix``: whether the operand is (a prefix of) the ID, with or without ``sha256:``."""
    if image_id.startswith(operand):
        return True
    _, colon, hex_part = image_id.partition(":")
    return bool(colon) and hex_part.startswith(operand)


# --- tagging -----------------------------------------------------------------------------------------------


def tag_image(store: Store, source: str, target: Reference) -> str | None:
    """``docker tag``: point ``target`` (a tag, ``:latest`` if none) at the image ``source`` names.

    An existing tag moves silently; the image it left becomes dangling if nothing else names it.
    Returns the image the tag pointed at before (None if it is new).
    """
    if target.digest is not None:
        raise InvalidReference("refusing to create a tag with a digest reference")
    target = target.with_default_tag()
    meta = _meta(store)
    with meta.transaction():
        image = resolve_image(store, source)
        return set_tag(store, target, image.id)


__all__ = [
    "Resolved",
    "add_repo_digest",
    "image_for_reference",
    "image_references",
    "is_image_id_prefix",
    "remove_reference",
    "repo_digests",
    "repo_tags",
    "resolve",
    "resolve_image",
    "set_tag",
    "short_id",
    "tag_image",
    "tag_key",
]
