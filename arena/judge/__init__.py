"""LLM judges: the prompt a judge is given and how its verdict is read."""
