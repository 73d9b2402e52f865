"""The notifications service: who is told what, by email and webhooks, each on the record."""
