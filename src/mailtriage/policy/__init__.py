"""The desk's decisions as pure functions: what a mail is, what may be sent, what is due.

Triage (what a mail is), the redirect rules, the staff command language and what of a staff
mail may reach a reporter, the case states and their one permission table, the automatic-reply
guard, the Dutch working-day calendar. Values in, values out: no store, no clock, no I/O, so
every rule is tested without fakes. The desk (`desk/`) carries the decisions out.
"""
