"""Mail sources behind one interface: IMAP, a Maildir, and single messages from an MTA pipe."""

from mailtriage.mailbox.base import FetchedMessage, Mailbox, MailboxError, MessageKey

__all__ = ["FetchedMessage", "Mailbox", "MailboxError", "MessageKey"]
