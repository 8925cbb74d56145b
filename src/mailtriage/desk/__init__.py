"""Carrying decisions out on the store: cases, staff commands, replies, jobs, the purge.

`casework` applies triage's decision for one mail (one small applier per disposition);
`staffdesk` applies a staff mail through the state table (`staffcommands/`, one module per
command); `replies` queues outgoing mail in the same transaction; `jobs` keeps the policy's
clocks (reminders, escalations, progress updates, the digest); `purge` erases what the policy
says must go.
"""
