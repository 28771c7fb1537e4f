"""The knowledge base: help articles, their search, and the help center customers read them in."""
