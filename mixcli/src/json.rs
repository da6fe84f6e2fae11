//! The JSON mixcli writes (`info --json`, the batch failure report and `index.jsonl`, the
//! demo's plan, the resume records), built as `serde_json` values. Objects keep the order
//! their fields are written in (serde_json's `preserve_order`).

use mixcore::Plan;
use serde_json::{Value, json};

/// The plan's segments: `[{"frames": [..], "numerators": [..], "denominator": D,
/// "window": [lo, hi]}, ...]`.
#[must_use]
pub fn segments(plan: &Plan<'_>) -> Value {
    plan.iter()
        .map(|seg| {
            let w = seg.window();
            json!({
                "frames": seg.positions().collect::<Vec<u32>>(),
                "numerators": seg.numerators().collect::<Vec<u32>>(),
                "denominator": seg.denominator(),
                "window": [w.lo, w.hi],
            })
        })
        .collect()
}

/// `value` as one line of JSON, newline included (a JSON Lines record or a `--json` answer).
#[must_use]
pub fn line(value: &Value) -> String {
    let mut s = value.to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
            line(&segments(&plan)),
            "[{\"frames\":[0,1],\"numerators\":[1,2],\"denominator\":3,\"window\":[0,2]},\
             {\"frames\":[2,3],\"numerators\":[1,2],\"denominator\":3,\"window\":[2,4]}]\n"
        );
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            line(&json!("a\"b\\c\nd\u{1}")),
            "\"a\\\"b\\\\c\\nd\\u0001\"\n"
        );
    }
}
