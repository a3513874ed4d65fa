"""Settings of LLM judges (`[[judges]]` in the config): an endpoint like a live model's,
plus the prompt it is given and the verdict format it must answer in."""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import Field, field_validator

from arena.config_live import EndpointSettings

TEMPLATE_FIELDS = frozenset({"question", "answer_a", "answer_b"})
TEMPLATE_LANGUAGES = ("en", "zh")


class JudgeSettings(EndpointSettings):
    """One judge: compares two answers to one question, never told the models' names."""

    temperature: float | None = Field(default=0.0, ge=0, le=2)
    templates: dict[str, str] = Field(
        default_factory=dict,
        description="Prompt per language (en, zh) with {question}, {answer_a} and {answer_b}; "
                    "a language not given uses the built-in template (arena/judge/templates.py).")
    verdict_format: Literal["arena-v1"] = Field(
        default="arena-v1",
        description="arena-v1: the answer's last line is exactly [[A]], [[B]] or [[C]] (tie).")

    @field_validator("templates")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for language, template in value.items():
            if language not in TEMPLATE_LANGUAGES:
                raise ValueError(f"unknown language {language!r}: use "
                                 f"{' or '.join(TEMPLATE_LANGUAGES)}")
            try:
                fields = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
            except ValueError as exc:
                raise ValueError(f"{language}: {exc} (write a literal brace as {{{{ or }}}})"
                                 ) from exc
            unknown, missing = fields - TEMPLATE_FIELDS, TEMPLATE_FIELDS - fields
            if unknown or missing:
                raise ValueError(
                    f"{language}: the template must use {{question}}, {{answer_a}} and "
                    f"{{answer_b}}" + (f"; unknown: {', '.join(sorted(unknown))}" if unknown
                                       else f"; missing: {', '.join(sorted(missing))}"))
        return value
