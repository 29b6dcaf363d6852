"""Webhooks: where a completed process is announced, and the outbox that delivers it."""
