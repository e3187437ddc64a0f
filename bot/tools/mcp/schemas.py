"""From an MCP server's tool listing to what a model provider accepts: names and schemas.

`exposed_name("files", "read.file")` is `files__read_file`: the server's name, two
underscores, the tool's name, with every character outside `[A-Za-z0-9_-]` replaced by `_`.
A name longer than 64 characters (or one already taken) is shortened and ends in `_` plus 8
hex digits of a hash of the original, so it is the same on every start.

`adapt_schema` returns the input schema as providers want it (`type: object` and
`properties` present; no `$schema`; no `oneOf`/`anyOf`/`allOf`/`not`/`enum` at the top
level, which providers refuse, while the arguments are still validated against them) or
raises `SchemaProblem` with the reason it can't be offered (a non-object type, an invalid or
oversized schema); such tools are skipped with a log line. `compile_validator` builds the JSON
Schema validator the arguments are checked with before a call. `repair_listing` fixes a raw
`tools/list` result before the SDK validates it (see `transports`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

MAX_NAME = 64
SEPARATOR = "__"
MAX_SCHEMA_CHARS = 64_000
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
# Providers (OpenAI's strictest) refuse these at the top level of function parameters.
_TOP_LEVEL_REFUSED = ("oneOf", "anyOf", "allOf", "not", "enum")


class SchemaProblem(ValueError):
    """Why a tool's input schema cannot be offered to a model."""


def exposed_name(server: str, tool: str, taken: Collection[str] = ()) -> str:
    """The stable provider-safe name of `server`'s tool `tool`, avoiding names in `taken`."""
    original = f"{server}{SEPARATOR}{tool}"
    clean = _NOT_ALLOWED.sub("_", original)
    if len(clean) <= MAX_NAME and clean not in taken:
        return clean
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:8]
    return f"{clean[: MAX_NAME - len(digest) - 1]}_{digest}"


def adapt_schema(schema: object) -> dict[str, Any]:
    """A copy of `schema` fit for a provider's `parameters`; raises `SchemaProblem`."""
    if not isinstance(schema, Mapping):
        raise SchemaProblem("its input schema is not a JSON object")
    adapted = dict(schema)
    kind = adapted.get("type", "object")
    if kind != "object":
        raise SchemaProblem(f"its input schema has type {kind!r}; tools take an object")
    adapted["type"] = "object"
    # Arguments are still validated against these before a call: a model that misses one
    # reads the validation error.
    for keyword in _TOP_LEVEL_REFUSED:
        adapted.pop(keyword, None)
    properties = adapted.setdefault("properties", {})
    if not isinstance(properties, Mapping):
        raise SchemaProblem("its input schema's properties are not an object")
    required = adapted.get("required")
    if required is not None and (
        not isinstance(required, list) or not all(isinstance(r, str) for r in required)
    ):
        raise SchemaProblem("its input schema's required is not a list of names")
    # Draft declarations are ours to honour (the validator reads them), not the provider's.
    adapted.pop("$schema", None)
    try:
        size = len(json.dumps(adapted, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise SchemaProblem(f"its input schema is not JSON ({exc})") from None
    if size > MAX_SCHEMA_CHARS:
        raise SchemaProblem(f"its input schema is too large ({size:,} characters)")
    return adapted


def repair_listing(result: dict[str, Any], unusable: dict[str, str]) -> None:
    """Make a raw `tools/list` result acceptable to the SDK, in place: a schema without a
    type gets `type: object`; one that can't be used becomes `{"type": "object"}` and its tool
    is noted in `unusable` (name → why) to be skipped."""
    tools = result.get("tools")
    if not isinstance(tools, list):
        return
    for tool in tools:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        schema = tool.get("inputSchema")
        why: str | None = None
        if not isinstance(schema, dict):
            why = "its input schema is not a JSON object"
        elif "type" not in schema:
            schema["type"] = "object"
        elif schema["type"] != "object":
            why = f"its input schema has type {schema['type']!r}; tools take an object"
        elif not isinstance(schema.get("properties", {}), dict):
            why = "its input schema's properties are not an object"
        elif not isinstance(schema.get("required", []), list):
            why = "its input schema's required is not a list of names"
        if why is not None:
            unusable[tool["name"]] = why
            tool["inputSchema"] = {"type": "object"}


def compile_validator(schema: Mapping[str, Any]) -> Validator:
    """A validator for `schema` (JSON Schema 2020-12 unless it declares another draft)."""
    with_type = {**schema, "type": "object"}
    cls = validator_for(with_type, default=Draft202012Validator)
    try:
        cls.check_schema(with_type)
    except SchemaError as exc:
        raise SchemaProblem(f"its input schema is invalid: {exc.message}") from None
    return cls(with_type)


def argument_problem(validator: Validator, arguments: Mapping[str, Any]) -> str | None:
    """None when `arguments` are valid, else the most relevant error in one line."""
    error = best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
