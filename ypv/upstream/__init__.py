"""Reseller mode: buy numbers from upstream SMS-Activate-compatible providers.

client.py     one HTTP call to an upstream, classified (answer, definite failure, or ambiguous)
registry.py   the operator's upstreams: add/list/remove, markup arithmetic, alerts
sync.py       countries, services, prices and stock from each upstream
buying.py     getNumber through upstreams: charge, buy, failover, reconcile an ambiguous sale
tracking.py   status polling (rate-limited per activation), setStatus forwarding, expiry
orphans.py    upstream activations nobody pays for: found via getActiveActivations, cancelled
report.py     sales, upstream spend and margin per day
"""
