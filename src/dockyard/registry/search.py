"""Hub-style search: ``GET /v1/search?q=<term>&n=<limit>`` on an index (``docker search``).

The term may name another index as ``host/term``; a leading ``library/`` is dropped. Results keep the
fields Docker shows; filters (``is-official``, ``stars``) are the caller's, applied client-side.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from ..errors import DataCorrupt, InvalidArgument
from .credentials import AuthConfig
from .errors import ConnectionFailed, RegistryError, error_from_response
from .hosts import HUB_INDEX_URL
from .transport import DOCUMENT_LIMIT, ERROR_BODY_LIMIT, Transport, read_capped

DEFAULT_LIMIT = 25
HUB_INDEX_NAME = "docker.io"


@dataclass(frozen=True)
class SearchResult:
    name: str
    description: str
    star_count: int
    is_official: bool
    is_automated: bool


def split_search_term(term: str) -> tuple[str, str]:
    """(index, remote term): ``host/term`` names another index when ``host`` looks like one."""
    if "://" in term:
        raise InvalidArgument('Invalid repository name (ex: "registry.domain.tld/myrepos")')
    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        index, remote = first, rest
    else:
        index, remote = HUB_INDEX_NAME, term
    if index in ("docker.io", "index.docker.io") and remote.startswith("library/"):
        remote = remote[len("library/") :]
    return index, remote


def parse_results(raw: bytes) -> list[SearchResult]:
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataCorrupt("the search reply is not JSON") from None
    items = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise DataCorrupt("the search reply has no results list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        stars = item.get("star_count", 0)
        out.append(
            SearchResult(
                name=str(item.get("name", "")),
                description=str(item.get("description") or ""),
                star_count=stars if isinstance(stars, int) and not isinstance(stars, bool) else 0,
                is_official=item.get("is_official") is True,
                is_automated=item.get("is_automated") is True,
            )
        )
    return out


def search(
    term: str,
    *,
    limit: int | None = None,
    transport: Transport | None = None,
    credentials: AuthConfig | None = None,
) -> list[SearchResult]:
    """Search the index the term names (Docker Hub unless ``host/…``)."""
    if limit is not None and not 1 <= limit <= 100:
        raise InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
    transport = transport or Transport()
    index, remote = split_search_term(term)
    if index == HUB_INDEX_NAME:
        bases = [HUB_INDEX_URL]
    else:
        bases = [f"https://{index}"] + ([f"http://{index}"] if transport.hosts.is_insecure(index) else [])
    params = {"q": remote, "n": str(limit or DEFAULT_LIMIT)}
    headers = {"X-Docker-Token": "true"}
    creds = credentials or AuthConfig()
    last: Exception | None = None
    for base in bases:
        request_headers = dict(headers)
        if creds.identity_token:
            from .auth import SEARCH_SCOPE, Authenticator
            from .client import RegistryClient

            client = RegistryClient(index, transport=transport, credentials=creds, push=True)
            try:
                auth: Authenticator = client.authenticator
                challenge = auth.challenge
                if challenge is not None and challenge.scheme == "bearer":
                    token = auth.fetch_token(challenge, [SEARCH_SCOPE])
                    request_headers["Authorization"] = f"Bearer {token.value}"
            except (RegistryError, ConnectionFailed):
                pass  # search anonymously, as Docker does when the token exchange fails
        elif creds.username and creds.password:
            raw = f"{creds.username}:{creds.password}".encode()
            request_headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        try:
            resp = transport.request("GET", f"{base}/v1/search?{urlencode(params)}", headers=request_headers)
        except ConnectionFailed as exc:
            last = exc
            continue
        if resp.status_code != 200:
            raise error_from_response(resp.status_code, read_capped(resp, ERROR_BODY_LIMIT, "error body"))
        return parse_results(read_capped(resp, DOCUMENT_LIMIT, "search results"))
    assert last is not None
    raise last
