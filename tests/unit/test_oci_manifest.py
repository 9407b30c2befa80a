"""Manifests and indexes: strict parsing (hazard 13), exact bytes, descriptors, and the builders.

PUSHED_MANIFEST is what the registry holds after ``docker push`` from the 20.10 engine; its digest is the
one ``docker push`` printed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from dockyard.digest import Digest
from dockyard.errors import DataCorrupt, DigestMismatch, SizeMismatch, TooLarge, Unsupported
from dockyard.oci import mediatypes as mt
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import (
    Index,
    Manifest,
    MediaTypeConflict,
    Schema1Unsupported,
    build_docker_manifest,
    build_oci_index,
    build_oci_manifest,
    parse_index,
    parse_manifest,
    parse_manifest_or_index,
)
from dockyard.oci.platform import Platform

pytestmark = pytest.mark.unit

PUSHED_MANIFEST = (
    '{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",'
    '\n   "config": {\n      "mediaType": "application/vnd.docker.container.image.v1+json",\n      "size'
    '": 917,\n      "digest": "sha256:7d452f44a2ded9ee1f493093d4ee01d20f43e9585242fc753d729d5122f2de38'
    '"\n   },\n   "layers": [\n      {\n         "mediaType": "application/vnd.docker.image.rootfs.diff.t'
    'ar.gzip",\n         "size": 1069150,\n         "digest": "sha256:466acfb8db7b7ce8e5c1a1a0cd80e1eaf'
    'f74b9d958c00ebc5a6b2d96c5e056ec"\n      }\n   ]\n}'
).encode()
PUSHED_DIGEST = "sha256:652780f75e73b150c3e4f0c7fdb8856473315c58faf430afd8dc9ea958de3381"

CONFIG = {"mediaType": mt.OCI_CONFIG, "digest": str(Digest.of(b"{}")), "size": 2}
LAYER = {"mediaType": mt.OCI_LAYER_GZIP, "digest": "sha256:" + "1" * 64, "size": 10}
ENTRY = {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "2" * 64, "size": 500,
         "platform": {"architecture": "amd64", "os": "linux"}}


def doc(**fields: Any) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def test_pushed_manifest_parses_and_keeps_its_bytes() -> None:
    m = parse_manifest_or_index(PUSHED_MANIFEST, mt.DOCKER_MANIFEST)
    assert isinstance(m, Manifest)
    assert str(m.digest) == PUSHED_DIGEST
    assert m.raw == PUSHED_MANIFEST
    assert m.is_docker and m.is_image
    assert m.config is not None and m.config.size == 917
    assert [layer.media_type for layer in m.layers] == [mt.DOCKER_LAYER_GZIP]
    assert m.descriptor() == Descriptor(mt.DOCKER_MANIFEST, m.digest, len(PUSHED_MANIFEST))


def test_docker_manifest_builder_matches_docker_push_bytes() -> None:
    m = parse_manifest(PUSHED_MANIFEST)
    assert m.config is not None
    assert build_docker_manifest(m.config, m.layers) == PUSHED_MANIFEST


def test_digest_is_of_the_exact_bytes() -> None:
    compact = json.dumps(json.loads(PUSHED_MANIFEST), separators=(",", ":")).encode()
    m = parse_manifest(compact)
    assert m.raw == compact
    assert str(m.digest) != PUSHED_DIGEST
    assert m.digest == Digest.of(compact)


# raw, content type, expected error
HAZARDS: list[tuple[bytes, str | None, type[Exception]]] = [
    (doc(mediaType=mt.OCI_MANIFEST, config=CONFIG, layers=[], manifests=[]), None, MediaTypeConflict),
    (doc(config=CONFIG, manifests=[ENTRY]), None, MediaTypeConflict),
    (doc(layers=[LAYER], manifests=[ENTRY]), mt.OCI_INDEX, MediaTypeConflict),
    (doc(mediaType=mt.OCI_INDEX, manifests=[]), mt.OCI_MANIFEST, MediaTypeConflict),
    (doc(mediaType=mt.DOCKER_MANIFEST, config=CONFIG, layers=[]), mt.OCI_MANIFEST, MediaTypeConflict),
    (doc(manifests=[ENTRY]), mt.OCI_MANIFEST, MediaTypeConflict),
    (doc(config=CONFIG, layers=[]), mt.DOCKER_MANIFEST_LIST, MediaTypeConflict),
    (doc(mediaType=mt.OCI_INDEX, config=CONFIG), None, MediaTypeConflict),
    (doc(mediaType=mt.OCI_MANIFEST, manifests=[]), None, MediaTypeConflict),
    (json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode(), None, Schema1Unsupported),
    (json.dumps({"schemaVersion": 1}).encode(), mt.DOCKER_SCHEMA1_SIGNED_MANIFEST, Schema1Unsupported),
    (doc(config=CONFIG), mt.DOCKER_SCHEMA1_MANIFEST, Schema1Unsupported),
    (json.dumps({"schemaVersion": 3, "config": CONFIG}).encode(), None, Unsupported),
    (json.dumps({"config": CONFIG}).encode(), None, Unsupported),
    (doc(mediaType="application/vnd.example+json", config=CONFIG), None, Unsupported),
    (doc(), None, DataCorrupt),
    (b"[]", None, DataCorrupt),
    (b"{", None, DataCorrupt),
    (doc(mediaType=mt.OCI_MANIFEST, layers=[]), None, DataCorrupt),  # no config
    (doc(config={**CONFIG, "digest": "sha256:../../x"}), None, DataCorrupt),
    (doc(config={**CONFIG, "digest": "sha256:" + "A" * 64}), None, DataCorrupt),
    (doc(config={**CONFIG, "size": -1}), None, DataCorrupt),
    (doc(config={**CONFIG, "size": "2"}), None, DataCorrupt),
    (doc(config={**CONFIG, "mediaType": 5}), None, DataCorrupt),
    (doc(config=CONFIG, layers={}), None, DataCorrupt),
    (doc(config=CONFIG, annotations={"a": 1}), None, DataCorrupt),
    (doc(manifests=[{**ENTRY, "platform": {"os": 5}}]), None, DataCorrupt),
]


@pytest.mark.parametrize(("raw", "content_type", "error"), HAZARDS, ids=range(len(HAZARDS)))
def test_confusing_documents_are_refused(raw: bytes, content_type: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_manifest_or_index(raw, content_type)


def test_schema1_message_names_the_reference() -> None:
    with pytest.raises(Schema1Unsupported) as info:
        parse_manifest_or_index(json.dumps({"schemaVersion": 1}).encode(), reference="docker.io/library/old:1")
    assert str(info.value) == (
        "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. "
        "Suggest the author of docker.io/library/old:1 to upgrade the image to the OCI Format or Docker Image "
        "manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/"
    )


@pytest.mark.parametrize(
    ("raw", "content_type", "kind", "media_type"),
    [
        (doc(config=CONFIG, layers=[LAYER]), None, Manifest, mt.OCI_MANIFEST),
        (doc(manifests=[ENTRY]), None, Index, mt.OCI_INDEX),
        (doc(manifests=[]), None, Index, mt.OCI_INDEX),
        (doc(config=CONFIG, layers=[]), mt.DOCKER_MANIFEST, Manifest, mt.DOCKER_MANIFEST),
        (doc(mediaType=mt.DOCKER_MANIFEST_LIST, manifests=[ENTRY]), None, Index, mt.DOCKER_MANIFEST_LIST),
        # served with parameters, or as something generic: the document's own type decides
        (doc(mediaType=mt.OCI_INDEX, manifests=[]), mt.OCI_INDEX + "; charset=utf-8", Index, mt.OCI_INDEX),
        (doc(mediaType=mt.OCI_MANIFEST, config=CONFIG), "application/octet-stream", Manifest, mt.OCI_MANIFEST),
    ],
)
def test_kind_comes_from_media_type_then_shape(
    raw: bytes, content_type: str | None, kind: type, media_type: str
) -> None:
    parsed = parse_manifest_or_index(raw, content_type)
    assert type(parsed) is kind
    assert parsed.media_type == media_type
    assert parsed.raw == raw


def test_artifact_manifest_with_empty_layers_subject_annotations() -> None:
    empty = {"mediaType": mt.OCI_EMPTY, "digest": mt.OCI_EMPTY_DIGEST, "size": 2, "data": "e30="}
    subject = {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "3" * 64, "size": 7}
    raw = doc(mediaType=mt.OCI_MANIFEST, artifactType="application/x.sig", config=empty, layers=[],
              subject=subject, annotations={"k": "v"})
    m = parse_manifest(raw)
    assert m.layers == ()
    assert m.artifact_type == "application/x.sig"
    assert m.subject is not None and m.subject.digest == Digest.parse(subject["digest"])
    assert m.annotations == {"k": "v"}
    assert m.config is not None and m.config.data == b"{}"
    assert not m.is_image


def test_index_keeps_unknown_entries_and_nested_indexes() -> None:
    nested = {"mediaType": mt.OCI_INDEX, "digest": "sha256:" + "4" * 64, "size": 300}
    unknown = {"mediaType": "application/vnd.example.thing", "digest": "sha256:" + "5" * 64, "size": 1}
    idx = parse_index(doc(manifests=[ENTRY, nested, unknown]))
    assert [d.media_type for d in idx.manifests] == [mt.OCI_MANIFEST, mt.OCI_INDEX, "application/vnd.example.thing"]
    assert [d.media_type for d in idx.known_manifests] == [mt.OCI_MANIFEST, mt.OCI_INDEX]
    assert idx.manifests[0].platform == Platform("linux", "amd64")


def test_parse_manifest_and_parse_index_refuse_the_other_kind() -> None:
    with pytest.raises(MediaTypeConflict):
        parse_manifest(doc(manifests=[]))
    with pytest.raises(MediaTypeConflict):
        parse_index(doc(config=CONFIG))


def test_size_cap() -> None:
    raw = doc(config=CONFIG, layers=[LAYER] * 10)
    with pytest.raises(TooLarge):
        parse_manifest_or_index(raw, limit=len(raw) - 1)
    assert parse_manifest_or_index(raw, limit=len(raw)).raw == raw
    with pytest.raises(TooLarge):
        parse_manifest_or_index(b" " * (4 * 1024 * 1024 + 1))


# --- descriptors -----------------------------------------------------------------------------------


def test_descriptor_with_data_is_verified() -> None:
    content = b'{"a":1}'
    good = {"mediaType": "x", "digest": str(Digest.of(content)), "size": len(content),
            "data": base64.b64encode(content).decode()}
    assert Descriptor.from_json(good).data == content
    with pytest.raises(DigestMismatch):
        Descriptor.from_json({**good, "data": base64.b64encode(b'{"a":2}').decode()})
    with pytest.raises(SizeMismatch):
        Descriptor.from_json({**good, "size": len(content) + 1})
    with pytest.raises(DataCorrupt):
        Descriptor.from_json({**good, "data": "not base64!"})


def test_sha512_descriptor() -> None:
    content = b"hello"
    d512 = "sha512:" + hashlib.sha512(content).hexdigest()
    desc = Descriptor.from_json({"mediaType": "x", "digest": d512, "size": 5,
                                 "data": base64.b64encode(content).decode()})
    assert desc.digest.algorithm == "sha512"
    with pytest.raises(DataCorrupt):
        Descriptor.from_json({"mediaType": "x", "digest": "sha512:" + "a" * 64, "size": 5})


def test_descriptor_round_trip_keeps_unknown_fields() -> None:
    obj = {"mediaType": mt.OCI_LAYER_GZIP, "digest": "sha256:" + "6" * 64, "size": 3,
           "urls": ["https://example.com/l"], "annotations": {"b": "2", "a": "1"},
           "platform": {"architecture": "arm64", "os": "linux", "variant": "v8", "os.features": ["x"]},
           "artifactType": "application/x", "com.example.custom": {"n": [1, 2]}}
    desc = Descriptor.from_json(obj)
    assert desc.extra == {"com.example.custom": {"n": [1, 2]}}
    assert desc.urls == ("https://example.com/l",)
    assert desc.to_json() == obj
    assert Descriptor.from_json(desc.to_json()) == desc
    assert list(desc.to_json(docker_order=True))[:3] == ["mediaType", "size", "digest"]


def test_descriptor_is_immutable() -> None:
    desc = Descriptor.from_json(LAYER)
    with pytest.raises(AttributeError):
        desc.size = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        desc.annotations["x"] = "y"  # type: ignore[index]


# --- builders --------------------------------------------------------------------------------------


def test_oci_manifest_builder_shape_and_round_trip() -> None:
    config = Descriptor.from_json(CONFIG)
    layer = Descriptor.from_json(LAYER)
    raw = build_oci_manifest(config, [layer], annotations={"z": "1", "a": "<2>"})
    text = raw.decode()
    assert text.startswith('{\n  "schemaVersion": 2,\n  "mediaType": "application/vnd.oci.image.manifest.v1+json",\n  "config": {\n    "mediaType"')
    assert list(json.loads(raw)) == ["schemaVersion", "mediaType", "config", "layers", "annotations"]
    assert list(json.loads(raw)["config"]) == ["mediaType", "digest", "size"]
    assert list(json.loads(raw)["annotations"]) == ["a", "z"]
    assert "\\u003c2\\u003e" in text
    m = parse_manifest(raw)
    assert m.config == config and m.layers == (layer,)
    compact = build_oci_manifest(config, [], indent=None)
    assert b"\n" not in compact and parse_manifest(compact).layers == ()


def test_oci_index_builder() -> None:
    entries = [Descriptor.from_json(ENTRY),
               Descriptor(mt.OCI_MANIFEST, Digest.parse("sha256:" + "7" * 64), 9,
                          annotations={"org.opencontainers.image.ref.name": "latest"})]
    raw = build_oci_index(entries)
    idx = parse_index(raw)
    assert idx.media_type == mt.OCI_INDEX
    assert idx.manifests == tuple(entries)
    assert idx.manifests[1].annotations["org.opencontainers.image.ref.name"] == "latest"
    assert json.loads(raw)["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    assert parse_index(build_oci_index([])).manifests == ()
