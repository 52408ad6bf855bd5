"""Signed webhooks: subscriptions, the SSRF guard, fan-out from the feed, delivery with retries (docs/webhooks.md)."""
