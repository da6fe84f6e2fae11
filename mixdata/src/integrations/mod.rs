//! Hand-offs to training frameworks, each behind its feature: `candle` (batches and samples
//! as candle tensors) and `burn` (a dataset of burn's `Dataset` trait).

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;
