"""The unified profile: identifiers, traits, channels, timeline."""
