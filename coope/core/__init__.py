"""Pure core shared by the daemon and its clients: errors, rules, domain models, wire schemas."""
