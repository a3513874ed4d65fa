"""A real HTTP judge on 127.0.0.1: OpenAI chat completions (streamed), deterministic verdicts.

It reads the built-in judge prompt (arena.judge.templates) and answers: the longer answer
wins ([[A]] or [[B]]), equal lengths tie ([[C]]). A question holding MALFORMED gets no
verdict, BIASED always [[A]] (a judge with position bias), SLOW waits `slow` seconds,
RATE is refused once with 429 and Retry-After before it is answered. Every request's JSON
body is kept in `bodies`, in order, for tests of what the judge was told.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.utils.uvicorn_thread import serve_in_thread

HEADS = {  # the built-in templates' section heads: question, answer A, answer B
    "en": ("[User question]\n", "[Assistant A's answer]\n", "[Assistant B's answer]\n"),
    "zh": ("[用户问题]\n", "[助手 A 的回答]\n", "[助手 B 的回答]\n"),
}
EXPLAINED = {"en": ("One is more complete.", "Equally good."),
             "zh": ("其中一个回答更完整。", "两个回答同样好。")}


@dataclass
class FakeJudge:
    delay: float = 0.0  # before every answer (benchmarks)
    slow: float = 0.3
    requests: int = 0
    refused: set[str] = field(default_factory=set)
    bodies: list[dict] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.completions,
                                       methods=["POST"])])

    def verdict(self, prompt: str) -> str:
        language = "zh" if HEADS["zh"][1] in prompt else "en"
        q_head, a_head, b_head = HEADS[language]
        question = prompt.split(q_head, 1)[1].split("\n\n" + a_head, 1)[0]
        answer_a = prompt.split(a_head, 1)[1].split("\n\n" + b_head, 1)[0]
        answer_b = prompt.split(b_head, 1)[1]
        better, equal = EXPLAINED[language]
        if "MALFORMED" in question:
            return "Both answers have merit; I cannot decide."
        if "BIASED" in question:
            return "The first answer reads better.\n[[A]]"
        if len(answer_a) == len(answer_b):
            return f"{equal}\n[[C]]"
        return f"{better}\n" + ("[[A]]" if len(answer_a) > len(answer_b) else "[[B]]")

    async def completions(self, request: Request) -> Response:
        self.requests += 1
        body = await request.json()
        self.bodies.append(body)
        prompt = body["messages"][-1]["content"]
        if "RATE" in prompt and prompt not in self.refused:
            self.refused.add(prompt)
            return JSONResponse({"error": {"message": "slow down"}}, status_code=429,
                                headers={"Retry-After": "0.2"})
        before_answers = prompt.split(HEADS["en"][1], 1)[0].split(HEADS["zh"][1], 1)[0]
        wait = self.delay + (self.slow if "SLOW" in before_answers else 0.0)
        return StreamingResponse(self._events(self.verdict(prompt), wait),
                                 media_type="text/event-stream")

    async def _events(self, text: str, wait: float) -> AsyncIterator[bytes]:
        if wait:
            await asyncio.sleep(wait)
        for piece in (text[: len(text) // 2], text[len(text) // 2:]):
            yield _event({"choices": [{"index": 0, "delta": {"content": piece}}]})
        yield _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        yield _event({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 7}})
        yield b"data: [DONE]\n\n"


def _event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


@contextmanager
def serve_fake_judge(fake: FakeJudge) -> Iterator[str]:
    """Run *fake* on 127.0.0.1 in a thread; yields its base URL (…/v1)."""
    with serve_in_thread(fake.app(), log_level="warning") as port:
        yield f"http://127.0.0.1:{port}/v1"
