"""REST API beside the Gradio UI, for scripts and load tests."""

from arena.api.routes import router

__all__ = ["router"]
