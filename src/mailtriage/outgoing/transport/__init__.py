"""Delivery of outgoing mail: SMTP submission, or a local Maildir (the demo)."""

from mailtriage.outgoing.transport.base import DeliveryError, Transport

__all__ = ["DeliveryError", "Transport"]
