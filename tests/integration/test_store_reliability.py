"""Reliability of import/tag/rmi/prune as separate OS processes on one store, and of an import killed
with SIGKILL at random moments (hazards 21, 22, 23): afterwards ``dockyard system check`` passes, no tag
names a missing image, and the killed import succeeds when repeated."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from dockyard.store import Store
from tests.helpers.cli import DOCKYARD, Result, run_cli_process
from tests.helpers.rootfs import tar_of_files

pytestmark = pytest.mark.integration

WORKER = textwrap.dedent(
    """
    import contextlib, io, random, sys
    from dockyard.cli.main import run

    worker, iterations, tars = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    rng = random.Random(worker)

    def cli(*argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run("dockyard", list(argv))
        return code, out.getvalue(), err.getvalue()

    failures = []
    for i in range(iterations):
        tar = tars[rng.randrange(len(tars))]
        ref = f"dyrel-w{worker}:{rng.randrange(3)}"
        code, out, err = cli("import", "-m", f"w{worker} i{i}", tar, ref)
        if code != 0 or not out.startswith("sha256:"):
            failures.append(("import", code, err))
        roll = rng.random()
        if roll < 0.3:
            # tag an image another worker may be deleting right now: success or No such image
            code, out, err = cli("tag", f"dyrel-w{rng.randrange(4)}:{rng.randrange(3)}", "dyrel-shared:latest")
            if code not in (0, 1) or (code == 1 and "No such image" not in err):
                failures.append(("tag", code, err))
        elif roll < 0.6:
            code, out, err = cli("rmi", f"dyrel-w{rng.randrange(4)}:{rng.randrange(3)}")
            if code not in (0, 1) or (code == 1 and "No such image" not in err and "conflict" not in err):
                failures.append(("rmi", code, err))
        elif roll < 0.8:
            code, out, err = cli("image", "prune", "-f", *(["-a"] if rng.random() < 0.5 else []))
            # a prune already running elsewhere is refused; anything else must succeed
            if code != 0 and "prune" not in err:
                failures.append(("prune", code, err))
        else:
            code, out, err = cli("images", "-q")
            if code != 0:
                failures.append(("images", code, err))
    for failure in failures:
        print(repr(failure))
    sys.exit(1 if failures else 0)
    """
)


def _env(store_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DOCKYARD_ROOT"] = str(store_root)
    return env


def _system_check(store_root: Path) -> Result:
    return run_cli_process("system", "check", env=_env(store_root), timeout=60)


def _assert_consistent(store_root: Path) -> None:
    result = _system_check(store_root)
    assert result.code == 0, result.out + result.err
    with Store.open(store_root) as store:
        errors = [p for p in store.check() if p.severity == "error"]
        assert errors == []
        for tag in store.meta.all_tags():
            image = store.meta.get_image(tag.image_id)
            assert image is not None, tag
            for layer in image.layers:
                assert store.content.has(layer.blob)


def test_processes_importing_tagging_removing_and_pruning_at_once(store_root: Path, tmp_path: Path) -> None:
    tars = [
        str(tar_of_files(tmp_path / f"t{i}.tar", {f"f{i}": os.urandom(2000 + i), "shared": "same in every tar"}))
        for i in range(5)
    ]
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(w), "8", *tars], env=_env(store_root),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out + err
    _assert_consistent(store_root)
    # what survives is usable: every listed image inspects, and its history names its import
    with Store.open(store_root) as store:
        ids = [image.id for image in store.meta.list_images()]
    for image_id in ids:
        result = run_cli_process("history", "-q", "--format", "{{.Comment}}", image_id, env=_env(store_root),
                                 timeout=60)
        assert result.code == 0 and result.out.startswith("w"), result.err


def _big_tar(tmp_path: Path) -> Path:
    rng = random.Random(7)
    files = {f"data/blob{i}": rng.randbytes(1 << 20) for i in range(12)}
    return tar_of_files(tmp_path / "big.tar", files)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    try:
        for offset in range(0, len(data), 64 * 1024):
            proc.stdin.write(data[offset : offset + 64 * 1024])  # type: ignore[union-attr]
            time.sleep(0.003)  # ~0.6 s of streaming: room to be killed mid-ingest
        proc.stdin.close()  # type: ignore[union-attr]
    except (BrokenPipeError, ValueError, OSError):
        pass  # killed while we were writing


def test_import_killed_at_random_points(store_root: Path, tmp_path: Path) -> None:
    tar = _big_tar(tmp_path)
    data = tar.read_bytes()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    rng = random.Random(2024)
    # start-up takes ~0.3 s and streaming ~0.6 s; kill anywhere from start-up to just after the commit
    for delay in sorted(rng.uniform(0.05, 1.1) for _ in range(8)):
        proc = subprocess.Popen([*DOCKYARD, "import", "-", "dyrel-kill:latest"], env=_env(store_root),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        feeder = threading.Thread(target=_feed, args=(proc, data))
        feeder.start()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        feeder.join(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            stream.close()  # type: ignore[union-attr]
        _assert_consistent(store_root)
        with Store.open(store_root) as store:
            tagged = store.meta.image_for_tag("docker.io/library/dyrel-kill:latest")
            if tagged is not None:  # killed after it finished: then it is whole
                assert [str(d) for d in store.meta.get_image(tagged).diff_ids] == [diff_id]

    result = run_cli_process("import", "-", "dyrel-kill:latest", env=_env(store_root), stdin=data, timeout=120)
    assert result.code == 0, result.err
    image_id = result.out.strip()
    inspect = run_cli_process("image", "inspect", "-f", "{{.Id}} {{json .RootFS.Layers}}", "dyrel-kill",
                              env=_env(store_root), timeout=60)
    assert inspect.out == f"{image_id} {json.dumps([diff_id])}\n"
    _assert_consistent(store_root)
    # what the killed runs left behind is garbage that gc takes, not something that blocks
    with Store.open(store_root) as store:
        store.gc()
        assert [p for p in store.check() if p.severity == "error"] == []
        assert store.content.has(store.meta.get_image(image_id).layers[0].blob)
