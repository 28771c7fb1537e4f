"""Staff access: API tokens with roles, console sessions, the audit log."""
