"""Pieces every app shares: errors, outbound HTTP, redaction, admin helpers. No models; imports no app."""
