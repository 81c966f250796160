"""Schemathesis hooks for arpilot: the rules between parameters that a schema cannot state.

The OpenAPI document states them in words: the bucket bounds are strictly increasing, and the
provision rates are one per bucket (two more than the bounds; four bounds by default). A request
generated as valid that breaks them is answered 400, rightly, so such requests are made to follow
them. Requests generated as invalid are left as they are.
"""

import schemathesis

DEFAULT_BOUNDS = 4


def _items(value):
    """The items of a `style: form, explode: false` array, as generated (a list or its text)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value != "":
        return value.split(",")
    return None


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.query, dict):
        return case
    query = case.query
    bounds = _items(query.get("buckets"))
    if bounds:
        try:
            query["buckets"] = ",".join(str(b) for b in sorted(set(int(b) for b in bounds)))
            bounds = query["buckets"].split(",")
        except ValueError:
            pass
    rates = _items(query.get("provisions"))
    if rates:
        n = (len(bounds) if bounds else DEFAULT_BOUNDS) + 2
        query["provisions"] = ",".join((rates + ["0"] * n)[:n])
    return case
