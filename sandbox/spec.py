"""Check request and response bodies against Discord's OpenAPI 3.1 description.

The spec is read at run time (never copied into the project). Validators are built lazily per
operation and cached. Two deliberate departures from a literal reading of the spec, both to avoid
false alarms on payloads Discord really accepts or sends:

- ``oneOf`` is checked like ``anyOf``: Discord's unions overlap (a group DM matches both channel
  shapes of ``GET /channels/{id}``). Union branches whose declared fields cover the body are tried
  first, so a typo'd field cannot slip through a permissive sibling branch.
- Requests: snowflakes may be integers and permission bitsets (``permissions``, ``allow``,
  ``deny``, ``default_member_permissions``) may be digit strings; Discord accepts both and nextcord
  sends both. Responses stay strict: snowflakes and bitsets are strings there.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from sandbox.spec_path import default_spec_path

__all__ = ["SpecOperation", "SpecValidator"]

_SPEC_URI = "urn:discord:openapi"
_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options"})
_BITSET_FIELDS = frozenset({"permissions", "allow", "deny", "default_member_permissions"})
_SNOWFLAKE_PATTERN = "^(0|[1-9][0-9]*)$"
_API_PREFIX = re.compile(r"^/api(?:/v\d+)?(?=/)")
_MAX_PROBLEMS = 12
_BASE = Draft202012Validator.VALIDATORS


@dataclass(frozen=True)
class SpecOperation:
    """One documented operation, matched from a concrete request path."""

    method: str
    template: str
    operation_id: str
    path_params: dict[str, str]
    pointer: str = field(repr=False)  # JSON pointer to the operation object in the spec


@dataclass(frozen=True)
class _Route:
    template: str
    segments: tuple[str | None, ...]  # None where the template has a parameter
    names: tuple[str, ...]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    # nextcord turns a timestamp without offset into a naive datetime: a real bug source.
    return "T" in value and parsed.tzinfo is not None


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date-time")(_check_date_time)

_cache: dict[tuple[str, int], SpecValidator] = {}


class SpecValidator:
    """Validates bodies against Discord's OpenAPI spec; problems come back as sentences."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = spec
        self._registry = Registry().with_resource(_SPEC_URI, DRAFT202012.create_resource(spec))
        self._resolver = self._registry.resolver(_SPEC_URI)
        self._routes: dict[int, list[_Route]] = defaultdict(list)
        for template in spec.get("paths", {}):
            parts = tuple(template.strip("/").split("/"))
            segments = tuple(None if p.startswith("{") else p for p in parts)
            names = tuple(p[1:-1] for p in parts if p.startswith("{"))
            self._routes[len(parts)].append(_Route(template, segments, names))
        for routes in self._routes.values():
            # Literal segments win over parameters, earliest position first.
            routes.sort(key=lambda r: tuple(s is None for s in r.segments))
        self._declared_cache: dict[int, frozenset[str] | None] = {}
        self._validators: dict[tuple[str, bool], Validator] = {}
        self._response_cls = extend(
            Draft202012Validator, {"oneOf": self._any_of, "anyOf": self._any_of}
        )
        self._request_cls = extend(
            self._response_cls, {"type": _lenient_type, "properties": _lenient_properties}
        )

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> SpecValidator:
        """Load (once per file and modification time) the spec at ``path``."""
        resolved = Path(path).resolve()
        key = (str(resolved), resolved.stat().st_mtime_ns)
        if key not in _cache:
            with resolved.open("rb") as f:
                _cache[key] = cls(json.load(f))
        return _cache[key]

    @staticmethod
    def default_path() -> Path | None:
        """See :func:`sandbox.spec_path.default_spec_path`."""
        return default_spec_path()

    # -- routing --------------------------------------------------------------------------

    def match(self, method: str, path: str) -> SpecOperation | None:
        """The operation for a concrete path such as ``/channels/123/messages``, or None."""
        method = method.lower()
        if method not in _METHODS:
            return None
        path = _API_PREFIX.sub("", path.split("?", 1)[0])
        parts = path.strip("/").split("/")
        for route in self._routes.get(len(parts), ()):
            if any(s is not None and s != p for s, p in zip(route.segments, parts, strict=True)):
                continue
            values = [p for s, p in zip(route.segments, parts, strict=True) if s is None]
            if not all(values):
                continue
            op = self._spec["paths"][route.template].get(method)
            if op is None:
                continue
            return SpecOperation(
                method=method.upper(),
                template=route.template,
                operation_id=op.get("operationId", ""),
                path_params={n: unquote(v) for n, v in zip(route.names, values, strict=True)},
                pointer=f"/paths/{_escape(route.template)}/{method}",
            )
        return None

    # -- validation -----------------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        path: str,
        body: object | None,
        *,
        content_type: str = "application/json",
    ) -> list[str]:
        """Problems with a request; for multipart, pass the parsed ``payload_json`` as body."""
        op = self.match(method, path)
        if op is None:
            return [_unknown(method, path)]
        label = f"{op.method} {op.template} request"
        operation = self._spec["paths"][op.template][op.method.lower()]
        problems = self._check_path_params(op, operation, label)
        request_body = operation.get("requestBody")
        if request_body is None:
            return problems
        if body is None:
            if request_body.get("required"):
                problems.append(f"{label}: a body is required")
            return problems
        content = request_body.get("content", {})
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in content or (
            media == "multipart/form-data" and "application/json" in content
        ):
            if "application/json" not in content:
                accepted = ", ".join(content)
                return [*problems, f"{label}: content type {media} not accepted ({accepted})"]
            media = "application/json"
        pointer = f"{op.pointer}/requestBody/content/{_escape(media)}/schema"
        return problems + self._check(pointer, body, label, request=True)

    def validate_response(
        self, method: str, path: str, status: int, body: object | None
    ) -> list[str]:
        """Problems with a response, checked against what the spec documents for ``status``."""
        op = self.match(method, path)
        if op is None:
            return [_unknown(method, path)]
        label = f"{op.method} {op.template} response {status}"
        responses = self._spec["paths"][op.template][op.method.lower()].get("responses", {})
        key = next(
            (k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None
        )
        if key is None:
            return [f"{label}: status not documented (documented: {', '.join(responses)})"]
        response = responses[key]
        pointer = f"{op.pointer}/responses/{_escape(key)}"
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self._resolver.lookup(response["$ref"]).contents
        content = response.get("content")
        if not content:
            if body not in (None, "", b""):
                return [f"{label}: the spec documents no body, got {_show(body)}"]
            return []
        if "application/json" not in content:
            return []
        if body is None:
            return [f"{label}: a JSON body is required"]
        if status == 429 and isinstance(body, dict) and "code" not in body:
            # The spec requires "code" on 429s; Discord's real ones often omit it.
            body = {**body, "code": 0}
        problems: list[str] = []
        if status >= 400 and isinstance(body, dict) and "errors" in body:
            # The spec types a field error's code as an integer, but Discord sends strings
            # ("BASE_TYPE_REQUIRED"): the errors tree is checked here, the rest by the spec.
            problems = error_details_problems(body["errors"], f"{label}: errors")
            body = {k: v for k, v in body.items() if k != "errors"}
        return problems + self._check(f"{pointer}/content/application~1json/schema", body, label)

    # -- internals ------------------------------------------------------------------------

    def _check_path_params(
        self, op: SpecOperation, operation: Mapping[str, Any], label: str
    ) -> list[str]:
        item_pointer = op.pointer.rsplit("/", 1)[0]
        sources = [
            (item_pointer, self._spec["paths"][op.template].get("parameters", ())),
            (op.pointer, operation.get("parameters", ())),
        ]
        problems: list[str] = []
        for base, params in sources:
            for index, param in enumerate(params):
                pointer = f"{base}/parameters/{index}"
                if "$ref" in param:
                    pointer = param["$ref"].removeprefix("#")
                    param = self._resolve(param)
                name = param.get("name")
                if param.get("in") != "path" or name not in op.path_params or "schema" not in param:
                    continue
                validator = self._validator(f"{pointer}/schema", request=False)
                for error in validator.iter_errors(op.path_params[name]):
                    problems.append(f"{label}: path parameter {name}: {_describe(error)}")
        return problems

    def _validator(self, pointer: str, *, request: bool) -> Validator:
        key = (pointer, request)
        if key not in self._validators:
            cls = self._request_cls if request else self._response_cls
            self._validators[key] = cls(
                {"$ref": f"{_SPEC_URI}#{pointer}"},
                registry=self._registry,
                format_checker=_FORMATS,
            )
        return self._validators[key]

    def _check(self, pointer: str, body: object, label: str, *, request: bool = False) -> list[str]:
        lines: dict[tuple[Any, ...], list[tuple[str, str]]] = defaultdict(list)
        for error in self._validator(pointer, request=request).iter_errors(body):
            for where, kind, text in _explain(error):
                lines[where].append((kind, text))
        problems: list[str] = []
        for where, found in lines.items():
            # A wrong type explains every other complaint about the same value.
            kinds = {k for k, _ in found}
            texts = dict.fromkeys(
                t for k, t in found if k == "type" or ("type" not in kinds and k != "required")
            )
            missing = dict.fromkeys(t.rsplit(" ", 1)[1] for k, t in found if k == "required")
            if missing and "type" not in kinds:
                plural = "s" if len(missing) > 1 else ""
                texts[f"missing required field{plural} {', '.join(missing)}"] = None
            place = ".".join(str(p) for p in where) or "body"
            problems.extend(f"{label}: {place}: {t}" for t in texts)
        if len(problems) > _MAX_PROBLEMS:
            rest = len(problems) - _MAX_PROBLEMS
            problems = [*problems[:_MAX_PROBLEMS], f"{label}: … and {rest} more problems"]
        return problems

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self._resolver.lookup(schema["$ref"]).contents
        return schema

    def _declared(self, schema: Mapping[str, Any], depth: int = 0) -> frozenset[str] | None:
        """Field names an object schema declares; None when it accepts any field."""
        key = id(schema)
        if key in self._declared_cache:
            return self._declared_cache[key]
        schema = self._resolve(schema)
        names: set[str] | None = set(schema.get("properties", ()))
        extra = schema.get("additionalProperties")
        if depth > 8 or (extra is not None and extra is not False):
            names = None
        subs = [*schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())]
        for sub in subs:
            if names is None:
                break
            found = self._declared(sub, depth + 1)
            names = None if found is None else names | found
        if names is not None and not names and not subs:
            names = None  # a bare object schema
        result = None if names is None else frozenset(names)
        self._declared_cache[key] = result
        return result

    def _fits(self, branch: Mapping[str, Any], keys: set[str]) -> bool:
        resolved = self._resolve(branch)
        types = resolved.get("type")
        if types is not None and "object" not in (types if isinstance(types, list) else [types]):
            return False
        declared = self._declared(resolved)
        return declared is None or keys <= declared

    def _any_of(
        self, validator: Validator, branches: list[Any], instance: Any, schema: Any
    ) -> Iterator[ValidationError]:
        indexed = list(enumerate(branches))
        if isinstance(instance, dict) and len(branches) > 1:
            keys = set(instance)
            fitting = [(i, b) for i, b in indexed if self._fits(b, keys)]
            indexed = fitting or indexed
        errors: list[ValidationError] = []
        for index, branch in indexed:
            found = list(validator.descend(instance, branch, schema_path=index))
            if not found:
                return
            errors.extend(found)
        yield ValidationError(
            f"{_show(instance)} matches none of the allowed shapes", context=errors
        )


def error_details_problems(tree: object, label: str) -> list[str]:
    """Problems with a 4xx body's ``errors``: nested objects keyed by field name or index,
    each leaf exactly ``{"_errors": [{"code": str, "message": str}, ...]}``, as Discord sends
    in 50035 Invalid Form Body. Walked without recursion (bodies may be deep)."""
    problems: list[str] = []
    pending: list[tuple[str, object]] = [("", tree)]
    while pending and len(problems) < _MAX_PROBLEMS:
        where, node = pending.pop()
        place = f"{label}{where}"
        if not isinstance(node, dict):
            problems.append(f"{place}: {_show(node)} is not an object")
            continue
        if "_errors" not in node:
            if not node:
                problems.append(f"{place}: an empty object names no error")
            pending.extend((f"{where}.{key}", child) for key, child in reversed(node.items()))
            continue
        extra = sorted(set(node) - {"_errors"})
        if extra:
            problems.append(f"{place}: unexpected {', '.join(extra)} beside _errors")
        found = node["_errors"]
        if not isinstance(found, list) or not found:
            problems.append(f"{place}._errors: {_show(found)} is not a list of errors")
            continue
        for index, error in enumerate(found):
            at = f"{place}._errors.{index}"
            if not isinstance(error, dict):
                problems.append(f"{at}: {_show(error)} is not an object")
                continue
            for key in ("code", "message"):
                if not isinstance(error.get(key), str) or not error[key]:
                    problems.append(f"{at}: {key} must be a non-empty string")
    return problems


def _lenient_type(
    validator: Validator, types: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if schema.get("format") == "snowflake" and _is_int(instance) and instance >= 0:
        return
    yield from _BASE["type"](validator, types, instance, schema)


def _lenient_properties(
    validator: Validator, properties: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for name, subschema in properties.items():
        if name not in instance:
            continue
        value = instance[name]
        if (
            name in _BITSET_FIELDS
            and isinstance(value, str)
            and value.isascii()
            and value.isdigit()
        ):
            value = int(value)
        yield from validator.descend(value, subschema, path=name, schema_path=name)


def _unknown(method: str, path: str) -> str:
    return f"no such operation in Discord's API: {method.upper()} {path}"


def _show(value: object) -> str:
    """A short rendering of a JSON value for messages."""
    if isinstance(value, str):
        if len(value) <= 40:
            return repr(value)
        head = repr(value[:20])
        return f"{head[:-1]}…{head[-1]} ({len(value)} chars)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return json.dumps(value)


def _join_values(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(json.dumps(v) for v in values[:limit])
    return shown + (", …" if len(values) > limit else "")


def _explain(error: ValidationError) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(instance path, kind, sentence) for an error, looking into the closest union branch."""
    where = tuple(error.absolute_path)
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        yield where, str(error.validator), _describe(error)
        return
    by_branch: dict[Any, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        by_branch[sub.relative_schema_path[0]].append(sub)

    def wrong_shape(errors: list[ValidationError]) -> bool:
        return any(not e.relative_path and e.validator in ("type", "const", "enum") for e in errors)

    def wrong_kind(errors: list[ValidationError]) -> bool:
        return any(
            list(e.relative_path) == ["type"] and e.validator in ("const", "enum") for e in errors
        )

    live = [b for b, errs in by_branch.items() if not wrong_shape(errs) and not wrong_kind(errs)]
    if live:
        best = min(live, key=lambda b: len(by_branch[b]))
        for sub in by_branch[best]:
            yield from _explain(sub)
        return
    instance = error.instance
    kinds: list[Any] = []
    types: list[str] = []
    consts: list[Any] = []
    for errs in by_branch.values():
        for e in errs:
            at = list(e.relative_path)
            if e.validator in ("const", "enum") and at in ([], ["type"]):
                target = kinds if at else consts
                vv = e.validator_value
                target.extend(vv if e.validator == "enum" else [vv])
            elif e.validator == "type" and not at:
                vv = e.validator_value
                types.extend(vv if isinstance(vv, list) else [vv])
    if kinds and isinstance(instance, dict) and "type" in instance:
        values = sorted(set(kinds), key=lambda v: (str(type(v)), v))
        text = f"{_show(instance['type'])} is not a known type here ({_join_values(values)})"
        yield (*where, "type"), "enum", text
    elif consts:
        extra = " or null" if "null" in types else ""
        text = f"{_show(instance)} is not one of {_join_values(consts)}{extra}"
        yield where, "enum", text
    elif types:
        yield where, "type", f"{_show(instance)} is not of type {' or '.join(dict.fromkeys(types))}"
    else:
        yield where, "anyOf", error.message


def _describe(error: ValidationError) -> str:
    """One error as a short sentence about the value at its path."""
    value, rule, kind = error.instance, error.validator_value, error.validator
    shown = _show(value)
    match kind:
        case "type":
            expected = " or ".join(rule) if isinstance(rule, list) else rule
            return f"{shown} is not of type {expected}"
        case "required":
            name = error.message.removesuffix(" is a required property")
            return f"missing required field {name}"
        case "maxLength":
            return f"{shown} is too long (maxLength {rule})"
        case "minLength":
            return f"{shown} is too short (minLength {rule})"
        case "maxItems" | "minItems":
            return f"has {len(value)} item{'' if len(value) == 1 else 's'} ({kind} {rule})"
        case "maxProperties" | "minProperties":
            return f"has {len(value)} fields ({kind} {rule})"
        case "maximum":
            return f"{shown} is greater than the maximum {rule}"
        case "minimum":
            return f"{shown} is less than the minimum {rule}"
        case "const":
            return f"{shown} is not {json.dumps(rule)}"
        case "enum":
            return f"{shown} is not one of {_join_values(list(rule))}"
        case "pattern" if rule == _SNOWFLAKE_PATTERN:
            return f"{shown} is not a snowflake (a string of digits)"
        case "pattern":
            return f"{shown} does not match {rule}"
        case "format":
            return f"{shown} is not a valid {rule}"
        case "uniqueItems":
            return "has duplicate items"
    message = error.message
    return message if len(message) <= 120 else message[:119] + "…"
