"""Who may ask what: JWT bearer tokens (HS256, pyjwt), roles, cities, per-token rate limit.

A token carries `sub` (the officer's or system's id), `role` (one of `ROLES`), `cities`
(the city ids the holder may see, or `["*"]` for all), `iss`, `iat`, `exp` and `jti`.
Roles and what they may do:

| role       | may use                                                        |
|------------|----------------------------------------------------------------|
| warden     | plate checks (ENF-1)                                           |
| inspector  | ticket, phone and card checks (HKR-9, TRN-10)                  |
| ingest     | `POST /v1/events` (gateways, validators, apps)                 |
| manager    | nothing here: dashboards read ClickHouse, not people's plates  |
| admin      | everything                                                     |

Missing, malformed, wrongly signed or expired tokens are 401; a valid token of the wrong
role or for another city is 403; too many requests on one token is 429.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import jwt

Role = Literal["warden", "inspector", "manager", "ingest", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ALL_CITIES = "*"
ALGORITHM = "HS256"


class AuthError(Exception):
    """The request is not authenticated (HTTP 401)."""


class Forbidden(Exception):
    """Authenticated, but not allowed to do this (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    """The holder of a verified token."""

    subject: str
    role: str
    cities: frozenset[str]
    token_id: str
    expires_at: float  # epoch seconds

    def may_see(self, city: str) -> bool:
        return ALL_CITIES in self.cities or city in self.cities

    def require(self, roles: Iterable[str], city: str | None = None) -> None:
        allowed = set(roles) | {"admin"}
        if self.role not in allowed:
            raise Forbidden(f"role {self.role!r} may not do this (needs {' or '.join(roles)})")
        if city is not None and not self.may_see(city):
            raise Forbidden(f"this token is not valid for city {city!r}")


def issue_token(
    secret: str,
    *,
    subject: str,
    role: str,
    cities: Sequence[str],
    ttl_s: int,
    issuer: str,
    now: float | None = None,
) -> str:
    """Sign a token for `subject` (operations: `python -m enforcement_api token`)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not subject:
        raise ValueError("subject (officer or system id) is required")
    if not cities:
        raise ValueError("at least one city (or '*') is required")
    if ttl_s <= 0:
        raise ValueError("ttl must be positive")
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": subject,
        "role": role,
        "cities": sorted(set(cities)),
        "iss": issuer,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secrets_: Sequence[str], issuer: str) -> Principal:
    """Verify a token against the current key and any previous ones; AuthError if not."""
    last_error: Exception | None = None
    for key in secrets_:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            break
        except jwt.InvalidSignatureError as exc:
            last_error = exc
            continue
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
    else:
        raise AuthError(f"invalid token: {last_error}")
    role = claims.get("role")
    cities = claims.get("cities")
    if role not in ROLES:
        raise AuthError("invalid token: unknown role")
    if not isinstance(cities, list) or not all(isinstance(c, str) for c in cities):
        raise AuthError("invalid token: cities must be a list of city ids")
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        cities=frozenset(cities),
        token_id=str(claims.get("jti") or claims["sub"]),
        expires_at=float(claims["exp"]),
    )


class TokenVerifier:
    """Verifies bearer tokens, remembering verified ones until they expire.

    Signature checks cost tens of microseconds; a warden's handheld sends the same token
    all shift, so verified tokens are kept (bounded) and only their expiry re-checked.
    """

    MAX_CACHED = 10_000

    def __init__(self, secrets_: Sequence[str], issuer: str) -> None:
        self._secrets = tuple(secrets_)
        self._issuer = issuer
        self._cache: dict[str, Principal] = {}

    def verify(self, token: str) -> Principal:
        principal = self._cache.get(token)
        if principal is None:
            principal = decode_token(token, self._secrets, self._issuer)
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[token] = principal
        if principal.expires_at <= time.time():
            self._cache.pop(token, None)
            raise AuthError("token expired")
        return principal


class RateLimiter:
    """A token bucket per token id: `rate` requests per second, bursts up to `burst`."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = max(1, burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """0.0 if allowed, else the seconds to wait before retrying."""
        if self.rate <= 0:
            return 0.0
        moment = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), moment))
            tokens = min(float(self.burst), tokens + (moment - last) * self.rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, moment)
                return 0.0
            self._buckets[key] = (tokens, moment)
            return (cost - tokens) / self.rate
