"""The ceilings of benchmarks/load_test.py: the least an app can do per request.

- `fastapi_app`: FastAPI + SQLModel, `POST /insert` inserts one row (one session,
  one commit), as the arena's REST routes use them.
- `gradio_app`: Gradio Blocks mounted on FastAPI, one button whose event inserts
  one row (elem_id `bare-insert`), the queue of the arena's voter page
  (arena.ui.event_queue.configure_queue).

Both read the database from BARE_DATABASE_URL; served with
`uvicorn benchmarks.bare_apps:fastapi_app --factory` (or gradio_app).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlmodel import Field, Session, SQLModel, create_engine


class Row(SQLModel, table=True):
    __tablename__ = "bare_row"

    id: int | None = Field(default=None, primary_key=True)
    voter: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _engine():  # type: ignore[no-untyped-def]
    url = os.environ["BARE_DATABASE_URL"]
    if url.startswith("sqlite"):
        from arena.db import make_engine  # WAL and the arena's SQLite settings

        engine = make_engine(url)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine


def _insert(engine, voter: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        row = Row(voter=voter)
        session.add(row)
        session.commit()
        return row.id or 0


def fastapi_app() -> FastAPI:
    engine = _engine()
    app = FastAPI()

    @app.post("/insert")
    def insert() -> dict[str, int]:
        return {"id": _insert(engine, "rest")}

    return app


def gradio_app() -> FastAPI:
    import gradio as gr

    from arena.config import ServerSettings
    from arena.ui.event_queue import configure_queue

    engine = _engine()
    with gr.Blocks(analytics_enabled=False) as blocks:
        out = gr.Markdown("")
        button = gr.Button("insert", elem_id="bare-insert")
        button.click(lambda: f"row {_insert(engine, 'ui')}", outputs=out)
    # The same queue as the arena's voter page (with the server settings' defaults).
    configure_queue(blocks, ServerSettings())
    return gr.mount_gradio_app(FastAPI(), blocks, path="", ssr_mode=False)
