"""Settings of live battles: the model endpoints and how battles against them run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_IDENTITY_WORDS = [
    "ChatGPT", "GPT-3", "GPT-4", "GPT-4o", "GPT-5", "OpenAI", "Claude", "Anthropic",
    "Qwen", "Tongyi", "通义", "千问", "Alibaba Cloud", "阿里云", "阿里巴巴",
    "Llama", "Meta AI", "Gemini", "Bard", "Google DeepMind", "DeepSeek", "深度求索",
    "Mistral", "Mixtral", "Kimi", "Moonshot", "月之暗面", "ERNIE", "文心一言", "百度",
    "ChatGLM", "GLM-4", "智谱", "Zhipu", "Doubao", "豆包", "字节跳动", "ByteDance",
    "Grok", "xAI", "Yi-34B", "零一万物", "Baichuan", "百川", "MiniMax", "Phi-3", "Gemma",
]


# The protocols arena.providers implements (arena.providers.PROVIDERS has one class each).
ProviderKind = Literal["openai"]


class EndpointSettings(BaseModel):
    """One OpenAI-compatible endpoint: a live model's or a judge's."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Shown after the vote.")
    provider: ProviderKind = Field(default="openai",
                                   description="Protocol: 'openai' chat completions.")
    base_url: str = Field(description="e.g. https://api.openai.com/v1")
    model: str = Field(min_length=1, description="Model id sent to the endpoint.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the API key (never the key)."
    )
    system_prompt: str | None = None
    temperature: float | None = Field(default=0.7, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra JSON fields sent with each request."
    )
    connect_timeout: float = Field(default=10.0, gt=0)
    first_token_timeout: float = Field(default=60.0, gt=0)
    stall_timeout: float = Field(default=30.0, gt=0)
    total_timeout: float = Field(default=600.0, gt=0)
    max_retry_after: float = Field(
        default=10.0, ge=0, description="Longest Retry-After (s) honoured once on HTTP 429."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class LiveModelSettings(EndpointSettings):
    """One model endpoint (`[[models]]` in the config)."""

    weight: float = Field(default=1.0, ge=0, description="Relative sampling weight.")
    organization: str | None = None
    license: str | None = None


class LiveSettings(BaseModel):
    """How live battles run (`[live]` in the config)."""

    model_config = ConfigDict(extra="forbid")

    max_turns: int = Field(default=3, ge=1, le=50)
    max_input_chars: int = Field(default=8000, ge=1)
    failures_before_pause: int = Field(default=3, ge=1)
    pause_seconds: float = Field(default=300.0, ge=0)
    identity_words: list[str] = Field(
        default_factory=list,
        description="Words that flag an answer `identity_leak`, added to the built-in list "
                    "and to each configured model's name, model id and organization.")
    builtin_identity_words: bool = Field(
        default=True, description="Use DEFAULT_IDENTITY_WORDS too (false: only the others).")
