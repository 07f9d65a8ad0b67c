"""Flux apps: specifications, validation, pricing and signed app messages.

Pure logic, no I/O. Entry points for routes and commands:

* `formatter.format_spec(raw)` - the canonical spec; `formatter.canonical_json(spec)`
* `validation.verify_app_specifications(spec, height)` - §3 rules at a block height
* `updates.check_update_rules(spec, previous)` - §4.2; `conflicts.check_name_available` - §4.1
* `registration.AppSpecChecker` - the verify/register/update checks of the API
* `quotes.PriceQuoter` - `/apps/calculatefiatandfluxprice`; `pricing` - the price rules
* `messages` - signed text, message hash, owner signatures
* `imagerefs` - repotags and registry credentials
* `command.apps_app` - the `fluxos apps` commands

Talking to the outside world, behind the protocols the logic declares:

* `dockerregistry.DockerRegistryClient` - `images.ImageRegistry` over the Registry API v2
* `fluxservices.FluxServices` - Flux's lists (GitHub), price table, marketplace and rates
* `heights` - `HeightSource`: the daemon's height, or the latest fork height
* `service.AppsService` - what the `/apps` routes call, built by `fluxos.node`
"""
