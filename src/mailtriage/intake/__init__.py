"""Getting mail in without losing any: store raw first, then parse and apply, then file.

`pipeline.Intake` fetches in batches, commits the raw bytes and an attempt before any risky
work, parses in a killable worker (`parsepool`), hands each mail to the desk and moves it in
the mailbox only after the commit. A mail that fails is quarantined on its own.
"""
