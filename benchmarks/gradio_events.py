"""A minimal client of Gradio's queue API, as the page's JavaScript uses it.

An event is `POST /gradio_api/queue/join` {data, fn_index, session_hash, ...},
then the server-sent events of `GET /gradio_api/queue/data?session_hash=...`
until `process_completed`. gr.State inputs are sent as null: the server keeps
them per session (in the process that serves the session, hence the sticky
cookie behind nginx). Loopback only; used by benchmarks/load_test.py.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx


class EventFailed(RuntimeError):
    """The event did not complete successfully; the message says why."""


def fn_index(config: dict[str, Any], elem_id: str, event: str = "click") -> int:
    """The index of the dependency that *event* on the component *elem_id* triggers."""
    ids = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id}
    for index, dependency in enumerate(config["dependencies"]):
        if any(target == component and kind == event
               for component, kind in dependency["targets"] for target in ids):
            return dependency.get("id", index)
    raise KeyError(f"no {event} event on #{elem_id}")


def load_index(config: dict[str, Any]) -> int:
    """The first page-load event (`blocks.load`)."""
    for index, dependency in enumerate(config["dependencies"]):
        if any(kind == "load" for _, kind in dependency["targets"]):
            return dependency.get("id", index)
    raise KeyError("no load event")


CONFIG_MARK = "window.gradio_config = "


def page_config(html: str) -> dict[str, Any]:
    """The config a Gradio page carries in its script `window.gradio_config = {...};`."""
    start = html.find(CONFIG_MARK)
    if start < 0:
        raise EventFailed("the page carries no Gradio config")
    config, _ = json.JSONDecoder().raw_decode(html, start + len(CONFIG_MARK))
    return config  # type: ignore[no-any-return]


class GradioSession:
    """One browser tab: a cookie jar (the voter), a session hash, events in turn."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.session_hash = secrets.token_hex(6)

    async def open(self) -> dict[str, Any]:
        """Load the page (sets the voter cookie) and return the app's config, which the
        page carries (a browser reads it there and does not ask for /config)."""
        page = await self.client.get(f"{self.url}/")
        page.raise_for_status()
        return page_config(page.text)

    async def event(self, fn: int, data: list[Any]) -> list[Any]:
        """Run one event; its output data."""
        join = await self.client.post(f"{self.url}/gradio_api/queue/join", json={
            "data": data, "event_data": None, "fn_index": fn, "trigger_id": None,
            "session_hash": self.session_hash})
        if join.status_code != 200:
            raise EventFailed(f"join: HTTP {join.status_code}")
        event_id = join.json()["event_id"]
        async with self.client.stream(
                "GET", f"{self.url}/gradio_api/queue/data",
                params={"session_hash": self.session_hash}) as stream:
            if stream.status_code != 200:
                raise EventFailed(f"data: HTTP {stream.status_code}")
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (None, event_id):
                    continue
                if message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise EventFailed(str(message.get("output"))[:200])
                    return message["output"]["data"]
        raise EventFailed("the event stream ended before the event completed")
