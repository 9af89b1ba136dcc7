"""Input types the JSON API shares: strict JSON types, and bounded integers in query strings."""

from rest_framework import serializers
from rest_framework.exceptions import ParseError


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "yes", 1 or "true" are ill-typed here."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictIntegerField(serializers.IntegerField):
    """Only JSON integers (not strings, floats or booleans)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def query_int(request, name: str, *, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; a ParseError (400) names the bounds otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not is_ascii_digits(raw) or not low <= int(raw) <= high:
        raise ParseError(f"{name} must be an integer between {low} and {high}")
    return int(raw)


def is_ascii_digits(text: str) -> bool:
    """0-9 only: int() and str.isdigit() also take "٣" (Arabic-Indic 3), "３" or "²"."""
    return text.isascii() and text.isdigit()


class AsciiIntegerField(serializers.IntegerField):
    """An integer form field written in ASCII digits (DRF's IntegerField reads "٣" as 3)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not is_ascii_digits(data.strip().removeprefix("-")):
            self.fail("invalid")
        return super().to_internal_value(data)
