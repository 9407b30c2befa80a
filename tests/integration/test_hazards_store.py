"""Store hazards the other suites leave open (hazards.md 21: disk full; 24: tampering caught by push
and named by ``system check``). The disk really fills: the store lives on a small tmpfs mounted here."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.cli.main import run
from dockyard.store import Store
from tests.helpers.archives import Img, layer_tar, legacy_archive
from tests.helpers.registry import RegistryServer
from tests.helpers.hazards import BASE, seed, state
from tests.helpers.cli import run_cli
from tests.helpers.registry_images import registry_client

pytestmark = pytest.mark.integration


# -- 21: ENOSPC ---------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    root = mnt / "store"
    monkeypatch.setenv("DOCKYARD_ROOT", str(root))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_during_load_leaves_a_consistent_store(
    small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(small_disk, tmp_path)
    capsys.readouterr()
    before = state(small_disk)
    big = Img([layer_tar({"big": os.urandom(4 << 20)})], ["dyhz/big:1"])  # more than the disk holds
    path = tmp_path / "big.tar"
    path.write_bytes(legacy_archive([big]).build())
    code = run("dockyard", ["load", "-i", str(path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "no space left on device" in err, err
    assert state(small_disk) == before
    with Store.open(small_disk) as store:
        assert not store.meta.image_exists(big.id)
        assert store.content.ingests() == []  # the partial write is gone, its space given back
    # Space is back: a load that fits still works.
    fits = Img([layer_tar({"small": os.urandom(200 << 10)})], ["dyhz/fits:1"])
    path.write_bytes(legacy_archive([fits]).build())
    assert run("dockyard", ["load", "-q", "-i", str(path)]) == 0
    tags, _ = state(small_disk)
    assert ("docker.io/dyhz/fits:1", fits.id) in tags and set(before[0]) < set(tags)


# -- 24: a tampered blob is caught by push and named by system check ----------------------------------
def test_tampered_blob_fails_push_and_check_names_it(
    registry: RegistryServer, store_root: Path, tmp_path: Path
) -> None:
    seed(store_root, tmp_path)
    with Store.open(store_root) as store:
        layer = store.meta.get_image(BASE.id).layers[0].blob
        path = store.content.path(layer)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # written read-only
    assert path.stat().st_mode & 0o222 == 0
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size: existence and size alone would not notice
    path.write_bytes(bytes(data))
    target = f"{registry.host}/dyhz/tampered:1"
    assert run_cli("tag", "dyhz/pre:1", target)[0] == 0
    code, out, err = run_cli("push", target)
    assert code == 1
    assert "digest mismatch" in err and str(layer) in err, err
    client = registry_client(registry)
    try:
        assert client.head_manifest("dyhz/tampered", "1") is None  # nothing half-pushed under the tag
    finally:
        client.transport.close()
    code, out, err = run_cli("system", "check")
    assert code == 1
    assert any(line.startswith(f"error: corrupt-blob: {layer}: ") for line in out.splitlines()), out
