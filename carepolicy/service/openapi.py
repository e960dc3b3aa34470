"""The service's OpenAPI 3.1 description, served at GET /v1/openapi.json.

OpenAPI 3.1 schemas are JSON Schema 2020-12, the dialect of the shipped fact-bundle schema, so the
request schema is that schema itself (one per version the engine reads): the service and
`carepolicy schema` cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carepolicy.engine import engine_version
from carepolicy.engine.facts.schema import VERSIONS, fact_schema

if TYPE_CHECKING:
    from .limits import ServiceConfig

_DECISION_DOC = "one decision as `carepolicy evaluate --format jsonl` writes it (docs: reference/decision-format)"
_HASH_HEADER = {
    "x-carepolicy-policy-set-hash": {"description": "the hash of the policy set that decided",
                                     "schema": {"type": "string"}},
    "x-carepolicy-engine-version": {"description": "the engine version", "schema": {"type": "string"}},
}

_COUNT_HEADERS = {
    **_HASH_HEADER,
    "x-carepolicy-records": {"description": "the number of records, so of lines", "schema": {"type": "string"}},
    "x-carepolicy-invalid": {"description": "the records that are not valid bundles (their lines are facts/ error "
                             "records)", "schema": {"type": "string"}},
    "x-carepolicy-errors": {"description": "every error record of the answer; not sent with a streamed answer "
                            "(several records over HTTP/1.1), whose headers go before its first decision: count "
                            "its lines with an `error` key", "schema": {"type": "string"}},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _HASH_HEADER,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRecord"}}},
    }


def _bundle_schema(version: int) -> dict[str, Any]:
    schema = fact_schema(version)
    schema.pop("$schema", None)  # the dialect is the document's own (jsonSchemaDialect)
    schema.pop("$id", None)
    return schema


def openapi_document(config: ServiceConfig) -> dict[str, Any]:
    versions = {f"FactBundleV{version}": _bundle_schema(version) for version in VERSIONS}
    lines = {"type": "string", "description": "JSON Lines: one fact bundle (a JSON object) per line"}
    decided = {
        "description": "every record is a valid bundle; the body is one JSON line per record, in request "
        "order, sent as each is decided (application/json for one bundle, application/x-ndjson for several). "
        "A bundle not reached within the request timeout is a service/timeout error record in its place",
        "headers": _COUNT_HEADERS,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Decision"}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "one Decision per line"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "carepolicy",
            "version": engine_version(),
            "description": "Decides which care-management codes can be billed for a patient-month, and why.",
        },
        "paths": {
            "/v1/decisions": {
                "post": {
                    "summary": "Decide one bundle (application/json) or many (application/x-ndjson)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/FactBundle"}},
                            "application/x-ndjson": {"schema": lines},
                        },
                    },
                    "responses": {
                        "200": decided,
                        "400": _error("a query parameter was given (the service takes none), or the body is empty"),
                        "408": _error("the body did not arrive within the read timeout"),
                        "413": _error(f"the body is over {config.max_body_bytes} bytes, or is a JSON document "
                                      f"nested deeper than {config.max_depth} levels (in JSON Lines, a line "
                                      "nested deeper is that record's error record)"),
                        "415": _error("the content type is neither JSON nor JSON Lines (without one, the body does "
                                      "not start as either), its charset is not UTF-8, or the body is compressed"),
                        "422": {
                            "description": "at least one record is not a valid bundle: its line is an error record "
                            "with the CLI's diagnostics; the other records are still decided (application/json "
                            "for one bundle, application/x-ndjson for several, as for 200)",
                            "headers": _COUNT_HEADERS,
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorRecord"}},
                                "application/x-ndjson": {"schema": {"type": "string", "description":
                                                                    "one Decision or ErrorRecord per line"}},
                            },
                        },
                        "503": _error("the records could not even be read within the request timeout (nothing "
                                      "was sent: past the first line, a bundle not decided in time is a "
                                      "service/timeout error record); or, to an HTTP/1.0 request, its answer "
                                      "and those the worker is sending at once are over --max-spool together "
                                      "(service/spool: ask again); or the service stopped (SIGTERM) before the "
                                      "answer started, --shutdown-timeout after (service/shutdown: ask again)"),
                        "507": _error(f"the answer to an HTTP/1.0 request (sent whole, so written to a temporary "
                                      f"file first) is over --max-spool ({config.max_spool_bytes} bytes), or the "
                                      "service's temporary storage could not hold it (nothing was sent)"),
                    },
                }
            },
            "/v1/health": {"get": {"summary": "Liveness, with the policy-set hash",
                                   "responses": {"200": {"description": "ok", "headers": _HASH_HEADER}}}},
            "/v1/policy-set": {"get": {"summary": "Policy-set hash, engine version, switches, defaults and limits",
                                       "responses": {"200": {"description": "ok", "headers": _HASH_HEADER}}}},
        },
        "components": {
            "schemas": {
                "FactBundle": {"oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in versions],
                               "description": "a fact bundle of any version this engine reads"},
                **versions,
                "Decision": {"type": "object", "description": _DECISION_DOC},
                "ErrorRecord": {
                    "type": "object",
                    "required": ["bundle_id", "source", "error"],
                    "properties": {
                        "bundle_id": {"type": ["string", "null"]},
                        "source": {"type": "string"},
                        "error": {"type": "array", "items": {"type": "object"},
                                  "description": "diagnostics, as in docs/reference/errors"},
                    },
                },
            }
        },
    }
