"""Mail the desk sends: queued in the outbox with the change that caused it, built at delivery.

Each kind of mail is one module in `mailkinds/` (audience, guard, typed payload, templates);
`letters` turns an outbox row into bytes through `render` (Jinja2) and `compose` (headers that
cannot be injected); `masking` hides a reporter from staff copies; `transport/` delivers.
"""
