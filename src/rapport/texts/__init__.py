"""What the words say: sentiment and topics of what customers write (survey answers, chats, case
messages, social mentions). See docs/texts.md."""
