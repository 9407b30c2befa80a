"""Acceptance check of the local image commands: images moved from the reference Docker engine
(``docker save`` | ``dockyard load``) give the same stdout, stderr and exit code for ``images`` (flags, every
filter, many templates), ``image inspect``, ``history``, ``tag``, ``rmi`` and ``image prune``.

Scenario, built once on the engine under a unique ``dypar<run>`` prefix and label ``dypar.run=<run>``:
a busybox rootfs (with a file naming the run, so no layer is shared with anyone else's images) imported with
labels; classic-builder images FROM it (RUN layers, ENV/LABEL/WORKDIR/CMD/HEALTHCHECK steps, so untagged
intermediate parents exist), tagged into several repositories incl. ``localhost:5000/…`` and a deep
``a/b/…`` name; a dangling image; a digest-only image (pushed to a local docker-registry, removed, pulled
back by digest). Everything but the digest-only image travels through ``docker save`` (tags, and the
intermediates and the dangling image by ID, so the parent links travel too) into ``dockyard load``; the
digest-only image is pulled by dockyard from the same registry.

Every docker ``images`` command carries ``--filter label=dypar.run=<run>``: the engine is shared, and the
label keeps other people's images out of the comparison. The engine is Docker 20.10; where its daemon's
wording differs from v28 (cli.md §3) dockyard must print the v28 wording, checked separately.
Cleanup removes only images carrying the run's label and the tags made here.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.parity import Result, Sides, assert_same
from tests.helpers.registry import RegistryServer, start_registry
from tests.helpers.rootfs import make_busybox_rootfs, tar_directory, tar_of_files

pytestmark = pytest.mark.interop

RUN = uuid.uuid4().hex[:8]
P = f"dypar{RUN}"
LABEL = f"dypar.run={RUN}"
ONLY_MINE = ["--filter", f"label={LABEL}"]

APP_DOCKERFILE = """\
FROM {p}-base:1
ENV APP=1 GREETING="hello world"
RUN mkdir -p /app && echo hello > /app/hello.txt
LABEL tier=app version=1.0
WORKDIR /app
RUN dd if=/dev/zero of=/app/blob bs=1024 count=300 2>/dev/null
HEALTHCHECK --interval=30s --timeout=3s CMD true
CMD ["sh", "-c", "cat /app/hello.txt"]
"""

WEB_DOCKERFILE = """\
FROM {p}-app:1
LABEL tier=web
RUN echo "a line	with a tab and a rather long command text to be ellipsised" > /app/web.txt
EXPOSE 8080
USER nobody
"""


class Scenario:
    def __init__(self, sides: Sides, registry: RegistryServer) -> None:
        self.sides = sides
        self.registry = registry
        self.tags: list[str] = []
        self.ids: dict[str, str] = {}  # role → full image ID (sha256:…), the same on both sides
        self.dig_ref = ""  # registry/name@sha256:… of the digest-only image


def _docker_build(sides: Sides, ctx: Path, dockerfile: str, tag: str) -> None:
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile.format(p=P))
    sides.must_docker("build", "-q", "-t", tag, str(ctx))


def _build(work: Path, sides: Sides, registry: RegistryServer) -> Scenario:
    s = Scenario(sides, registry)
    rootfs = make_busybox_rootfs(work / "rootfs")
    (rootfs / "etc" / "dypar-run").write_text(RUN + "\n")
    base_tar = tar_directory(rootfs, work / "base.tar")
    sides.must_docker("import", "-c", f"LABEL {LABEL}", "-c", "LABEL tier=base", "-c", 'CMD ["sh"]',
                      "-m", "busybox <base>", str(base_tar), f"{P}-base:1")
    s.tags.append(f"{P}-base:1")
    time.sleep(1.1)  # distinct Created seconds between images: Docker's order on ties is random
    _docker_build(sides, work / "app", APP_DOCKERFILE, f"{P}-app:1")
    time.sleep(1.1)
    _docker_build(sides, work / "web", WEB_DOCKERFILE, f"a/b/{P}-deep:1")
    for src, dst in ((f"{P}-base:1", f"busybox:{P}"), (f"{P}-app:1", f"{P}-app:latest"),
                     (f"{P}-app:1", f"localhost:5000/{P}-app:v1"), (f"{P}-app:1", f"a/{P}:x"),
                     (f"a/b/{P}-deep:1", f"{P}-web:latest"), (f"a/b/{P}-deep:1", f"{P}-web:2")):
        sides.must_docker("tag", src, dst)
    s.tags += [f"{P}-app:1", f"a/b/{P}-deep:1", f"busybox:{P}", f"{P}-app:latest", f"localhost:5000/{P}-app:v1",
               f"a/{P}:x", f"{P}-web:latest", f"{P}-web:2"]
    # dangling: an imported image whose tag moved to a later import
    time.sleep(1.1)
    for i, content in enumerate(("first\n", "second\n")):
        tar = tar_of_files(work / f"dang{i}.tar", {"etc/dang": content * 1000})
        sides.must_docker("import", "-c", f"LABEL {LABEL}", "-c", f"LABEL tier=dang{i}", str(tar), f"{P}-dang:1")
        if i == 0:
            s.ids["dangling"] = sides.must_docker("image", "inspect", "-f", "{{.Id}}", f"{P}-dang:1").strip()
            time.sleep(1.1)
    s.tags.append(f"{P}-dang:1")
    # digest-only: pushed, removed, pulled back by digest
    time.sleep(1.1)
    pushed = f"{registry.host}/{P}-dig:1"
    _docker_build(sides, work / "dig", f"FROM {P}-base:1\nLABEL tier=dig\nRUN echo dig > /dig\n", pushed)
    sides.must_docker("push", pushed)
    s.dig_ref = sides.must_docker("image", "inspect", "-f", "{{index .RepoDigests 0}}", pushed).strip()
    sides.must_docker("rmi", pushed)
    sides.must_docker("pull", "-q", s.dig_ref)
    for role, ref in (("base", f"{P}-base:1"), ("app", f"{P}-app:1"), ("web", f"{P}-web:2"), ("dig", s.dig_ref),
                      ("dang2", f"{P}-dang:1")):
        s.ids[role] = sides.must_docker("image", "inspect", "-f", "{{.Id}}", ref).strip()
    # the intermediates: every labelled image that is neither tagged nor the dangling/digest-only one
    every = sides.must_docker("images", "-a", "-q", "--no-trunc", *ONLY_MINE).split()
    known = set(s.ids.values())
    s.ids.update({f"mid{i}": full for i, full in enumerate(sorted(set(every) - known))})
    # move everything to dockyard: tags and intermediates in one archive (parent links travel only
    # between images saved together), the dangling image by ID in a second one
    all_tar, dang_tar = work / "all.tar", work / "dang.tar"
    mids = [v for k, v in s.ids.items() if k.startswith("mid")]
    sides.must_docker("save", "-o", str(all_tar), *[t for t in s.tags], *mids)
    sides.must_docker("save", "-o", str(dang_tar), s.ids["dangling"])
    sides.must_dockyard("load", "-q", "-i", str(all_tar))
    sides.must_dockyard("load", "-q", "-i", str(dang_tar))
    sides.must_dockyard("pull", "-q", s.dig_ref)
    return s


def _cleanup(sides: Sides, s: Scenario | None) -> None:
    mine = sides.docker("images", "-a", "-q", "--no-trunc", *ONLY_MINE).out.split()
    tagged = [line for line in sides.docker("images", "--format", "{{.Repository}}:{{.Tag}}", *ONLY_MINE).out.split()
              if not line.endswith("<none>")]
    if tagged:
        sides.docker("rmi", "-f", *tagged)
    if mine:
        sides.docker("rmi", "-f", *mine)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from tests.conftest import docker_engine_host

    host = docker_engine_host()
    if host is None or shutil.which("docker") is None:
        pytest.skip("no Docker engine running here")
    work = tmp_path_factory.mktemp("parity")
    sides = Sides(host, work / "store")
    if sides.docker("version", "--format", "{{.Server.Version}}").code != 0:
        pytest.skip("reference engine not reachable")
    registry = start_registry(work / "registry")
    s: Scenario | None = None
    try:
        s = _build(work, sides, registry)
        yield s
    finally:
        _cleanup(sides, s)
        registry.stop()


def _images(s: Scenario, args: list[str], *, table: bool) -> None:
    docker_runs, mine = s.sides.both("images", *[a.replace("{p}", P) for a in args], *ONLY_MINE)
    # Docker's row order is random within an image (repositories come from a map) and between images
    # created in the same second; the order of distinct images is checked in test_images_order.
    assert_same(docker_runs, mine, unordered=True, header_lines=1 if table else 0)


IMAGES_TABLES = [
    [], ["-a"], ["--digests"], ["-a", "--digests"], ["--no-trunc"], ["-a", "--no-trunc", "--digests"],
    ["{p}-app"], ["{p}-app:1"], ["a/b/{p}-deep"], ["localhost:5000/{p}-app"], ["{p}-nothing"],
    ["-f", "dangling=true"], ["-f", "dangling=false"], ["-a", "-f", "dangling=true"],
    ["-f", "label=tier"], ["-f", "label=tier=app"], ["-f", "label=tier=base"], ["-f", "label=version=1.0"],
    ["-f", "label=nope"], ["-f", "label=tier", "-f", "label=version"], ["-a", "-f", "label=tier=web"],
    ["-f", "Label=tier=dang1"],
    ["-f", "before={p}-web:2"], ["-a", "-f", "before={p}-app:latest"], ["-f", "since={p}-base:1"],
    ["-a", "-f", "since={p}-app:1"], ["-f", "since={p}-web:2", "-f", "before={p}-dang:1"],
    ["-f", "reference=*/*"], ["-f", "reference=a/*"], ["-f", "reference=a/*/*"], ["-f", "reference=busybox:*"],
    ["-f", "reference={p}-app:*"], ["-f", "reference={p}*"], ["-f", "reference=*:1"],
    ["-f", "reference=localhost:5000/*"], ["-f", "reference=*/*/*:1"], ["-f", "reference={P}*"],
    ["-f", "reference={p}-app:1", "-f", "reference=busybox:*"], ["--digests", "-f", "reference=*/*"],
    ["-f", "reference=a/*", "{p}-app"],
    ["--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}"],
    ["--format", "table {{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}\\t{{.VirtualSize}}"],
    ["--format", "table {{.Repository}}:{{.Tag}}"],
    ["--format", "table {{.Repository}}", "--digests"],
    ["--format", "table {{.SharedSize}}\\t{{.UniqueSize}}\\t{{.Containers}}\\t{{.Digest}}"],
    ["--format", "table {{pad .Tag 2 2}}\\t{{upper .ID}}"],
    ["--format", "table {{json .}}"],
    ["--format", "table"], ["--format", ""], ["-q", "--format", "table {{.Tag}}"],
]


@pytest.mark.parametrize("args", IMAGES_TABLES, ids=[" ".join(a) or "default" for a in IMAGES_TABLES])
def test_images_tables(scenario: Scenario, args: list[str]) -> None:
    _images(scenario, [a.replace("{P}", P.upper()) for a in args], table=True)


IMAGES_LINES = [
    ["-q"], ["-a", "-q"], ["-q", "--no-trunc"], ["-q", "-f", "dangling=true"], ["-q", "-f", "label=tier=app"],
    ["--format", "json"], ["--format", "{{json .}}"], ["--format", "{{.ID}}\\t{{.Size}}"],
    ["--format", "{{.CreatedAt}}"], ["--format", "{{.VirtualSize}}"], ["--format", "{{upper .Repository}}"],
    ["--format", "{{pad .Tag 1 1}}|"], ["--format", "{{truncate .ID 4}}"],
    ["--format", '{{printf "%-20s" .Repository}}|'],
    ["--format", '{{if eq .Tag "<none>"}}untagged {{.ID}}{{end}}'],
    ["--format", "{{.Repository}}@{{.Digest}}"], ["-a", "--format", "{{.Repository}}@{{.Digest}} {{.ID}}"],
    ["--format", "{{lower .Repository}} {{title .Tag}}"], ["--format", '{{split .Repository "/"}}'],
    ["--format", '{{join (split .Repository "/") "+"}}'], ["--format", "{{len .Repository}}"],
    ["--format", '{{.Repository | printf "%q"}}'], ["--format", "TABLE {{.ID}}"], ["--format", " table {{.ID}}"],
    ["--format", "{{.SharedSize}} {{.UniqueSize}} {{.Containers}}"], ["--format", "{{json .Tag}}"],
    ["--format", "raw"], ["--digests", "--format", "raw"], ["--format", "{{with .Digest}}<{{.}}>{{end}}"],
    ["--format", '{{range split .Repository "/"}}[{{.}}]{{end}}'], ["--format", "{{.CreatedSince}}"],
    ["--digests", "--format", "{{.Tag}} {{.Digest}}"], ["--format", "{{.ID}}", "--no-trunc"],
    # errors: templates, filters, flags, arguments
    ["--format", "{{.Nope}}"], ["--format", "{{.ID"], ["--format", "{{end}}"], ["--format", "{{truncate .ID}}"],
    ["--format", "table {{.Nope}}"], ["--format", "{{nofunc .ID}}"],
    ["-f", "reference=["],
    ["-f", "before={p}-missing"], ["-f", "since=sha256:0123"], ["-f", "foo"], ["--bogus"], ["-z"],
    ["ls"], ["history"]
]


@pytest.mark.parametrize("args", IMAGES_LINES, ids=[" ".join(a) for a in IMAGES_LINES])
def test_images_lines(scenario: Scenario, args: list[str]) -> None:
    _images(scenario, args, table=False)


def v28(r: Result) -> Result:
    """The 20.10 daemon's wording turned into v28's where cli.md §3 lists a difference, and the 28.2.2
    client's "SRun" typo into the "Run" of newer clients (dockyard follows the fix, cli.md §1.1)."""
    err = r.err.replace("Error response from daemon: Invalid filter '", "Error response from daemon: invalid filter '")
    err = err.replace("\nSRun '", "\nRun '")
    err = re.sub(r"no such image: [^\n]*?: (No such image: )", r"\1", err)
    return Result(r.code, r.out, err)


def test_images_too_many_arguments(scenario: Scenario) -> None:
    docker_runs, mine = scenario.sides.both("images", "a", "b")
    assert "\nSRun 'docker images --help'" in docker_runs[0].err  # the 28.2.2 typo
    assert_same([v28(r) for r in docker_runs], mine)


@pytest.mark.parametrize("flag", ["label!=x", "bogus=1", "dangling=maybe", "Bogus=1"])
def test_images_filter_errors_use_v28_wording(scenario: Scenario, flag: str) -> None:
    docker_runs, mine = scenario.sides.both("images", "-q", "-f", flag, *ONLY_MINE)
    assert docker_runs[0].err.startswith("Error response from daemon: Invalid filter '")  # 20.10
    assert mine.err.startswith("Error response from daemon: invalid filter '")  # v28
    assert_same([v28(r) for r in docker_runs], mine)


@pytest.mark.parametrize(("value", "same_as"), [("1", "true"), ("0", "false")])
def test_images_dangling_accepts_v28_booleans(scenario: Scenario, value: str, same_as: str) -> None:
    """v28 reads the value with GetBoolOrDefault (1/0/true/false, any case); 20.10 wanted true|false."""
    refused = scenario.sides.docker("images", "-f", f"dangling={value}", *ONLY_MINE)
    assert (refused.code, refused.err) == (1, f"Error response from daemon: Invalid filter 'dangling=[{value}]'\n")
    docker_runs = [scenario.sides.docker("images", "-a", "-f", f"dangling={same_as}", *ONLY_MINE)]
    mine = scenario.sides.dockyard("images", "-a", "-f", f"dangling={value}", *ONLY_MINE)
    docker_runs.append(scenario.sides.docker("images", "-a", "-f", f"dangling={same_as}", *ONLY_MINE))
    assert_same(docker_runs, mine, unordered=True, header_lines=1)


def test_images_order(scenario: Scenario) -> None:
    """Distinct images come newest first on both sides (one line per image; rows of one image collapsed)."""

    def order(r: Result) -> list[str]:
        seen: list[str] = []
        for line in r.out.split():
            if not seen or seen[-1] != line:
                seen.append(line)
        return seen

    argv = ["images", "--format", "{{.ID}}", *ONLY_MINE]
    d, y = scenario.sides.docker(*argv), scenario.sides.dockyard(*argv)
    assert order(y) == order(d)
    assert len(order(d)) == 6


def _created_ns(s: Scenario, ref: str) -> str:
    return s.sides.must_docker("image", "inspect", "-f", "{{.Created}}", ref).strip()


@pytest.mark.parametrize("when", ["10m", "1h30m", "{app}", "{app+1s}", "{base}", "2000-01-01", "{now}"])
def test_images_until_filter(scenario: Scenario, when: str) -> None:
    """`until` is newer than the 20.10 engine (it answers `Invalid filter 'until'`): the expected rows are the
    engine's unfiltered rows whose image was created strictly before the given time (moby folds `until`
    into the `before` bound, which is exclusive)."""
    import datetime as dt

    s = scenario
    created = {
        line.split()[0]: dt.datetime.fromisoformat(line.split()[1].replace("Z", "+00:00"))
        for line in s.sides.must_docker("images", "--no-trunc", "--format", "{{.ID}}", *ONLY_MINE).split("\n")
        if line
        for line in [f"{line} {_created_ns(s, line)}"]
    }
    now = dt.datetime.now(dt.timezone.utc)
    app = created[s.ids["app"]]
    # the engine's own nanosecond times: an image created exactly at `until` is not listed
    points = {"{app}": _created_ns(s, s.ids["app"]),
              "{app+1s}": f"{int((app + dt.timedelta(seconds=1)).timestamp())}",
              "{base}": _created_ns(s, s.ids["base"]).replace("Z", "+00:00"),
              "{now}": f"{now.timestamp():.3f}"}
    value = points.get(when, when)
    if when in ("10m", "1h30m"):
        limit = now - (dt.timedelta(minutes=10) if when == "10m" else dt.timedelta(minutes=90))
    elif when == "2000-01-01":
        limit = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    else:
        limit = dt.datetime.fromtimestamp(float(value), dt.timezone.utc) if when in ("{app+1s}", "{now}") \
            else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    rows = s.sides.must_docker("images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", "--no-trunc", *ONLY_MINE)
    expected = sorted(line for line in rows.splitlines() if created[line.split()[0]] < limit)
    engine = s.sides.docker("images", "-q", "-f", f"until={value}", *ONLY_MINE)
    assert (engine.code, engine.err) == (1, "Error response from daemon: Invalid filter 'until'\n")
    mine = s.sides.dockyard("images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", "--no-trunc",
                            "-f", f"until={value}", *ONLY_MINE)
    assert (mine.code, mine.err) == (0, "")
    assert sorted(mine.out.splitlines()) == expected


def test_images_until_bad_value(scenario: Scenario) -> None:
    mine = scenario.sides.dockyard("images", "-q", "-f", "until=abc", *ONLY_MINE)
    assert (mine.code, mine.out) == (1, "")
    assert mine.err == 'Error response from daemon: failed to parse value as time or duration: "abc"\n'


# --- inspect ------------------------------------------------------------------------------------------

_DRIVER_PATH = re.compile(r'"(LowerDir|MergedDir|UpperDir|WorkDir)": ?"[^"]*"')
_TAG_TIME = re.compile(r'"LastTagTime": ?"(?!0001-01-01T00:00:00Z)[^"]*"')


def _inspect_normalised(r: Result, *, retagged: bool = False) -> Result:
    """GraphDriver paths name the engine's overlay2 directories, which dockyard does not have; LastTagTime
    is when the engine tagged the image, while dockyard's tags were made by `load` later. Both are
    replaced; a never-tagged image's zero LastTagTime stays and must match, except for an image that was
    tagged on the engine and lost its tag before `save` (``retagged``): dockyard never saw that tag."""
    pattern = re.compile(r'"LastTagTime": ?"[^"]*"') if retagged else _TAG_TIME
    out = pattern.sub('"LastTagTime": "<tag time>"', _DRIVER_PATH.sub(r'"\1": "<path>"', r.out))
    return Result(r.code, out, r.err)


INSPECT_ROLES = ["base", "app", "web", "dig", "dangling", "dang2", "mid0", "mid5"]


@pytest.mark.parametrize("role", INSPECT_ROLES)
def test_inspect_default(scenario: Scenario, role: str) -> None:
    ref = scenario.ids[role]
    docker_runs, mine = scenario.sides.both("image", "inspect", ref)
    retagged = role == "dangling"
    assert_same([_inspect_normalised(r, retagged=retagged) for r in docker_runs],
                _inspect_normalised(mine, retagged=retagged))


def test_inspect_by_names_and_json_format(scenario: Scenario) -> None:
    docker_runs, mine = scenario.sides.both("image", "inspect", f"{P}-web:latest", scenario.dig_ref, f"busybox:{P}")
    assert_same([_inspect_normalised(r) for r in docker_runs], _inspect_normalised(mine))
    docker_runs, mine = scenario.sides.both("image", "inspect", "-f", "json", f"{P}-app:1")
    norm = [_inspect_normalised(r) for r in (*docker_runs, mine)]
    assert_same(norm[:2], norm[2])


INSPECT_TEMPLATES = [
    "{{.Config.Env}}", "{{json .Config}}", "{{.RootFS.Layers}}", "{{index .RepoTags 0}}", "{{.Config.Labels}}",
    "{{range .RepoTags}}[{{.}}]{{end}}", "{{.Id}} {{.Parent}} {{.Size}} {{.VirtualSize}}", "{{.Config.Healthcheck}}",
    "{{json .Config.Healthcheck}}", "{{.Config.WorkingDir}} {{.Config.User}} {{.Config.Cmd}}",
    "{{.Config.ExposedPorts}}", "{{json .RepoDigests}}", "{{.Comment}}|{{.Author}}|{{.DockerVersion}}",
    "{{.Created}}", "{{.Os}}/{{.Architecture}}", "{{json .ContainerConfig.Cmd}}", "{{len .RootFS.Layers}}",
    "{{index .Config.Labels \"tier\"}}", "{{.Nope}}", "{{.Config.Nope}}", "{{.Id", "{{end}}", "json",
]


@pytest.mark.parametrize("template", INSPECT_TEMPLATES)
def test_inspect_templates(scenario: Scenario, template: str) -> None:
    docker_runs, mine = scenario.sides.both("image", "inspect", "-f", template, f"{P}-web:2", f"{P}-app:1",
                                            scenario.ids["dangling"])
    norm = [_inspect_normalised(r, retagged=True) for r in (*docker_runs, mine)]
    assert_same(norm[:2], norm[2])


def test_inspect_parse_error_exit_64(scenario: Scenario) -> None:
    docker_runs, mine = scenario.sides.both("image", "inspect", "-f", "{{.Id", f"{P}-app:1")
    assert docker_runs[0].code == 64
    assert_same(docker_runs, mine)


def test_inspect_missing_operand_v28_wording(scenario: Scenario) -> None:
    args = ("image", "inspect", f"{P}-app:1", f"nosuch-{P}", f"{P}-base:1", "nosuch2:9")
    docker_runs, mine = scenario.sides.both(*args)
    # 20.10: "no such image: X: No such image: X:latest"; v28: "No such image: X:latest" (cli.md §2.6)
    assert f"Error response from daemon: no such image: nosuch-{P}: No such image" in docker_runs[0].err
    assert mine.err == (f"Error response from daemon: No such image: nosuch-{P}:latest\n"
                        "Error response from daemon: No such image: nosuch2:9\n")
    assert_same([_inspect_normalised(v28(r)) for r in docker_runs], _inspect_normalised(mine))
    docker_runs, mine = scenario.sides.both("image", "inspect", "-f", "{{.Id}}", f"nosuch-{P}")
    assert_same([v28(r) for r in docker_runs], mine)


# --- history ------------------------------------------------------------------------------------------

HISTORY_ARGS = [
    [], ["--no-trunc"], ["-H=false"], ["-q"], ["-q", "--no-trunc"], ["--human=false", "--no-trunc"],
    ["--format", "json"], ["--format", "{{json .}}"], ["--format", "table {{.ID}}\\t{{.CreatedBy}}\\t{{.Size}}"],
    ["--format", "{{.ID}}|{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}|{{.Comment}}"],
    ["-H=false", "--format", "{{.CreatedSince}} {{.Size}}"], ["--format", "table {{.CreatedAt}}\\t{{.Comment}}"],
    ["--format", "{{truncate .CreatedBy 10}}"], ["--format", "{{.Nope}}"], ["--format", "{{.ID"],
]
HISTORY_REFS = ["{p}-web:2", "{p}-app:latest", "{p}-base:1", "{dangling}", "{dig}", "{mid5}"]


# every flag set on the deepest image; the main ones on the others (time budget)
HISTORY_CASES = [(a, HISTORY_REFS[0]) for a in HISTORY_ARGS] + [
    (a, r) for r in HISTORY_REFS[1:] for a in ([], ["-q"], ["-H=false"], ["--format", "json"])
]


@pytest.mark.parametrize(("args", "ref"), HISTORY_CASES, ids=[f"{' '.join(a) or 'default'} {r}" for a, r in HISTORY_CASES])
def test_history(scenario: Scenario, args: list[str], ref: str) -> None:
    target = ref.replace("{p}", P)
    for role in ("dangling", "dig", "mid5"):
        target = target.replace("{" + role + "}", scenario.ids[role] if role != "dig" else scenario.dig_ref)
    docker_runs, mine = scenario.sides.both("history", *args, target)
    assert_same(docker_runs, mine)


@pytest.mark.parametrize("args", [[f"nosuch-{P}"], [], ["a", "b"], ["--bogus", "x"]])
def test_history_errors(scenario: Scenario, args: list[str]) -> None:
    docker_runs, mine = scenario.sides.both("history", *args)
    assert_same(docker_runs, mine)


def test_history_uppercase_name_v28_wording(scenario: Scenario) -> None:
    engine = scenario.sides.docker("history", "UPPER")
    assert engine.err == "Error response from daemon: invalid reference format: repository name must be lowercase\n"
    mine = scenario.sides.dockyard("history", "UPPER")  # v28 names the path (cli.md §1.7)
    assert (mine.code, mine.out, mine.err) == (1, "", "Error response from daemon: invalid reference format: "
                                                      "repository name (library/UPPER) must be lowercase\n")


# --- tag ----------------------------------------------------------------------------------------------

H64 = "0123456789abcdef" * 4
TAG_TARGETS = [
    # valid
    f"{P}-t", f"{P}-t:1", f"{P}-t:latest", f"{P}-t:UPPER_tag.x-y", f"{P}-t:{'a' * 128}", f"{P}-t:_x",
    f"{P}__x:1", f"{P}--x:1", f"{P}.x:1", f"{P}-t/a/b/c/d:1", f"localhost/{P}:1", f"localhost:5000/{P}/x:y",
    f"example.com/{P}:1", f"example.com:443/{P}/a:b", f"DYR.example.com/{P}:x", f"docker.io/library/{P}-hub:1",
    f"index.docker.io/{P}-idx:1", f"docker.io/{P}/ns:1", f"[::1]:5000/{P}:1", f"127.0.0.1:5000/{P}:1",
    f"{P}-t/{'b' * 200}:1", f"{P}-t:0", f"a.b-c_d/{P}:1", f"{P}-t:x.y.z",
    # invalid, client side
    "", ":", f"{P}:", f"{P}:-x", f"{P}:.x", f"{P}:{'a' * 129}", P.upper(), f"Dy{P}", f"{P}___x", f"{P}.-x",
    f"-{P}", f"{P}-", f"{P}@sha256:{H64}", f"{P}:1@sha256:{H64}", f"{P}@sha256:abc", H64, f"{P}/{'a' * 250}",
    f"{P}//x", f"/{P}", f"{P}/", f"{P} x", f"{P}:a b", f"http://{P}", f"{P}:t:t", f"localhost:abc/{P}",
    f"{P}@sha512:{'a' * 128}", f"{P}@md5:{'a' * 32}", f"{P}@sha256:{H64.upper()}", f"{P}@sha256:{H64[:-1]}",
    f"{P}!x", f"{P}/UP", f"docker.io/{P.upper()}/x", f"{P}\\x", f"{'a' * 248}", f"{'a' * 247}x/y", "a/" * 130 + "a",
    f"{P}:{'é'}", f"{P}..x",
]


# The 20.10 daemon re-parses the target with an older reference grammar: no IPv6 hosts, and the 255-character
# limit counted with "docker.io/"; a v28 daemon accepts both (cli.md §3).
V28_ACCEPTS = {
    f"[::1]:5000/{P}:1": "Error response from daemon: invalid reference format\n",
    f"{'a' * 247}x/y": "Error response from daemon: repository name must not be more than 255 characters\n",
}


def test_tag_targets(scenario: Scenario) -> None:
    """Each target on both sides: the same exit code and messages (client-side checks, the 28.2.2 client's
    wording on both); then the same set of tags on the base image; then rmi of the new tags prints the same
    Untagged lines."""
    s = scenario
    made: list[str] = []
    failures = []
    for target in TAG_TARGETS:
        d = s.sides.docker("tag", f"{P}-base:1", target)
        y = s.sides.dockyard("tag", f"{P}-base:1", target)
        if target in V28_ACCEPTS:
            assert d.err == V28_ACCEPTS[target]  # the 20.10 daemon refuses what the 28 client let through
            assert (y.code, y.out, y.err) == (0, "", "")
            assert s.sides.dockyard("rmi", target).code == 0
            continue
        if (d.code, d.out, d.err) != (y.code, y.out, y.err):
            failures.append((target, d, y))
        if d.code == 0:
            made.append(target)
    assert not failures, "\n".join(f"{t!r}: docker {d} / dockyard {y}" for t, d, y in failures)
    assert len(TAG_TARGETS) >= 60 and 15 < len(made) < len(TAG_TARGETS) - 15
    docker_runs, mine = s.sides.both("images", "--format", "{{.Repository}}:{{.Tag}}", "-f", "label=tier=base",
                                     *ONLY_MINE)
    assert_same(docker_runs, mine, unordered=True)
    assert_same([s.sides.docker("rmi", *made)], s.sides.dockyard("rmi", *made))


@pytest.mark.parametrize("source", ["nosuch-{P}", "{P}-app", "{id12}", "{idfull}", "{id4}", "UPPER", "{P}@sha256:x"])
def test_tag_sources(scenario: Scenario, source: str) -> None:
    app = scenario.ids["app"]
    src = (source.replace("{P}", P).replace("{id12}", app[7:19]).replace("{idfull}", app)
           .replace("{id4}", app[7:11]))
    target = f"{P}-src:{abs(hash(source)) % 1000}"
    d = scenario.sides.docker("tag", src, target)
    y = scenario.sides.dockyard("tag", src, target)
    assert (y.code, y.out, y.err) == (d.code, d.out, d.err)
    if d.code == 0:
        assert_same([scenario.sides.docker("rmi", target)], scenario.sides.dockyard("rmi", target))


# --- rmi and prune: the same steps on both copies of the scenario (the image IDs are the same) ---------

def test_rmi_then_prune(scenario: Scenario) -> None:
    """Runs last: it takes the scenario apart. Removal order of several images comes from a Go map walk
    in prune, so prune bodies are compared unordered."""
    s = scenario
    ids = s.ids
    steps: list[tuple[list[str], bool]] = [
        (["rmi", f"{P}-web:latest"], False),                       # one tag of several
        (["rmi", ids["app"][7:19]], False),                        # ID in several repositories: conflict
        (["rmi", "-f", ids["base"][7:19]], False),                 # untags all, then: has children
        (["rmi", f"{P}-base:1"], False),                           # (already untagged) not found
        (["rmi", ids["dangling"]], False),                         # deleted, with its layer
        (["rmi", "--no-prune", f"a/b/{P}-deep:1", f"{P}-web:2"], False),
        (["rmi", f"nosuch-{P}", f"{P}-dang:1", "nosuch2:9"], False),
        (["rmi", "-f", f"nosuch-{P}", "nosuch2:9"], False),
        (["rmi", s.dig_ref], False),
        (["image", "prune", "--filter", f"label={LABEL}"], False),  # prompt, answered no
        (["image", "prune", "-f", "--filter", f"label={LABEL}", "--filter", "until=1h"], False),
        (["image", "prune", "-f", "--filter", f"label={LABEL}"], True),
        (["image", "prune", "-f", "--filter", f"label={LABEL}", "--filter", "reference=x"], False),
        (["image", "prune", "-a", "-f", "--filter", f"label={LABEL}", "--filter", "label=tier=app"], True),
        (["images", "-a", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", *ONLY_MINE], True),
        (["image", "prune", "-a", "-f", "--filter", f"label={LABEL}"], True),
        (["images", "-a", *ONLY_MINE], False),
    ]
    for argv, unordered in steps:
        stdin = "n\n" if argv[:2] == ["image", "prune"] and "-f" not in argv else None
        d = s.sides.docker(*argv, stdin=stdin)
        y = s.sides.dockyard(*argv, stdin=stdin)
        if argv[:2] == ["image", "prune"] and "reference=x" in argv:
            d = v28(d)
        try:
            assert_same([v28(d)], y, unordered=unordered)
        except AssertionError as err:
            raise AssertionError(f"step {' '.join(argv)}:\n{err}") from None
