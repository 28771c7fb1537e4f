"""The staff console, the customer portal and the unsubscribe page: server-rendered pages, no script."""
