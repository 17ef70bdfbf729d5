"""Business logic in plain functions: a session in, models or dataclasses out; no Flask below this line."""
