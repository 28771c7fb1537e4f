"""The assistant: recognizes what a customer asks, answers from the matching published help article,
and hands off to a person (a service-desk case) when it cannot (docs/assistant.md)."""
