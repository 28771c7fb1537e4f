"""The web console (staff) and, later, the customer portal: server-rendered pages."""
