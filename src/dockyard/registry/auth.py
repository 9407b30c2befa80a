"""Authentication at one registry endpoint: anonymous first, then whatever its challenge asks for.

- ``Basic``: resend with the user's credentials.
- ``Bearer``: get a token from the realm — POST with the OAuth2 ``refresh_token`` grant when an identity
  token is held (GET on 404/405), else GET with ``service``, one ``scope`` per scope, ``account`` and Basic
  credentials when there are any. Tokens are cached by (realm, service, sorted scopes) until shortly before
  they expire. ``error="insufficient_scope"`` gets a token for the named scope as well, once.
- The realm must be an http(s) URL, not plain http for an https registry, and not a link-local,
  multicast or unspecified address (hazard 19).
- Credentials go only to the endpoint's own origin; responses from elsewhere (a CDN after a redirect) are
  never treated as challenges (hazard 18).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from ..errors import DataCorrupt
from .challenge import Challenge, find_challenge, parse_challenges
from .credentials import AuthConfig
from .errors import RealmRefused, error_from_response
from .transport import ERROR_BODY_LIMIT, TOKEN_LIMIT, Transport, read_capped, same_origin

if TYPE_CHECKING:
    import httpx

CATALOG_SCOPE = "registry:catalog:*"
SEARCH_SCOPE = "registry:catalog:search"
PULL = ("pull",)
PUSH = ("push", "pull")  # Docker's order
MIN_TOKEN_LIFETIME = 60
_EXPIRY_MARGIN = 5.0  # renew this many seconds before the server's expiry


def repository_scope(repo: str, actions: Sequence[str]) -> str:
    return f"repository:{repo}:{','.join(actions)}"


def split_scope(scope: str) -> tuple[str, str, tuple[str, ...]]:
    """``type:name:actions`` → parts; the name may hold ``host:port``, so type splits at the first
    colon and actions at the last."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, tuple(a for a in actions.split(",") if a)


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float
    refresh_token: str = ""

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - _EXPIRY_MARGIN


def _parse_rfc3339(text: str) -> float | None:
    try:
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        # Python before 3.11 accepts at most 6 fractional digits; Go writes up to 9.
        if "." in text:
            head, _, tail = text.partition(".")
            digits = "".join(ch for ch in tail if ch.isdigit())
            zone = tail[len(digits) :]
            text = f"{head}.{digits[:6]}{zone}"
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def parse_token_response(body: bytes, received_at: float) -> Token:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataCorrupt("the token server's reply is not JSON") from None
    if not isinstance(doc, dict):
        raise DataCorrupt("the token server's reply is not a JSON object")
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise DataCorrupt("authorization server did not include a token in the response")
    lifetime = doc.get("expires_in")
    if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime < MIN_TOKEN_LIFETIME:
        lifetime = MIN_TOKEN_LIFETIME
    issued = _parse_rfc3339(doc["issued_at"]) if isinstance(doc.get("issued_at"), str) else None
    start = issued if issued is not None else received_at
    refresh = doc.get("refresh_token")
    return Token(value, start + float(lifetime), refresh if isinstance(refresh, str) else "")


def validate_realm(realm: str | None, registry_url: str) -> str:
    """Refuse realms that would leak credentials or reach internal services (hazard 19)."""
    if not realm:
        raise RealmRefused("the registry's bearer challenge has no realm")
    parts = urlsplit(realm)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RealmRefused(f"refusing token realm {realm!r}: not an http(s) URL")
    if parts.scheme == "http" and urlsplit(registry_url).scheme == "https":
        raise RealmRefused(f"refusing token realm {realm!r}: plain http for an https registry")
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return realm
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        raise RealmRefused(f"refusing token realm {realm!r}: address {ip} is not allowed")
    return realm


class Authenticator:
    """Per-endpoint authentication state: the last challenge, the token cache, the credentials."""

    def __init__(
        self,
        endpoint_url: str,
        transport: Transport,
        credentials: AuthConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        client_id: str = "docker",
    ) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.transport = transport
        self.credentials = credentials or AuthConfig()
        self.identity_token = self.credentials.identity_token
        self._clock = clock
        self._client_id = client_id
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, str, tuple[str, ...]], Token] = {}
        self._lock = threading.RLock()
        self.token_requests = 0  # how many times a token server was asked (for tests and stats)

    # -- what to send -------------------------------------------------------------------------------
    def headers(self, url: str, scopes: Sequence[str]) -> dict[str, str]:
        """The ``Authorization`` header for a request to ``url`` needing ``scopes`` (empty if none)."""
        if not same_origin(url, self.endpoint_url):
            return {}
        with self._lock:
            challenge = self._challenge
            if challenge is None:
                return {}
            if challenge.scheme == "basic":
                return self._basic_header()
            if challenge.scheme == "bearer":
                token = self._token_for(challenge, scopes)
                return {"Authorization": f"Bearer {token.value}"}
        return {}

    def _basic_header(self) -> dict[str, str]:
        creds = self.credentials
        if not creds.username and not creds.password:
            return {}
        raw = f"{creds.username}:{creds.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}

    # -- learning from a 401 ------------------------------------------------------------------------
    def learn(self, resp: httpx.Response) -> Challenge | None:
        """Record the challenge of a response from this endpoint; ignore everyone else's."""
        if not same_origin(str(resp.url), self.endpoint_url):
            return None
        challenges = parse_challenges(resp.headers.get_list("www-authenticate"))
        chosen = find_challenge(challenges, "bearer") or find_challenge(challenges, "basic")
        if chosen is not None:
            if chosen.scheme == "bearer":
                validate_realm(chosen.realm, self.endpoint_url)
            with self._lock:
                self._challenge = chosen
        return chosen

    def retry_headers(self, resp: httpx.Response, scopes: Sequence[str], sent: Mapping[str, str]) -> dict[str, str] | None:
        """After a 401/403: the headers for one more try, or None when another try cannot help."""
        challenge = self.learn(resp)
        if challenge is None:
            return None
        sent_auth = next((v for k, v in sent.items() if k.lower() == "authorization"), None)
        with self._lock:
            if challenge.scheme == "bearer":
                wanted = list(scopes)
                if challenge.params.get("error") == "insufficient_scope":
                    wanted = _union(wanted, challenge.scopes)
                if sent_auth is not None:
                    # The token we sent was refused; ask for a new one rather than resend it.
                    self._forget(challenge, wanted)
                token = self._token_for(challenge, wanted)
                if wanted != list(scopes):
                    self._tokens[self._key(challenge, scopes)] = token
                new = {"Authorization": f"Bearer {token.value}"}
            else:
                new = self._basic_header()
        if not new or new.get("Authorization") == sent_auth:
            return None
        return new

    # -- tokens -------------------------------------------------------------------------------------
    @staticmethod
    def _key(challenge: Challenge, scopes: Iterable[str]) -> tuple[str, str, tuple[str, ...]]:
        return (challenge.realm or "", challenge.params.get("service", ""), tuple(sorted(set(scopes))))

    def _forget(self, challenge: Challenge, scopes: Iterable[str]) -> None:
        self._tokens.pop(self._key(challenge, scopes), None)

    def _token_for(self, challenge: Challenge, scopes: Sequence[str]) -> Token:
        key = self._key(challenge, scopes)
        cached = self._tokens.get(key)
        if cached is not None and cached.fresh(self._clock()):
            return cached
        token = self.fetch_token(challenge, key[2])
        self._tokens[key] = token
        return token

    def fetch_token(self, challenge: Challenge, scopes: Sequence[str], *, offline: bool = False) -> Token:
        """Ask the realm for a token (no caching); ``offline`` asks for a refresh token (login)."""
        realm = validate_realm(challenge.realm, self.endpoint_url)
        service = challenge.params.get("service", "")
        creds = self.credentials
        if creds.registry_token:
            return Token(creds.registry_token, float("inf"))
        if self.identity_token:
            token = self._fetch_oauth(realm, service, scopes)
            if token is not None:
                return token
        return self._fetch_get(realm, service, scopes, offline=offline)

    def _fetch_oauth(self, realm: str, service: str, scopes: Sequence[str]) -> Token | None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.identity_token,
            "service": service,
            "client_id": self._client_id,
        }
        if scopes:
            form["scope"] = " ".join(scopes)
        self.token_requests += 1
        received = self._clock()
        resp = self.transport.request(
            "POST",
            realm,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(form).encode(),
        )
        if resp.status_code in (404, 405):
            resp.close()
            return None  # the token server has no OAuth2 endpoint: use GET
        token = self._token_from(resp, received)
        if token.refresh_token and token.refresh_token != self.identity_token:
            self.identity_token = token.refresh_token
        return token

    def _fetch_get(self, realm: str, service: str, scopes: Sequence[str], *, offline: bool) -> Token:
        params: list[tuple[str, str]] = []
        creds = self.credentials
        if creds.username:
            params.append(("account", creds.username))
        if offline:
            params += [("client_id", self._client_id), ("offline_token", "true")]
        if service:
            params.append(("service", service))
        params += [("scope", s) for s in scopes]
        sep = "&" if urlsplit(realm).query else "?"
        url = realm + (sep + urlencode(params) if params else "")
        headers: dict[str, str] = {}
        if creds.username and creds.password:
            headers.update(self._basic_header())
        self.token_requests += 1
        received = self._clock()
        resp = self.transport.request("GET", url, headers=headers)
        return self._token_from(resp, received)

    def _token_from(self, resp: httpx.Response, received: float) -> Token:
        if resp.status_code != 200:
            body = read_capped(resp, ERROR_BODY_LIMIT, "token error body")
            raise error_from_response(
                resp.status_code, body, www_authenticate=resp.headers.get_list("www-authenticate")
            )
        return parse_token_response(read_capped(resp, TOKEN_LIMIT, "token response"), received)

    @property
    def challenge(self) -> Challenge | None:
        return self._challenge


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    out: list[str] = []
    for s in (*first, *second):
        if s not in out:
            out.append(s)
    return out

