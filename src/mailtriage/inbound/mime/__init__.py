"""The byte-level reading of mail behind `mailtriage.inbound.message`.

`message.py` is the seam to mail-parser and builds the `InboundMail`; the modules here do the
work it needs that no library does the way this project needs it (see message.py's
docstring). None of them imports mail-parser: they work on the `email.message.Message` tree
whichever parser built it, so the seam stays one module wide.
"""
