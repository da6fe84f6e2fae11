//! The little JSON mixcli writes (`info --json`, the batch failure report, the demo's plan):
//! string escaping and the plan object.

use std::fmt::Write;

use mixcore::Plan;

/// `s` as a JSON string literal, quotes included.
#[must_use]
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: impl Iterator<Item = impl std::fmt::Display>) -> String {
    let parts: Vec<String> = items.map(|v| v.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// The plan as `"segments": [{"frames": [..], "numerators": [..], "denominator": D}, ...]`
/// (the value only, a JSON array).
#[must_use]
pub fn segments(plan: &Plan<'_>) -> String {
    let segs: Vec<String> = plan
        .iter()
        .map(|seg| {
            let w = seg.window();
            format!(
                "{{\"frames\": {}, \"numerators\": {}, \"denominator\": {}, \"window\": [{}, {}]}}",
                list(seg.positions()),
                list(seg.numerators()),
                seg.denominator(),
                w.lo,
                w.hi
            )
        })
        .collect();
    format!("[{}]", segs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escapes_controls_and_quotes() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(string("é"), "\"é\"");
    }

    #[test]
    fn segments_lists_positions_numerators_denominators() {
        let plan = Plan::new(
            4,
            &mixcore::PlanConfig {
                segments: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            segments(&plan),
            "[{\"frames\": [0, 1], \"numerators\": [1, 2], \"denominator\": 3, \"window\": [0, 2]}, \
             {\"frames\": [2, 3], \"numerators\": [1, 2], \"denominator\": 3, \"window\": [2, 4]}]"
        );
    }
}
