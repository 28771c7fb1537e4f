"""The kernel: what every context stands on and nothing of the domain (errors, audit, secrets, the
personal-data registry, the clock, cursors, mail transport)."""
