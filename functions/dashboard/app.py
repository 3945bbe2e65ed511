"""The web dashboard: GET / and its assets, served from the files shipped with this function, on the same
origin as the API (one URL for everything). Strict content security policy: our own scripts and styles,
connections to this API and the live feed only."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import StringConstraints, WithJsonSchema

from attendance.api import COMMON_ERRORS, ApiError, error_responses, http_api, install_error_handlers, resolve
from attendance.settings import DashboardSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer(patch=())  # serves its own files: no calls out
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "the dashboard")

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SHIPPED = sorted(path.name for path in STATIC.iterdir() if path.suffix in TYPES)
# The contract lists the files shipped, so that a client (or a fuzzer) knows them; a name of the right
# form that is not one of them is a 404, as from any file server.
AssetName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*\.(js|css|svg)$", max_length=64),
    WithJsonSchema({"type": "string", "enum": SHIPPED}),
]


@cache
def settings() -> DashboardSettings:
    return DashboardSettings()


@cache
def security_headers() -> dict[str, str]:
    """The page may run only its own scripts and talk only to this API and the live feed."""
    feed = urlsplit(settings().feed_url)
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {feed.scheme}://{feed.netloc}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


@cache
def index_html() -> str:
    """The page, told the company's zone (every time on it is shown in that zone)."""
    page = (STATIC / "index.html").read_text()
    return page.replace("{{COMPANY_ZONE}}", settings().default_time_zone)


@app.get(
    "/",
    summary="The web dashboard (HTML)",
    tags=["dashboard"],
    responses={
        200: {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
        **error_responses(COMMON_ERRORS),
    },
)
def dashboard() -> Response[str]:
    headers = security_headers() | {"Cache-Control": "no-cache"}
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", index_html(), headers)


@app.get(
    "/assets/<name>",
    summary="The dashboard's scripts, styles and images",
    tags=["dashboard"],
    responses={
        200: {
            "description": "The file",
            "content": {kind.split(";")[0]: {"schema": {"type": "string"}} for kind in TYPES.values()},
        },
        **error_responses({400: "Not an asset name", 404: "No such asset", **COMMON_ERRORS}),
    },
)
def asset(name: Annotated[AssetName, PathParam(description="The file's name, e.g. app.js")]) -> Response[str]:
    path = STATIC / name
    if not path.is_file():
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no asset {name}")
    # Short caching with revalidation: a deploy reaches every browser within minutes.
    headers = security_headers() | {"Cache-Control": "public, max-age=300, must-revalidate"}
    return Response(HTTPStatus.OK, TYPES[path.suffix], path.read_text(), headers)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
