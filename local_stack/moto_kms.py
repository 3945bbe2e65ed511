"""KMS keys whose key pair is made when first used: moto makes an RSA key pair for every key it creates,
symmetric ones included, and DynamoDB's default encryption creates one for each backend. That was a
third of provisioning a test's stack from the template, for a key pair nothing signs with. Signing,
verifying and GetPublicKey answer as before, from a pair made on their first call."""

from typing import Any

from moto.kms import models
from moto.kms.utils import generate_private_key


class _PairMadeWhenUsed:
    """Stands for moto's private key of a KMS key; the real one is made, once, by the first use."""

    def __init__(self, key_spec: str) -> None:
        self._key_spec = key_spec
        self._pair: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._pair is None:
            self._pair = generate_private_key(self._key_spec)
        return getattr(self._pair, name)


def install() -> None:
    models.generate_private_key = _PairMadeWhenUsed  # type: ignore[assignment]
