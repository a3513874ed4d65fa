"""The voter page's Gradio event queue, set up in one place.

`configure_queue` is what the arena's voter page uses, and the load test's bare Gradio
app (benchmarks/bare_apps.py) too, so that the two are compared on the same queue:

- `server.ui_concurrency` events at once (Gradio's default is one: one voter's
  30-second live answer would hold every other voter's back), at most
  `server.ui_queue_size` waiting;
- Gradio's event analytics summarised once per ANALYTICS_SUMMARY_EVERY events, not
  after every event. Gradio keeps the last 10,000 events' timings for its monitoring
  dashboard (which the arena does not serve) and, by default, rebuilds a pandas
  summary of them after each one, in a worker thread: 3-7 ms of CPU per event on
  these machines, more than a whole bare event costs without it.
"""

from __future__ import annotations

import gradio as gr

from arena.config import ServerSettings

ANALYTICS_SUMMARY_EVERY = 1000


def configure_queue(blocks: gr.Blocks, server: ServerSettings) -> None:
    blocks.queue(default_concurrency_limit=server.ui_concurrency,
                 max_size=server.ui_queue_size)
    queue = blocks._queue
    # Gradio's own name for it (GRADIO_ANALYTICS_CACHE_FREQUENCY), spelling included:
    # checked, so that a Gradio release that renames it fails here, not silently.
    if not hasattr(queue, "ANAYLTICS_CACHE_FREQUENCY"):
        raise RuntimeError("this Gradio has no ANAYLTICS_CACHE_FREQUENCY on its queue: "
                           "see arena.ui.event_queue")
    queue.ANAYLTICS_CACHE_FREQUENCY = ANALYTICS_SUMMARY_EVERY
