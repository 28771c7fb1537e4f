"""Identity resolution: identifiers, normalization, the identity graph, merge and un-merge."""
