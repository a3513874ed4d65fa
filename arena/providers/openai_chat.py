"""OpenAI chat-completions protocol, streamed: OpenAI, DashScope (Qwen), DeepSeek, vLLM, Ollama."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import orjson

from arena.providers.base import ChatProvider, StreamEvent, TextDelta, Usage
from arena.providers.errors import (
    ConnectFailed,
    EmptyAnswer,
    FirstTokenTimeout,
    MalformedStream,
    ProviderError,
    RateLimited,
    StreamStalled,
    UpstreamRequestError,
    UpstreamServerError,
)
from arena.providers.sse import SSE_HEADERS, SSEStream
from arena.providers.transport import EndpointClient

log = logging.getLogger("arena.providers")


class OpenAIChatProvider(ChatProvider):
    def request_body(self, messages: Sequence[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": self.messages_with_system(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.config.max_tokens,
        }
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        if self.config.top_p is not None:
            body["top_p"] = self.config.top_p
        body.update(self.config.extra_body)
        return body

    def headers(self) -> dict[str, str]:
        headers = {**SSE_HEADERS, "Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def stream(
        self, messages: Sequence[dict[str, str]], *, client: EndpointClient
    ) -> AsyncIterator[StreamEvent]:
        body = orjson.dumps(self.request_body(messages))
        try:
            for attempt in (1, 2):
                try:
                    async for event in self._stream_once(body, client, retry=attempt == 1):
                        yield event
                    return
                except _RetryAfter as wait:
                    await asyncio.sleep(wait.seconds)
        except ProviderError as exc:
            exc.redact(self.secrets())
            raise

    async def _stream_once(self, body: bytes, client: EndpointClient, *,
                           retry: bool) -> AsyncIterator[StreamEvent]:
        url = f"{self.config.base_url}/chat/completions"
        timeout = httpx.Timeout(connect=self.config.connect_timeout, read=None, write=30,
                                pool=self.config.connect_timeout)
        answering = False  # set once the response headers are in
        try:
            async with client.stream("POST", url, content=body, headers=self.headers(),
                                     timeout=timeout,
                                     response_timeout=self.config.first_token_timeout) as response:
                answering = True
                if response.status_code != 200:
                    await self._raise_for_status(response, retry=retry)
                got_text = False
                deadline = asyncio.get_running_loop().time() + self.config.total_timeout
                events = SSEStream(response, first_timeout=self.config.first_token_timeout,
                                   stall_timeout=self.config.stall_timeout, deadline=deadline)
                async for sse in events:
                    if sse.data.strip() == b"[DONE]":
                        events.end()  # read the body's end: the connection can be reused
                        continue
                    if sse.event == "error":
                        raise UpstreamServerError(f"error event mid-stream: {_excerpt(sse.data)}")
                    for event in self._parse(sse.data):
                        got_text = got_text or isinstance(event, TextDelta)
                        yield event
                if not got_text:
                    raise EmptyAnswer("stream ended without any text")
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url, answering=answering) from exc

    def _transport_error(self, exc: httpx.TransportError, url: str, *,
                         answering: bool) -> ProviderError:
        if answering:
            if isinstance(exc, httpx.TimeoutException):
                return StreamStalled(f"read timeout mid-stream: {exc}")
            return MalformedStream(f"connection broken mid-stream: {exc}")
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return FirstTokenTimeout(
                f"no response from {url} within {self.config.first_token_timeout:g}s")
        return ConnectFailed(f"cannot connect to {url}: {exc}")

    def _parse(self, data: bytes) -> list[StreamEvent]:
        try:
            chunk = orjson.loads(data)
            if chunk.get("error"):
                raise UpstreamServerError(f"error chunk mid-stream: {_excerpt(data)}")
            events: list[StreamEvent] = []
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    events.append(TextDelta(text))
            usage = chunk.get("usage")
            if usage:
                events.append(Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")))
            return events
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            raise MalformedStream(f"not a chat-completions chunk: {_excerpt(data)!r}") from exc

    async def _raise_for_status(self, response: httpx.Response, *, retry: bool) -> None:
        body = (await response.aread())[:500].decode("utf-8", errors="replace")
        status = response.status_code
        detail = f"HTTP {status} from {response.url.host}: {body}"
        if status == 429:
            wait = _retry_after_seconds(response.headers.get("retry-after"))
            if retry and wait is not None and wait <= self.config.max_retry_after:
                log.info("%s rate limited; retrying once after %.1fs", self.config.name, wait)
                raise _RetryAfter(wait)
            raise RateLimited(detail)
        if status >= 500:
            raise UpstreamServerError(detail)
        raise UpstreamRequestError(detail, status=status)


class _RetryAfter(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _excerpt(data: bytes) -> str:
    return data[:200].decode("utf-8", errors="replace")


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
