"""The error tree shared by the daemon, the client and the command line.

Every failure a person or a script can meet is a `CoopeError` with a stable machine-readable
`code`. The daemon maps the code to an HTTP status in one place; the client rebuilds the same
class from the error body; the CLI maps the family to an exit code.

    CoopeError                      code                     HTTP
    ├── BadRequest                  bad_request              400   (malformed JSON, bad framing)
    ├── InvalidInput                invalid_input            422   (well-formed, but breaks a rule)
    ├── Unauthenticated             unauthenticated          401
    ├── Forbidden                   forbidden                403
    │   └── SignupClosed            signup_closed            403
    ├── NotFound                    not_found                404
    │   └── Gone                    gone                     410   (expired, used up, revoked)
    ├── MethodNotAllowed            method_not_allowed       405
    ├── Conflict                    conflict                 409
    ├── PayloadTooLarge             payload_too_large        413
    ├── UnsupportedMediaType        unsupported_media_type   415   (a body type not accepted)
    ├── RateLimited                 rate_limited             429   (retry_after seconds)
    ├── Unavailable                 unavailable              503   (retryable)
    ├── DaemonUnreachable           unreachable              -     (client side: no answer at all)
    └── InternalError               internal                 500
"""

from __future__ import annotations

from typing import Any, ClassVar


class CoopeError(Exception):
    """Root of every error coope raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_body(self) -> dict[str, Any]:
        """The JSON error body the daemon sends: `{"error": {"code", "message"[, "details"]}}`."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class BadRequest(CoopeError):
    code = "bad_request"
    status = 400


class InvalidInput(CoopeError):
    code = "invalid_input"
    status = 422


class Unauthenticated(CoopeError):
    code = "unauthenticated"
    status = 401


class Forbidden(CoopeError):
    code = "forbidden"
    status = 403


class SignupClosed(Forbidden):
    code = "signup_closed"


class NotFound(CoopeError):
    code = "not_found"
    status = 404


class Gone(NotFound):
    code = "gone"
    status = 410


class MethodNotAllowed(CoopeError):
    code = "method_not_allowed"
    status = 405


class Conflict(CoopeError):
    code = "conflict"
    status = 409


class PayloadTooLarge(CoopeError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(CoopeError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(CoopeError):
    code = "rate_limited"
    status = 429
    retryable = True

    def __init__(
        self, message: str, *, retry_after: int, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details={**(details or {}), "retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(CoopeError):
    code = "unavailable"
    status = 503
    retryable = True


class DaemonUnreachable(CoopeError):
    code = "unreachable"
    status = 0
    retryable = True


class InternalError(CoopeError):
    code = "internal"
    status = 500


def _all_subclasses(cls: type[CoopeError]) -> list[type[CoopeError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


ERRORS_BY_CODE: dict[str, type[CoopeError]] = {cls.code: cls for cls in _all_subclasses(CoopeError)}


def error_from_body(body: Any, status: int) -> CoopeError:
    """Rebuild the error the daemon raised from its JSON body (or a bare status)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return error_for_status(status, f"the daemon answered HTTP {status}")
    code = error["code"]
    message = str(error.get("message") or code)
    details = error.get("details") if isinstance(error.get("details"), dict) else None
    cls = ERRORS_BY_CODE.get(code)
    if cls is RateLimited:
        retry_after = int((details or {}).get("retry_after", 1))
        return RateLimited(message, retry_after=retry_after, details=details)
    if cls is None:
        return error_for_status(status, message)
    return cls(message, details=details)


def error_for_status(status: int, message: str) -> CoopeError:
    """The error class that answers with this HTTP status (a body-less refusal, a close code)."""
    for cls in (
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidInput,
        Unavailable,
    ):
        if cls.status == status:
            return cls(message)
    if status == 429:
        return RateLimited(message, retry_after=1)
    return InternalError(message)


__all__ = [
    "ERRORS_BY_CODE",
    "BadRequest",
    "CoopeError",
    "Conflict",
    "DaemonUnreachable",
    "Forbidden",
    "Gone",
    "InternalError",
    "InvalidInput",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SignupClosed",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "error_for_status",
    "error_from_body",
]
