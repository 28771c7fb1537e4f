"""Collection: the Segment-compatible Tracking API, file import, the event log and dead letters."""
