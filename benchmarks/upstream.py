"""A lean model endpoint for benchmarks: OpenAI chat completions, streamed, on raw asyncio.

Every request gets --tokens tokens, one server-sent event each, --token-delay
seconds apart, then a usage chunk and [DONE], over HTTP/1.1 chunked encoding
with keep-alive. A real endpoint runs on its own machine; this one shares the
benchmark's cores with the arena, so it is written to cost as little CPU as
possible (events are encoded once, no framework). tests/utils/fake_openai.py is
the scriptable server the tests use.

    python benchmarks/upstream.py --port 9100 [--tokens 200] [--token-delay 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import json


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def event(data: dict[str, object] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return chunk(f"data: {text}\n\n".encode())


HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")


class Answers:
    def __init__(self, tokens: int, delay: float) -> None:
        self.tokens, self.delay = tokens, delay
        delta = {"id": "b1", "object": "chat.completion.chunk", "model": "bench",
                 "choices": [{"index": 0, "delta": {"content": "word "}}]}
        self.token = event(delta)
        self.tail = (event({"id": "b1", "object": "chat.completion.chunk", "model": "bench",
                            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                     + event({"id": "b1", "choices": [], "usage": {
                         "prompt_tokens": 5, "completion_tokens": tokens,
                         "total_tokens": tokens + 5}})
                     + event("[DONE]") + b"0\r\n\r\n")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if not head.startswith(b"POST "):  # a health check
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    continue
                writer.write(HEAD)
                for index in range(self.tokens):
                    if index:
                        await asyncio.sleep(self.delay)
                    writer.write(self.token)
                writer.write(self.tail)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--token-delay", type=float, default=0.01)
    args = parser.parse_args()
    answers = Answers(args.tokens, args.token_delay)
    server = await asyncio.start_server(answers.serve, "127.0.0.1", args.port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except KeyboardInterrupt:
        pass
