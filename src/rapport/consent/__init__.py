"""Consent and preferences, the one permission check, unsubscribe, export and erasure."""
