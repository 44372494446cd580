//! The person's `--reason` for going past a gate, recorded in front of the gate's own account
//! (which gate, what it found) so `dbsage history` shows why first.

/// `reason (account)`, or the account alone when no reason (or a blank one) was given.
pub fn with_reason(account: &str, reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => format!("{reason} ({account})"),
        None => account.to_string(),
    }
}

/// `with_reason` applied to each audit event that is one of the overrides.
pub fn with_override_reason(
    mut events: Vec<(String, String)>,
    overrides: &[(String, String)],
    reason: Option<&str>,
) -> Vec<(String, String)> {
    for (event, text) in &mut events {
        if overrides.iter().any(|(o, _)| o == event) {
            *text = with_reason(text, reason);
        }
    }
    events
}
