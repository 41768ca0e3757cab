"""The outbox dispatcher: sends queued messages through each platform's sender, paced."""
