"""Hand-made image archives for load tests: exact control over entries, order, links and compression."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import tarfile
from dataclasses import dataclass, field


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    """A small layer tar of regular files (sorted, mtime 0, root-owned)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def compress(data: bytes, how: str | None) -> bytes:
    if how is None:
        return data
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    if how == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ)
    if how == "bzip2":
        return bz2.compress(data)
    raise ValueError(how)


def image_config(diff_ids: list[str], *, created: str = "2024-01-02T03:04:05.123456789Z", cmd: str = "sh") -> bytes:
    doc = {
        "architecture": "amd64",
        "config": {"Cmd": [cmd], "Env": ["PATH=/bin"]},
        "created": created,
        "history": [{"created": created, "created_by": f"layer {i}"} for i in range(len(diff_ids))],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass
class ArchiveBuilder:
    """Entries in the order added; duplicates, links and odd names are allowed on purpose."""

    entries: list[tuple[str, str, bytes | str]] = field(default_factory=list)

    def file(self, name: str, data: bytes) -> ArchiveBuilder:
        self.entries.append((name, "file", data))
        return self

    def json(self, name: str, value: object) -> ArchiveBuilder:
        return self.file(name, json.dumps(value).encode())

    def symlink(self, name: str, target: str) -> ArchiveBuilder:
        self.entries.append((name, "symlink", target))
        return self

    def hardlink(self, name: str, target: str) -> ArchiveBuilder:
        self.entries.append((name, "hardlink", target))
        return self

    def build(self, outer: str | None = None, *, trailing: bytes = b"") -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, kind, payload in self.entries:
                info = tarfile.TarInfo(name)
                info.mode = 0o644
                if kind == "file":
                    assert isinstance(payload, bytes)
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
                else:
                    info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                    info.linkname = str(payload)
                    tar.addfile(info)
        return compress(buf.getvalue() + trailing, outer)


@dataclass
class Img:
    layers: list[bytes]  # plain layer tars
    tags: list[str] | None = None
    layer_compression: str | None = None
    cmd: str = "sh"

    @property
    def diff_ids(self) -> list[str]:
        return [sha(layer) for layer in self.layers]

    @property
    def config(self) -> bytes:
        return image_config(self.diff_ids, cmd=self.cmd)

    @property
    def id(self) -> str:
        return sha(self.config)

    @property
    def blobs(self) -> list[bytes]:
        return [compress(layer, self.layer_compression) for layer in self.layers]


def legacy_archive(images: list[Img], *, manifest_last: bool = True) -> ArchiveBuilder:
    """Docker 20.10's layout: ``<id>/layer.tar``, ``<config hex>.json``, manifest.json."""
    b = ArchiveBuilder()
    manifest = []
    written: set[str] = set()
    for img in images:
        paths = []
        for i, blob in enumerate(img.blobs):
            d = f"{hashlib.sha256((img.id + str(i)).encode()).hexdigest()}"
            paths.append(f"{d}/layer.tar")
            if d not in written:
                written.add(d)
                b.file(f"{d}/VERSION", b"1.0").file(f"{d}/json", b"{}").file(f"{d}/layer.tar", blob)
        b.file(f"{img.id[7:]}.json", img.config)
        manifest.append({"Config": f"{img.id[7:]}.json", "RepoTags": img.tags, "Layers": paths})
    if not manifest_last:
        b.entries.insert(0, ("manifest.json", "file", json.dumps(manifest).encode()))
    else:
        b.json("manifest.json", manifest)
    return b


def skopeo_archive(img: Img) -> ArchiveBuilder:
    """skopeo's docker-archive: ``<diffid>.tar`` plus ``<v1id>/layer.tar`` symlinks to it."""
    b = ArchiveBuilder()
    paths = []
    for i, blob in enumerate(img.blobs):
        hexd = sha(blob)[7:]
        b.file(f"{hexd}.tar", blob)
        v1 = hashlib.sha256(f"v1-{i}-{hexd}".encode()).hexdigest()
        b.symlink(f"{v1}/layer.tar", f"../{hexd}.tar")
        paths.append(f"{v1}/layer.tar")
    b.file(f"{img.id[7:]}.json", img.config)
    b.json("manifest.json", [{"Config": f"{img.id[7:]}.json", "RepoTags": img.tags, "Layers": paths}])
    return b


def oci_manifest(img: Img) -> bytes:
    types = {None: "", "gzip": "+gzip", "zstd": "+zstd"}
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": img.id, "size": len(img.config)},
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar" + types[img.layer_compression],
                "digest": sha(blob),
                "size": len(blob),
            }
            for blob in img.blobs
        ],
    }
    return json.dumps(doc).encode()


def oci_archive(
    images: list[tuple[Img, dict[str, str]]], *, nested: bool = False, layout_version: str = "1.0.0"
) -> ArchiveBuilder:
    """A plain OCI archive: oci-layout, index.json (descriptor annotations given per image), blobs/.
    With ``nested`` each entry of index.json points at an index holding the manifest."""
    b = ArchiveBuilder()
    descriptors = []
    blobs: dict[str, bytes] = {}
    for img, annotations in images:
        manifest = oci_manifest(img)
        blobs[sha(img.config)] = img.config
        blobs[sha(manifest)] = manifest
        for blob in img.blobs:
            blobs[sha(blob)] = blob
        desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest), "size": len(manifest),
                "platform": {"architecture": "amd64", "os": "linux"}}
        if nested:
            index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                "manifests": [desc]}).encode()
            blobs[sha(index)] = index
            desc = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(index), "size": len(index)}
        else:
            desc = dict(desc)
            del desc["platform"]
        if annotations:
            desc["annotations"] = annotations
        descriptors.append(desc)
    b.json("oci-layout", {"imageLayoutVersion": layout_version})
    for digest, data in sorted(blobs.items()):
        b.file(f"blobs/sha256/{digest[7:]}", data)
    b.json("index.json", {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": descriptors})
    return b


def gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes (a few KB per 100 MB)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as g:
        chunk = bytes(1 << 20)
        left = size
        while left > 0:
            g.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return out.getvalue()


def multi_platform_archive(
    name: str, archs: list[str], *, manifest_json: str | None = None, missing: tuple[str, ...] = ()
) -> tuple[ArchiveBuilder, dict[str, str]]:
    """An OCI archive of one index (an image per architecture) named ``name`` the containerd way.

    ``manifest_json`` adds a manifest.json listing only that architecture's image, as ``ctr images
    export`` writes it; the blobs of the ``missing`` architectures are left out, as an export without
    ``--all-platforms`` does. Returns the builder and arch → image ID."""
    b = ArchiveBuilder()
    descriptors = []
    ids: dict[str, str] = {}
    paths: dict[str, tuple[str, str]] = {}
    for arch in archs:
        layer = layer_tar({"etc/arch": arch.encode()})
        config = json.loads(image_config([sha(layer)]))
        config["architecture"] = arch
        raw = json.dumps(config).encode()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(raw), "size": len(raw)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}],
        }).encode()
        if arch not in missing:
            for blob in (layer, raw, manifest):
                b.file(f"blobs/sha256/{sha(blob)[7:]}", blob)
        descriptors.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
                            "size": len(manifest), "platform": {"os": "linux", "architecture": arch}})
        ids[arch] = sha(raw)
        paths[arch] = (f"blobs/sha256/{sha(raw)[7:]}", f"blobs/sha256/{sha(layer)[7:]}")
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": descriptors}).encode()
    b.file(f"blobs/sha256/{sha(index)[7:]}", index)
    b.file("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    full = f"docker.io/{name}"  # ``name`` is a familiar repo:tag on Docker Hub
    b.json("index.json", {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(index), "size": len(index),
        "annotations": {"io.containerd.image.name": full, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]},
    }]})
    if manifest_json is not None:
        config_path, layer_path = paths[manifest_json]
        b.json("manifest.json", [{"Config": config_path, "RepoTags": [name], "Layers": [layer_path]}])
    return b, ids
