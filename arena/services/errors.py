"""Errors the service layer raises; each front end maps them to its own form.

    ServiceError
    ├── NotFound        unknown battle, model or answer set     (HTTP 404)
    ├── Unauthorized    X-Voter-Id without a valid API key      (HTTP 401)
    ├── Forbidden       battle owned by another voter           (HTTP 403)
    ├── Conflict        battle already voted, name already used (HTTP 409)
    ├── InvalidInput    a request the rules do not allow        (HTTP 422)
    └── TooManyRequests over a battle or vote limit             (HTTP 429, Retry-After)
"""


class ServiceError(Exception):
    """Base class; ``str(error)`` is a message fit to show the user."""


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class InvalidInput(ServiceError):
    pass


class Unauthorized(ServiceError):
    pass


class TooManyRequests(ServiceError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
