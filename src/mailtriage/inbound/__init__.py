"""Reading one incoming mail: bytes in, a plain `InboundMail` out, and what its text says.

Everything here is pure and treats the mail as hostile: MIME and charsets (`mime/`), HTML to
text in linear time, quoted history, signatures, forwards, the reply language, whether the
receiving MX authenticated the sender. It imports nothing from the store, the desk or the
outgoing side (`tests/unit/test_layers.py` holds that), so it can run in a killable worker.
"""
