"""Flux apps: specifications, validation, pricing and signed app messages.

Pure logic, no I/O. Entry points for routes and commands:

* `formatter.format_spec(raw)` - the canonical spec; `formatter.canonical_json(spec)`
* `validation.verify_app_specifications(spec, height)` - §3 rules at a block height
* `updates.check_update_rules(spec, previous)` - §4.2; `conflicts.check_name_available` - §4.1
* `registration.AppSpecChecker` - the verify/register/update checks of the API
* `quotes.PriceQuoter` - `/apps/calculatefiatandfluxprice`; `pricing` - the price rules
* `messages` - signed text, message hash, owner signatures
* `command.apps_app` - the `fluxos apps` commands
"""
