"""Webhook delivery: the worker, which takes due events from the outbox (storage/webhooks.py)
and POSTs them, signed, to their subscription's URL, and the process `serve` runs it in
(process.py)."""

from __future__ import annotations

from .worker import DeliveryWorker

__all__ = ["DeliveryWorker"]
