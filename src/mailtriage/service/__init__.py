"""Running the desk: the composition root, the command line, the daemon and systemd.

`wiring.build(config, clock)` makes every collaborator once; `cli` is the operator's
interface; `daemon` is the long-running loop (IMAP IDLE, APScheduler jobs) that systemd
supervises through `systemd`; `views` shapes cases for `cases` and `case`.
"""
