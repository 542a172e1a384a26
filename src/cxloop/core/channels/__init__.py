"""Outgoing channels. Importing this package registers every built-in channel."""

from cxloop.core.channels import email, webhook  # noqa: F401  (registers the channels)
from cxloop.core.channels.base import (
    Channel,
    DeliveryError,
    UnknownChannel,
    channel_names,
    get_channel,
    register,
)

__all__ = [
    "Channel",
    "DeliveryError",
    "UnknownChannel",
    "channel_names",
    "get_channel",
    "register",
]
