"""Why a model endpoint did not give an answer.

    ProviderError                 .kind (stored with the battle), .detail (owner logs only)
    ├── RetryableError            worth trying again later
    │   ├── ConnectFailed         connection refused / DNS / TLS
    │   ├── FirstTokenTimeout     no token within first_token_timeout
    │   ├── StreamStalled         no data for stall_timeout in the middle of an answer
    │   ├── RateLimited           HTTP 429 (after one retry honouring Retry-After)
    │   └── UpstreamServerError   HTTP 5xx
    └── FatalError                retrying the same request will not help
        ├── UpstreamRequestError  HTTP 4xx other than 429 (bad key, bad model id, ...)
        ├── MalformedStream       a server-sent event that is not the protocol
        └── EmptyAnswer           the stream ended without any text

`kind` is a short fixed code that is safe to show a voter; `detail` may name
hosts and status bodies, so it goes to the owner's logs and the database only,
with credentials masked by the provider before it leaves (arena.redact).
"""

from __future__ import annotations

from collections.abc import Iterable

from arena.redact import redact


class ProviderError(Exception):
    kind = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def redact(self, secrets: Iterable[str | None]) -> None:
        """Mask credentials in the detail (it goes to logs and the database)."""
        self.detail = redact(self.detail, secrets)
        self.args = (self.detail,)


class RetryableError(ProviderError):
    pass


class FatalError(ProviderError):
    pass


class ConnectFailed(RetryableError):
    kind = "connection_failed"


class FirstTokenTimeout(RetryableError):
    kind = "timeout_first_token"


class StreamStalled(RetryableError):
    kind = "stream_stalled"


class RateLimited(RetryableError):
    kind = "rate_limited"


class UpstreamServerError(RetryableError):
    kind = "upstream_server_error"


class UpstreamRequestError(FatalError):
    kind = "upstream_request_error"

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class MalformedStream(FatalError):
    kind = "malformed_stream"


class EmptyAnswer(FatalError):
    kind = "empty_answer"
