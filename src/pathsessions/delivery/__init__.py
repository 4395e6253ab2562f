"""Webhook delivery: the worker each server process runs, which takes due events from the
outbox (storage/webhooks.py) and POSTs them, signed, to their subscription's URL."""

from __future__ import annotations

from .worker import DeliveryWorker

__all__ = ["DeliveryWorker"]
