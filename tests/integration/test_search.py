"""``dockyard search`` (cli.md §2.4) against an in-process Hub-style v1 index, and the catalog fallback
and ``--list-tags`` on a real docker-registry."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers.registry import RegistryServer
from tests.helpers.archives import layer_tar
from tests.helpers.cli import run_cli
from tests.helpers.registry_images import put_image

pytestmark = pytest.mark.integration

RESULTS = [
    {"name": "library/busybox", "description": "Busybox base image.", "star_count": 3200, "is_official": True,
     "is_automated": False},
    {"name": "someone/busybox-long", "description": "This description is definitely longer than forty-five\ncolumns",
     "star_count": 12, "is_official": False, "is_automated": False},
    {"name": "few/stars", "description": "", "star_count": 3, "is_official": False, "is_automated": False},
]


class FakeIndex:
    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        self.headers: list[dict[str, str]] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/v1/search":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                query = parse_qs(parts.query)
                index.queries.append(query)
                index.headers.append(dict(self.headers))
                body = json.dumps({"query": query["q"][0], "num_results": len(RESULTS), "results": RESULTS}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    fake = FakeIndex()
    yield fake
    fake.stop()


def test_default_table(index: FakeIndex, store_root: Path) -> None:
    code, out, err = run_cli("search", f"{index.host}/busybox")
    assert (code, err) == (0, "")
    assert out == (
        "NAME                   DESCRIPTION                                     STARS     OFFICIAL\n"
        "library/busybox        Busybox base image.                             3200      [OK]\n"
        "someone/busybox-long   This description is definitely longer than f\u2026   12        \n"
        "few/stars                                                              3         \n"
    )
    assert index.queries == [{"q": ["busybox"], "n": ["25"]}]
    assert index.headers[0].get("X-Docker-Token") == "true"


def test_filters_limit_no_trunc_and_formats(index: FakeIndex, store_root: Path) -> None:
    term = f"{index.host}/busybox"
    code, out, _ = run_cli("search", "--limit", "2", "-f", "stars=5", "-f", "stars=10", "--format", "{{.Name}}", term)
    assert (code, out) == (0, "library/busybox\nsomeone/busybox-long\n")
    assert index.queries[-1]["n"] == ["2"]
    assert run_cli("search", "-f", "is-official=true", "--format", "{{.Name}}", term)[1] == "library/busybox\n"
    code, out, _ = run_cli("search", "--no-trunc", "--format", "{{.Description}}", term)
    assert out.splitlines()[1] == "This description is definitely longer than forty-five columns"
    code, out, _ = run_cli("search", "--format", "json", "-f", "is-official=true", term)
    assert out == ('{"Description":"Busybox base image.","IsOfficial":"true","Name":"library/busybox",'
                   '"StarCount":"3200"}\n')
    code, out, err = run_cli("search", "-f", "is-automated=true", term)
    assert out.splitlines() == ["NAME      DESCRIPTION   STARS     OFFICIAL"]
    assert err.startswith('WARNING: the "is-automated" filter is deprecated')


def test_search_errors(index: FakeIndex, store_root: Path) -> None:
    term = f"{index.host}/busybox"
    assert run_cli("search", "--limit", "101", term) == (
        1, "", "Error response from daemon: limit 101 is outside the range of [1, 100]\n"
    )
    assert run_cli("search", "-f", "stars=x", term) == (1, "", "Error response from daemon: invalid filter 'stars=x'\n")
    assert run_cli("search", "-f", "color=red", term) == (1, "", "Error response from daemon: invalid filter 'color'\n")
    code, _, err = run_cli("search", "--format", "{{.IsAutomated}}", term)
    assert code == 1 and "can't evaluate field IsAutomated" in err
    assert index.queries  # the errors above came after asking, as the daemon does


def test_catalog_fallback_and_list_tags(registry: RegistryServer, store_root: Path) -> None:
    for repo in ("dy/alpha", "dy/beta", "other/alphabet"):
        put_image(registry, repo, "1", [layer_tar({"f": repo.encode()})])
    put_image(registry, "dy/alpha", "2", [layer_tar({"g": b"2"})])
    code, out, err = run_cli("search", "--format", "{{.Name}}", f"{registry.host}/alpha")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["dy/alpha", "other/alphabet"]
    code, out, _ = run_cli("search", "--list-tags", f"{registry.host}/dy/alpha")
    assert (code, sorted(out.splitlines())) == (0, ["1", "2"])
    code, _, err = run_cli("search", "--list-tags", f"{registry.host}/dy/nothing")
    assert code == 1 and f"repository {registry.host}/dy/nothing not found" in err
