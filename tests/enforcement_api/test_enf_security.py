"""Tokens, roles, cities and the rate limit (enforcement_api.core.security)."""

from __future__ import annotations

import time

import pytest

from enforcement_api.core.security import (
    AuthError,
    Forbidden,
    RateLimiter,
    TokenVerifier,
    decode_token,
    issue_token,
)
from tests.enforcement_api.enf_helpers import ISSUER, SECRET, make_token


def test_token_round_trip_carries_officer_role_and_cities():
    principal = decode_token(make_token("warden", "nis", subject="W-17"), [SECRET], ISSUER)
    assert (principal.subject, principal.role, principal.cities) == ("W-17", "warden", {"nis"})


def test_expired_wrong_key_wrong_issuer_and_garbage_are_refused():
    with pytest.raises(AuthError, match="expired"):
        decode_token(make_token("warden", now=time.time() - 7200, ttl_s=60), [SECRET], ISSUER)
    with pytest.raises(AuthError):
        decode_token(make_token("warden", secret="another-key-" * 4), [SECRET], ISSUER)
    with pytest.raises(AuthError):
        decode_token(make_token("warden", issuer="someone-else"), [SECRET], ISSUER)
    with pytest.raises(AuthError):
        decode_token("not.a.jwt", [SECRET], ISSUER)


def test_previous_keys_still_verify_during_rotation():
    old = make_token("inspector", "hradec", secret="old-key-" * 6)
    assert decode_token(old, [SECRET, "old-key-" * 6], ISSUER).role == "inspector"


def test_unknown_role_is_neither_issued_nor_accepted():
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", role="mayor", cities=["nis"], ttl_s=60, issuer=ISSUER)


def test_enf1_role_and_city_are_enforced_and_admin_may_do_everything():
    warden = decode_token(make_token("warden", "nis"), [SECRET], ISSUER)
    warden.require(["warden"], "nis")
    with pytest.raises(Forbidden):
        warden.require(["warden"], "zcs")
    with pytest.raises(Forbidden):
        warden.require(["inspector"], "nis")
    admin = decode_token(make_token("admin", "*"), [SECRET], ISSUER)
    admin.require(["inspector"], "tarnow")
    manager = decode_token(make_token("manager", "*"), [SECRET], ISSUER)
    with pytest.raises(Forbidden):
        manager.require(["warden"], "nis")


def test_verifier_remembers_tokens_but_still_checks_expiry():
    verifier = TokenVerifier([SECRET], ISSUER)
    token = make_token("warden", ttl_s=60)
    assert verifier.verify(token).role == "warden"
    object.__setattr__(verifier._cache[token], "expires_at", time.time() - 1)
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token)


def test_rate_limit_allows_a_burst_then_asks_to_wait_then_refills():
    limiter = RateLimiter(rate_per_s=10, burst=3)
    assert [limiter.allow("t", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.allow("t", now=100.0) == pytest.approx(0.1)
    assert limiter.allow("other", now=100.0) == 0.0
    assert limiter.allow("t", now=100.2) == 0.0
    assert RateLimiter(rate_per_s=0, burst=1).allow("t") == 0.0
