//! The checks behind framemix's fuzz targets, as a library (rav1e's `src/fuzzing.rs` habit):
//! each `fuzz_targets/*.rs` only hands its typed input to a `check` function here, so the
//! same checks run on the committed seeds under plain `cargo test` (`tests/seeds.rs`), on
//! stable, without libFuzzer.
//!
//! - [`plan`]: `Plan::new` on any request, against docs/contract.md's formulas.
//! - [`kernels`]: every backend, `mix` and `mix_par`, against the reference and docs/contract.md.
//! - [`mixer`]: the streaming mixer under any push sequence, against a model and `mix`.
//! - `cli` (feature `cli`): mixcli's decoding front end and its `--schedule`/`--shard` parsers.
//! - `cli_args` (feature `cli`): mixcli's whole command line, any argument vector.
//! - [`data`] (feature `cli`): mixdata's frame templates and annotation list parsers.
//! - `tensor_headers` (feature `cli`): mixcli's `.npy` and safetensors header parsers (the
//!   outputs a resumed batch reads back).
//!
//! [`oracle`] is docs/contract.md written again, independently of mixcore.

pub mod inputs;
pub mod kernels;
pub mod mixer;
pub mod oracle;
pub mod plan;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod cli_args;
#[cfg(feature = "cli")]
pub mod data;
#[cfg(feature = "cli")]
pub mod tensor_headers;

/// Decodes `data` into `T` exactly as `libfuzzer_sys::fuzz_target!` does for a typed target
/// (`arbitrary_take_rest`), for replaying seeds and crashes outside libFuzzer. `None` when
/// the bytes do not form a `T`.
#[must_use]
pub fn decode_input<'a, T: arbitrary::Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    T::arbitrary_take_rest(arbitrary::Unstructured::new(data)).ok()
}
