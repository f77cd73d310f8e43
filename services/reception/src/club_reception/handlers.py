"""What the reception service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox."""

from __future__ import annotations

from club_platform.consumer import EventConsumer

consumer = EventConsumer("reception")
