"""WWW-Authenticate parsing (RFC 7235) as registries send it."""

from __future__ import annotations

import pytest

from dockyard.registry.challenge import find_challenge, parse_challenges

pytestmark = pytest.mark.unit


def test_distribution_bearer_challenge_with_space_separated_scopes() -> None:
    header = (
        'Bearer realm="https://auth.example/token",service="reg.example",'
        'scope="repository:foo/bar:pull,push repository:other/repo:pull"'
    )
    [challenge] = parse_challenges([header])
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.example/token"
    assert challenge.params["service"] == "reg.example"
    assert challenge.scopes == ("repository:foo/bar:pull,push", "repository:other/repo:pull")


@pytest.mark.parametrize("scheme", ["Basic", "BASIC", "basic", "bAsIc"])
def test_scheme_is_case_insensitive(scheme: str) -> None:
    [challenge] = parse_challenges([f'{scheme} realm="r"'])
    assert challenge.scheme == "basic"
    assert find_challenge([challenge], "Basic") is challenge


def test_several_challenges_in_one_header_and_across_headers() -> None:
    challenges = parse_challenges(
        ['Basic realm="one", Bearer realm="https://t/x", service=svc', 'Negotiate, Digest realm="d", nonce="n"']
    )
    assert [c.scheme for c in challenges] == ["basic", "bearer", "negotiate", "digest"]
    assert challenges[1].params == {"realm": "https://t/x", "service": "svc"}
    assert challenges[3].params == {"realm": "d", "nonce": "n"}


def test_quoted_strings_keep_commas_and_unescape_backslashes() -> None:
    [challenge] = parse_challenges([r'Bearer realm="a, \"quoted\" \\ realm", error="insufficient_scope"'])
    assert challenge.realm == 'a, "quoted" \\ realm'
    assert challenge.params["error"] == "insufficient_scope"


def test_parameter_names_are_case_insensitive_and_whitespace_tolerated() -> None:
    [challenge] = parse_challenges(['Bearer  Realm = "https://r" ,  SERVICE=s'])
    assert challenge.params == {"realm": "https://r", "service": "s"}


def test_token68_form() -> None:
    [first, second] = parse_challenges(["Negotiate YIIB+w==, Basic realm=x"])
    assert first.token68 == "YIIB+w==" and first.params == {}
    assert second.scheme == "basic" and second.realm == "x"


def test_empty_and_garbage_headers_give_no_challenges() -> None:
    assert parse_challenges(["", " , ", '"oops"']) == []
