"""The Billbee sandbox (see app.py)."""
