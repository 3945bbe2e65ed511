"""Sign-in tokens for the live feed: short-lived HS256 JWTs that carry the API key's read scope.

Browsers cannot send headers on a WebSocket, so the key itself never travels in a URL: the client trades
it (POST /auth/token) for a token that admits new connections for at most 15 minutes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt

from attendance.domain.keys import ApiKey, Scope

ISSUER = "attendance-sync"
AUDIENCE = "attendance-sync/feed"
FEED_SCOPES = frozenset({Scope.READ, Scope.ADMIN})
MAX_LIFETIME = timedelta(minutes=15)
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token admits nobody: missing, malformed, forged, expired, or not for the feed."""


class MissingScope(Exception):
    """A genuine token (or key) without the read or admin scope."""


@dataclass(frozen=True)
class FeedPass:
    """Who a valid token admits."""

    key_id: str
    scopes: frozenset[Scope]
    devices: frozenset[str] | None  # None: every device
    expires_at: datetime


class TokenSigner:
    def __init__(self, signing_key: Callable[[], str | None], lifetime: timedelta = MAX_LIFETIME) -> None:
        if not timedelta(0) < lifetime <= MAX_LIFETIME:
            raise ValueError(f"a feed token lives at most {MAX_LIFETIME}")
        self._signing_key = signing_key
        self._lifetime = lifetime

    def issue(self, key: ApiKey, now: datetime) -> tuple[str, datetime]:
        scopes = key.scopes & FEED_SCOPES
        if not scopes:
            raise MissingScope("the live feed needs a key with the 'read' or 'admin' scope")
        expires = now.replace(microsecond=0) + self._lifetime
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": key.key_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid4().hex,
            "scope": sorted(scopes),
        }
        if key.devices is not None:
            claims["devices"] = sorted(key.devices)
        key = self._signing_key()
        if key is None:
            raise ValueError("no signing key: the token issuer creates one when there is none")
        return jwt.encode(claims, key, algorithm=_ALGORITHM), expires

    def verify(self, token: str | None) -> FeedPass:
        if not token:
            raise InvalidToken("no token: connect with ?token= from POST /auth/token")
        key = self._signing_key()
        if key is None:
            raise InvalidToken("no token has been issued yet: get one from POST /auth/token")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired: get a new one from POST /auth/token") from error
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"the token is not valid: {error}") from error
        return _pass_from(claims)


def _pass_from(claims: dict[str, Any]) -> FeedPass:
    known = {scope.value for scope in Scope}
    scopes = frozenset(Scope(scope) for scope in claims.get("scope", []) if scope in known)
    if not scopes & FEED_SCOPES:
        raise MissingScope("the token does not carry the 'read' or 'admin' scope")
    devices = claims.get("devices")
    return FeedPass(
        key_id=str(claims["sub"]),
        scopes=scopes,
        devices=frozenset(devices) if devices is not None else None,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )
