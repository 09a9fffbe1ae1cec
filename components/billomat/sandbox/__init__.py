"""The Billomat sandbox: XML-by-default REST API with Billomat's list quirks, lifecycles and rate limit."""
