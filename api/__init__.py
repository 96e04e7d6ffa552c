"""The native REST API's own data: idempotency records, rate-limit counters and per-organization limits."""
