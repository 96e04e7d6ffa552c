"""What accounts tells the apps built on it, without knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# A person signed up and got a personal organization: sent with `user` and `organization`, inside the
# transaction that created them (billing grants the welcome credit in it).
user_signed_up = Signal()
