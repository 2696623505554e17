"""ypv: a self-hosted, SMS-Activate-compatible virtual-number reseller API."""

__version__ = "0.1.0"
