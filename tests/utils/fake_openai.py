"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol.

Each model id follows a `Script`: how fast it streams, whether it stalls,
fails with an HTTP status, sends malformed events, answers nothing, or names
its maker. Requests are recorded (headers and bodies) for assertions.

Standalone, for benchmarks:  python -m tests.utils.fake_openai --port 9100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.utils.uvicorn_thread import serve_in_thread


@dataclass
class Script:
    reply: str = "Hello! Here is a careful answer to your question."
    tokens: int | None = None  # repeat the reply's words up to this many tokens
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    stall_after: int | None = None  # stop sending (connection open) after N tokens
    status: int = 200
    retry_after: str | None = None  # with status 429: fail once, then answer
    malformed: bool = False
    usage: bool = True
    linger_after_done: float = 0.0  # keep the response open this long after [DONE]
    echo_key: bool = False  # with an error status: the body repeats the bearer key
    together: int = 0  # hold each answer until this many requests (a round) have come


@dataclass
class FakeOpenAI:
    scripts: dict[str, Script] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _failed_once: set[str] = field(default_factory=set)
    _arrived: dict[str, int] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.completions,
                                       methods=["POST"])])

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        peer = (request.client.host, request.client.port) if request.client else None
        self.requests.append({"headers": dict(request.headers), "body": body, "peer": peer})
        model = body.get("model", "")
        script = self.scripts.get(model, Script())
        if script.status == 429 and script.retry_after is not None:
            if model not in self._failed_once:
                self._failed_once.add(model)
                return JSONResponse({"error": {"message": "slow down"}}, status_code=429,
                                    headers={"Retry-After": script.retry_after})
        elif script.status != 200:
            message = f"scripted {script.status}"
            if script.echo_key:
                message = ("Incorrect API key provided: "
                           + request.headers.get("authorization", "").removeprefix("Bearer "))
            return JSONResponse({"error": {"message": message}}, status_code=script.status)
        if not body.get("stream"):
            return JSONResponse(_completion(model, script.reply))
        arrived = self._arrived[model] = self._arrived.get(model, 0) + 1
        round_end = -(-arrived // script.together) * script.together if script.together else 0
        return StreamingResponse(self._events(model, script, round_end),
                                 media_type="text/event-stream")

    async def _events(self, model: str, script: Script, round_end: int = 0
                      ) -> AsyncIterator[bytes]:
        while self._arrived.get(model, 0) < round_end:  # the rest of the round is coming
            await asyncio.sleep(0.005)
        if script.first_token_delay:
            await asyncio.sleep(script.first_token_delay)
        if script.malformed:
            yield b"data: {this is not json\n\n"
            return
        for index, token in enumerate(_tokens(script)):
            if script.stall_after is not None and index >= script.stall_after:
                await asyncio.sleep(3600)
            if index and script.token_delay:
                await asyncio.sleep(script.token_delay)
            yield _event({"id": "c1", "object": "chat.completion.chunk", "model": model,
                          "choices": [{"index": 0, "delta": {"content": token}}]})
        yield _event({"id": "c1", "object": "chat.completion.chunk", "model": model,
                      "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if script.usage:
            count = len(_tokens(script))
            yield _event({"id": "c1", "choices": [], "usage": {
                "prompt_tokens": 11, "completion_tokens": count, "total_tokens": count + 11}})
        yield b"data: [DONE]\n\n"
        if script.linger_after_done:
            await asyncio.sleep(script.linger_after_done)


def _tokens(script: Script) -> list[str]:
    if not script.reply:
        return []
    words = [w + " " for w in script.reply.split(" ")]
    if script.tokens is None:
        return words
    return [words[i % len(words)] for i in range(script.tokens)]


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _completion(model: str, text: str) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}]}


@contextmanager
def serve_fake_openai(fake: FakeOpenAI) -> Iterator[str]:
    """Run *fake* on 127.0.0.1 in a thread; yields its base URL (…/v1)."""
    with serve_in_thread(fake.app(), log_level="warning") as port:
        yield f"http://127.0.0.1:{port}/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--token-delay", type=float, default=0.01)
    args = parser.parse_args()
    fake = FakeOpenAI()
    default = Script(tokens=args.tokens, token_delay=args.token_delay)
    fake.scripts = _DefaultDict(default)
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning",
                timeout_keep_alive=120, backlog=4096)


class _DefaultDict(dict):  # every model id follows the default script
    def __init__(self, default: Script) -> None:
        super().__init__()
        self.default = default

    def get(self, key: Any, fallback: Any = None) -> Any:
        return super().get(key, self.default)


if __name__ == "__main__":
    main()
