"""mailtriage: runs a security@ mailbox under a coordinated-vulnerability-disclosure policy."""

__version__ = "0.1.0"
