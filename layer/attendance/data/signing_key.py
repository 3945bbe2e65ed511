"""The live feed's signing key in SSM, apart from the feed's tables and stream records: the sign-in
function needs only this."""

import secrets
from contextlib import suppress

from attendance.data.aws import StoreUnavailable, client, unavailable_on_aws_errors

KEY_CACHE_SECONDS = 300


class SigningKey:
    """The feed's signing key, an SSM SecureString read through Powertools' cache (a rotation is in use
    within five minutes). With `create_if_missing`, the first read of a key that does not exist yet puts
    a random one; of two racing first reads, the second finds the first one's key."""

    def __init__(self, parameter_name: str, create_if_missing: bool = False) -> None:
        self._name = parameter_name
        self._create = create_if_missing

    def __call__(self) -> str | None:
        """The key; None when there is none yet (no token was ever issued, so none can be valid)."""
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            return str(parameters.get_parameter(self._name, decrypt=True, max_age=KEY_CACHE_SECONDS))
        except GetParameterError as error:
            if "ParameterNotFound" not in str(error):
                raise StoreUnavailable(f"reading the feed's signing key failed: {error}") from error
        return self._put_new() if self._create else None

    def _put_new(self) -> str:
        ssm = client("ssm")
        with unavailable_on_aws_errors("creating the feed's signing key"):
            with suppress(ssm.exceptions.ParameterAlreadyExists):
                ssm.put_parameter(
                    Name=self._name,
                    Value=secrets.token_urlsafe(48),
                    Type="SecureString",
                    Description="attendance-sync live feed: signs sign-in tokens (HS256)",
                )
            reply = ssm.get_parameter(Name=self._name, WithDecryption=True)
        return str(reply["Parameter"]["Value"])
