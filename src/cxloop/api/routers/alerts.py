"""/api/v1/alerts: anomaly alerts, their rules and subscriptions (being built)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["alerts"])
