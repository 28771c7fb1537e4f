"""Outbound channels: messages to customers (email via SMTP), each through the permission check."""
