"""The purchase API: signed point-of-sale webhooks for purchases and refunds (FastAPI)."""
