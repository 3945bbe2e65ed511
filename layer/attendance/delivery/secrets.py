"""The CRM secret, read from SSM Parameter Store (SecureString) and cached, never logged."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

logger = Logger(child=True)
SECRET_CACHE_SECONDS = 300  # a rotated secret is picked up within five minutes


def crm_secret(parameter_name: str) -> str | None:
    if not parameter_name:
        return None
    try:
        return parameters.get_parameter(parameter_name, decrypt=True, max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError:
        logger.warning(
            "CRM secret parameter not readable; calling the CRM without credentials",
            extra={"parameter": parameter_name},
        )
        return None
