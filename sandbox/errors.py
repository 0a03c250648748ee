"""Discord's JSON errors: one exception type and builders for the common ones."""

from __future__ import annotations

from typing import Any

UNKNOWN_CODES = {
    "Account": 10001,
    "Application": 10002,
    "Channel": 10003,
    "Guild": 10004,
    "Member": 10007,
    "Message": 10008,
    "Overwrite": 10009,
    "Role": 10011,
    "User": 10013,
    "Emoji": 10014,
    "Webhook": 10015,
    "Guild Template": 10057,
    "interaction": 10062,
    "application command": 10063,
}


class ApiError(Exception):
    """An error answer: HTTP status plus Discord's ``{"message", "code"}`` body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def unknown(kind: str) -> ApiError:
    """404 ``Unknown <kind>`` with its code, e.g. ``unknown("Channel")`` → 10003."""
    return ApiError(404, UNKNOWN_CODES[kind], f"Unknown {kind}")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def unauthorized() -> ApiError:
    return ApiError(401, 0, "401: Unauthorized")


def not_found() -> ApiError:
    return ApiError(404, 0, "404: Not Found")


def method_not_allowed() -> ApiError:
    return ApiError(405, 0, "405: Method Not Allowed")


def bad_request(code: int, message: str) -> ApiError:
    return ApiError(400, code, message)


class FormErrors:
    """Collects field errors and raises them as one 50035 Invalid Form Body.

    Paths are tuples such as ``("embeds", 0, "title")``; they become Discord's
    nested ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``.
    """

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...] | str, code: str, message: str) -> None:
        """An error at ``path``. A field holds either its own ``_errors`` or its parts'
        errors, never both (the spec's shape): the first error found for a field or its
        parts wins, and later ones that would mix the two are left out."""
        parts = (path,) if isinstance(path, str) else path
        node = self.errors
        for part in parts:
            if "_errors" in node and node is not self.errors:
                return
            node = node.setdefault(str(part), {})
        if node and "_errors" not in node:
            return
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApiError(400, 50035, "Invalid Form Body", self.errors)
