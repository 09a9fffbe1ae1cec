"""The Plenigo API v3 sandbox (see app.py)."""
