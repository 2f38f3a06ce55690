"""The SMP client: request/response matching over any transport, and typed operations."""

from app.client.client import SmpClient, TrafficHook

__all__ = ["SmpClient", "TrafficHook"]
