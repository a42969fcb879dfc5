"""Typed attribute declarations: one place that validates input and formats output.

A `Field` parses one attribute value from a request (raising 422 with the attribute's
pointer on bad input) and dumps the stored value to JSON. Resource schemas are dicts of
fields; the same schema drives PATCH/POST parsing and serialization.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from openevent.errors import Unprocessable, attribute_pointer

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
THREE_PLACES = Decimal("0.001")


class Field:
    """One attribute. `read_only` fields are ignored on input (clients echo them back)."""

    kind = "string"

    def __init__(
        self,
        *,
        required: bool = False,
        read_only: bool = False,
        nullable: bool = True,
        default: Any = None,
        admin_only: bool = False,
        write_only: bool = False,
        validate: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.required = required
        self.read_only = read_only
        self.nullable = nullable
        self.default = default
        self.admin_only = admin_only
        self.write_only = write_only
        self.validate = validate

    def parse(self, value: Any, name: str) -> Any:
        if value is None:
            if not self.nullable or self.required:
                raise Unprocessable(f"'{name}' may not be null", attribute_pointer(name))
            return None
        parsed = self.convert(value, name)
        if self.validate is not None:
            problem = self.validate(parsed)
            if problem:
                raise Unprocessable(problem, attribute_pointer(name))
        return parsed

    def convert(self, value: Any, name: str) -> Any:
        raise NotImplementedError

    def dump(self, value: Any) -> Any:
        return value

    def fail(self, name: str, message: str) -> Unprocessable:
        return Unprocessable(f"'{name}': {message}", attribute_pointer(name))


class String(Field):
    def __init__(self, *, max_length: int = 10_000, min_length: int = 0, **kw: Any) -> None:
        super().__init__(**kw)
        self.max_length = max_length
        self.min_length = min_length

    def convert(self, value: Any, name: str) -> str:
        if not isinstance(value, str):
            raise self.fail(name, "must be a string")
        if len(value) > self.max_length:
            raise self.fail(name, f"must be at most {self.max_length} characters")
        if len(value.strip()) < self.min_length:
            raise self.fail(name, f"must be at least {self.min_length} characters")
        return value


class Email(String):
    def __init__(self, **kw: Any) -> None:
        super().__init__(max_length=320, **kw)

    def convert(self, value: Any, name: str) -> str:
        text = super().convert(value, name).strip()
        if not _EMAIL.match(text):
            raise self.fail(name, "is not a valid email address")
        return text.lower()


class Boolean(Field):
    kind = "boolean"

    def convert(self, value: Any, name: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(name, "must be a boolean")
        return value


class Integer(Field):
    kind = "integer"

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kw: Any):
        super().__init__(**kw)
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any, name: str) -> int:
        if isinstance(value, bool):
            raise self.fail(name, "must be an integer")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
            value = int(value)
        if not isinstance(value, int):
            raise self.fail(name, "must be an integer")
        if self.minimum is not None and value < self.minimum:
            raise self.fail(name, f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise self.fail(name, f"must be at most {self.maximum}")
        return value


class Money(Field):
    """A non-negative amount with at most 3 decimals (the most any currency has), kept exactly;
    whether it fits the event's currency is checked where the currency is known."""

    kind = "number"

    def __init__(self, *, maximum: Decimal = Decimal("100000000"), **kw: Any) -> None:
        super().__init__(**kw)
        self.maximum = maximum

    def convert(self, value: Any, name: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(name, "must be a number")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(name, "must be a number") from None
        if not amount.is_finite():
            raise self.fail(name, "must be a finite number")
        if amount < 0:
            raise self.fail(name, "must not be negative")
        if amount > self.maximum:
            raise self.fail(name, f"must be at most {self.maximum}")
        if amount != amount.quantize(THREE_PLACES, rounding=ROUND_HALF_UP):
            raise self.fail(name, "has more decimals than any currency allows")
        return amount

    def dump(self, value: Any) -> Any:
        return None if value is None else float(Decimal(value))


class Number(Money):
    """A decimal number that may be negative (e.g. a tax rate); same output as Money."""

    def __init__(self, *, minimum: Decimal | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.minimum = minimum

    def convert(self, value: Any, name: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(name, "must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(name, "must be a number") from None
        if not number.is_finite():
            raise self.fail(name, "must be a finite number")
        if self.minimum is not None and number < self.minimum:
            raise self.fail(name, f"must be at least {self.minimum}")
        if number > self.maximum:
            raise self.fail(name, f"must be at most {self.maximum}")
        return number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


class Choice(String):
    def __init__(self, choices: Iterable[str], *, aliases: dict[str, str] | None = None, **kw: Any):
        super().__init__(max_length=100, **kw)
        self.choices = tuple(choices)
        self.aliases = aliases or {}

    def convert(self, value: Any, name: str) -> str:
        text = super().convert(value, name)
        text = self.aliases.get(text, text)
        if text not in self.choices:
            raise self.fail(name, f"must be one of {', '.join(self.choices)}")
        return text


def parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 → aware UTC datetime; a naive value is taken as UTC. None if unparseable."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


class DateTime(Field):
    kind = "datetime"

    def convert(self, value: Any, name: str) -> datetime:
        parsed = parse_datetime(value)
        if parsed is None:
            raise self.fail(name, "must be an ISO-8601 date-time")
        return parsed

    def dump(self, value: Any) -> Any:
        return format_datetime(value)


class Timezone(String):
    def __init__(self, **kw: Any) -> None:
        super().__init__(max_length=64, **kw)

    def convert(self, value: Any, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        text = super().convert(value, name)
        try:
            if not text or text.startswith(("/", ".")) or ".." in text:
                raise ValueError
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(name, f"'{text}' is not a valid timezone") from None
        return text


class Url(String):
    def __init__(self, **kw: Any) -> None:
        super().__init__(max_length=2048, **kw)

    def convert(self, value: Any, name: str) -> str:
        text = super().convert(value, name).strip()
        if text and not re.match(r"^(https?://|/)", text):
            raise self.fail(name, "must be an http(s) URL")
        return text


class JsonValue(Field):
    """Free-form JSON (dict or list), size-limited."""

    kind = "object"

    def convert(self, value: Any, name: str) -> Any:
        if not isinstance(value, dict | list | str):
            raise self.fail(name, "must be an object, list or string")
        return value
