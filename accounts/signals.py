"""What accounts tells the apps built on it, without knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# A person who signed up has a verified address: sent with `user` and `organization` (the workspace
# sign-up made for them) each time one of their addresses is verified. Billing grants the welcome
# credit on it, once per person.
signup_verified = Signal()
