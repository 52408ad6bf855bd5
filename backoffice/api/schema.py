"""OpenAPI schema additions: the error answers every operation can give (API.md "Conventions").

drf-spectacular documents the success answers of each view; the errors come from the project's exception handler
(``backoffice.api.exceptions``) and DRF itself, the same for every operation, so they are added here in one place.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: ``detail`` says what went wrong; ``code`` names it for programs.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Bad input: each field with its messages (``non_field_errors`` for the whole body), or a ``detail`` "
        "for a request that could not be read at all."
    ),
    "additionalProperties": {},
}
COMMON = {
    "400": ("ValidationError", "Bad input: field errors."),
    "401": ("Error", "Not authenticated."),
    "403": ("Error", "The caller's role may not do this in its own shop."),
    "404": ("Error", "No such object among the caller's shops."),
    "406": ("Error", "None of the accepted response formats can be served."),
}
WRITES = {
    "409": ("Error", "Conflict: the current state does not allow this (already answered, already done...)."),
    "410": ("Error", "Gone: the object expired (a rating invite after 24 hours)."),
    "415": ("Error", "The request body's media type is not supported."),
}
THROTTLED = {"429": ("Error", "Too many failed logins from this address for this username.")}


def _response(name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: document 400/401/403/404/406 everywhere, 409/410/415 on writes, 429 on the login."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            extra = dict(COMMON)
            if method in ("post", "put", "patch", "delete"):
                extra.update(WRITES)
            if path.endswith("/auth/token/"):
                extra.update(THROTTLED)
            for status, (name, description) in extra.items():
                responses.setdefault(status, _response(name, description))
    return result
