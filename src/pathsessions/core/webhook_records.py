"""The records of webhooks (v2 §8) that storage answers: subscriptions, their secrets, the
events of the event log, and an event taken for delivery."""

from __future__ import annotations

import msgspec


class Subscription(msgspec.Struct, frozen=True):
    id: str
    event_type: str
    name: str
    url: str
    status: str  # active, inactive


class SubscriptionSecrets(msgspec.Struct, frozen=True):
    """The secret deliveries are signed with and, for 24 hours after a rotation, the one it
    replaced (`previous_until`: when that one stops signing)."""

    secret: str
    previous: str | None = None
    previous_until: int | None = None

    def live(self, now: int) -> list[str]:
        """The secrets a delivery made at `now` is signed with, the current one first."""
        if (
            self.previous is not None
            and self.previous_until is not None
            and now < self.previous_until
        ):
            return [self.secret, self.previous]
        return [self.secret]


class WebhookEvent(msgspec.Struct, frozen=True):
    id: str
    created_at: int
    status: str  # pending, sending, delivered, failed
    payload: str  # the JSON body delivered, exactly


class DueEvent(msgspec.Struct, frozen=True):
    """An event a worker holds under `claim`, with what sending it needs."""

    id: str
    payload: str
    attempts: int  # made so far, all rounds
    tries: int  # made in this round of the retry schedule
    url: str
    secrets: SubscriptionSecrets
    claim: str
    company_id: str
    subscription_id: str
