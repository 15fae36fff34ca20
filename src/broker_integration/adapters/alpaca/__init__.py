"""Alpaca: Trading API v2 and Market Data API v2."""
