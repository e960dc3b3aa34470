"""What is read of a request before any bundle is: its body (within the size and time limits),
and its format, from its Content-Type, Content-Encoding and charset, or else from the body's first
bytes; and the refusals of a request as a whole, each a JSON error record (`{"bundle_id", "source",
"error": [diagnostics]}`), the form `batch` writes.

Kept apart from app.py, which routes a request and answers it: nothing here decides a bundle, so
what a client may send (and how it is refused) reads in one place.
"""

from __future__ import annotations

import io

import anyio
from starlette.requests import Request
from starlette.responses import Response

from carepolicy.engine import Diagnostic
from carepolicy.engine.facts.records import detected_format
from carepolicy.record_outcomes import ErrorRecord, record_json_line

from .answers import REQUEST_SOURCE
from .limits import JSON_TYPES, JSONL_TYPES, ServiceConfig

_SHOWN, _LISTED = 40, 5  # characters of a client's text an error echoes; query names it lists
_TYPES_HELP = "send one bundle as application/json, or many as application/x-ndjson (one per line)"


class Refusal(Exception):
    """A request refused as a whole (too big, too slow, wrong type): its status and diagnostic."""

    def __init__(self, status: int, code: str, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.diagnostic = Diagnostic(code, message, file=REQUEST_SOURCE, help=help)


def error_body(diagnostics: tuple[Diagnostic, ...]) -> bytes:
    return (record_json_line(ErrorRecord(None, REQUEST_SOURCE, diagnostics)) + "\n").encode("utf-8")


def error_response(status: int, diagnostic: Diagnostic, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body((diagnostic,)), status_code=status, media_type="application/json", headers=headers)


async def read_body(request: Request, config: ServiceConfig) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
        raise _too_large(config)
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(config.read_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > config.max_body_bytes:
                    raise _too_large(config)
                chunks.append(chunk)
    except TimeoutError:
        raise Refusal(408, "service/timeout", f"the body was not received within {config.read_timeout:g} s",
                      help="send the whole body at once, or start the service with a larger --read-timeout") from None
    return b"".join(chunks)


def _too_large(config: ServiceConfig) -> Refusal:
    return Refusal(
        413,
        "service/too-large",
        f"the request body is larger than {config.max_body_bytes} bytes",
        help="send fewer bundles per request, or start the service with a larger --max-body",
    )


def _header(request: Request, name: str, default: str) -> str:
    """A header's value, as HTTP reads one sent more than once: all its values, joined by a comma
    (`headers.get` gives the first only: a second Content-Encoding, `gzip`, would go unread)."""
    return ", ".join(request.headers.getlist(name)) or default


def shown(text: str) -> str:
    """What a client sent (a header, a query name, a path) as an error echoes it: enough to know it
    by, never all of it (a 60 kB query name was a 60 kB message)."""
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def listed(names: list[str]) -> str:
    """Query names as an error lists them: the first few, each `shown`, and how many more."""
    first = ", ".join(f"`{shown(name)}`" for name in names[:_LISTED])
    return first if len(names) <= _LISTED else f"{first} and {len(names) - _LISTED:,} more"


def declared_format(request: Request) -> str | None:
    """"json" or "jsonl" as the Content-Type says; None when it says nothing (absent, or empty, as
    some clients send it): then the body says (`body_format`)."""
    encoding = _header(request, "content-encoding", "identity").strip().lower()
    # a transfer coding besides chunks (`gzip, chunked`): uvicorn undoes the chunks only, and the rest
    # was read as the body's text
    transfer = (coding.strip() for coding in _header(request, "transfer-encoding", "").lower().split(","))
    encoding = encoding if encoding not in ("", "identity") else ", ".join(
        coding for coding in transfer if coding not in ("", "chunked", "identity"))
    if encoding:  # not decoded here: the bytes would read as text that is not UTF-8
        raise Refusal(415, "service/media-type", f"the body is `{shown(encoding)}`-encoded, which the service "
                      "does not decode", help="send the body as it is, without a Content-Encoding (or a "
                      "Transfer-Encoding other than chunked)")
    media, *parameters = _header(request, "content-type", "").split(";")
    media = media.strip().lower()
    for name, _, value in (parameter.partition("=") for parameter in parameters):
        charset = value.strip().strip('"')
        # read as UTF-8 regardless, Latin-1's `Ã©` would be `é`: a changed value, not an error
        if name.strip().lower() == "charset" and charset.lower() not in ("utf-8", "utf8"):
            raise Refusal(415, "service/media-type", f"the body is declared `{shown(charset)}`; the service reads "
                          "only UTF-8", help="send the body as UTF-8 (and say `charset=utf-8`, or no charset)")
    if not media:
        return None
    if media in JSON_TYPES:
        return "json"
    if media in JSONL_TYPES:
        return "jsonl"
    raise Refusal(415, "service/media-type", f"`{shown(media)}` is not a fact-bundle format", help=_TYPES_HELP)


def body_format(body: bytes) -> str:
    """The format of a body sent without a Content-Type, detected as `evaluate -` detects its
    standard input's: an empty header was read as JSON, so JSON Lines of several bundles were one
    document that could not be parsed, a single error record for them all. What `evaluate -` would
    read as YAML the service does not read: refused, naming the types it takes."""
    fmt = detected_format(io.BytesIO(body))
    if fmt not in ("json", "jsonl"):
        raise Refusal(415, "service/media-type", "the request has no Content-Type, and its body does not start "
                      "as JSON or JSON Lines (`{` or `[`)", help=_TYPES_HELP)
    return fmt
