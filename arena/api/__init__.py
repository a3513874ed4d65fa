"""REST API beside the Gradio UI, for scripts and load tests."""

from fastapi import APIRouter

from arena.api import admin, leaderboard, live, routes

router = APIRouter()
router.include_router(routes.router)
router.include_router(live.router)
router.include_router(leaderboard.router)
router.include_router(admin.router)

__all__ = ["router"]
