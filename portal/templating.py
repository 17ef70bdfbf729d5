"""Template filters: money and dates shown the same way on every page."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask


def format_money(amount: Decimal | str | None, currency: str | None = None) -> str:
    """1234567.5, "CAD" -> "1,234,567.50 CAD"; amounts are never converted between currencies."""
    if amount in (None, ""):
        return "—"
    value = Decimal(str(amount))
    return f"{value:,.2f} {currency or ''}".strip()


def format_date(value: datetime | None, with_time: bool = False) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["date"] = format_date
