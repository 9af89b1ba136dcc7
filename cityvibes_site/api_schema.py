"""drf-spectacular hook: what every operation may answer besides its own responses."""

RETRY_AFTER_HEADER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
DATABASE_UNAVAILABLE = (
    "The database is unreachable (a restart, a failover): try again after Retry-After seconds. Any operation "
    "can answer this. Repeating a swipe is safe: one stored just before the outage answers 200 the second time."
)
RATE_LIMITED = "Over this swiper's rate limit: try again after Retry-After seconds."


def document_outage_and_rate_limits(result, generator, request, public):
    """Every operation may answer 503 when the database is down, with Retry-After, and a 429 carries
    Retry-After too. Views cannot say so one by one: the 503 comes from a middleware and an exception
    handler that see every request."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            unavailable = responses.setdefault("503", {"content": ERROR_CONTENT, "description": ""})
            unavailable["description"] = " ".join(filter(None, [unavailable.get("description"), DATABASE_UNAVAILABLE]))
            unavailable.setdefault("headers", {}).update(RETRY_AFTER_HEADER)
            if "429" in responses:
                responses["429"]["description"] = responses["429"].get("description") or RATE_LIMITED
                responses["429"].setdefault("headers", {}).update(RETRY_AFTER_HEADER)
    return result
