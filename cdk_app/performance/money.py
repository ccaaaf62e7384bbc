"""Dollar amounts as `cost` prints them: cents visible on small bills, and prices without trailing zeros."""

from __future__ import annotations


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 10 else f"${value:.4f}"


def price(value: float) -> str:
    return format(value, ".7f").rstrip("0").rstrip(".")
