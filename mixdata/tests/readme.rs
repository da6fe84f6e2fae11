//! The workspace README's loader example cannot be a doctest of mixcore (which compiles that
//! README's Rust blocks and does not know mixdata), so it is marked `ignore` there; this
//! checks that it is word for word mixdata's crate example, which rustdoc compiles.

fn block_after<'t>(text: &'t str, fence: &str) -> &'t str {
    let start = text
        .find(fence)
        .unwrap_or_else(|| panic!("no {fence} block"))
        + fence.len();
    let len = text[start..].find("```").expect("an unclosed block");
    &text[start..start + len]
}

#[test]
fn readme_loader_example_is_the_crate_example() {
    let root = include_str!("../../README.md");
    let marked = &root[root
        .find("<!-- mixdata's tests check that this example")
        .expect("the marker in README.md")..];
    let workspace = block_after(marked, "```rust,ignore\n");
    let crate_docs = block_after(include_str!("../README.md"), "```rust,no_run\n");
    assert_eq!(workspace, crate_docs);
}
