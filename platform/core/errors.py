"""Domain errors raised by services; the API turns each into its HTTP status with the message as `detail`."""


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, field: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message, self.field, self.extra = message, field, extra

    def body(self) -> dict[str, object]:
        """The API's error shape: {"detail", "code"} (+ "field", + extras)."""
        return {
            "detail": self.message,
            "code": self.code,
            **self.extra,
            **({"field": self.field} if self.field else {}),
        }


class InvalidInput(DomainError):
    """The request names something impossible: a click outside the image, a box with negative size, ..."""

    status_code, code = 400, "invalid"


class TooLarge(DomainError):
    status_code, code = 413, "too_large"


class PermissionDenied(DomainError):
    """The user is in the team but their role does not allow this."""

    status_code, code = 403, "permission_denied"


class NotFound(DomainError):
    status_code, code = 404, "not_found"


class Conflict(DomainError):
    """The object changed under the request (e.g. another reviewer decided first); nothing was written."""

    status_code, code = 409, "conflict"


class Unavailable(DomainError):
    status_code, code = 503, "unavailable"
