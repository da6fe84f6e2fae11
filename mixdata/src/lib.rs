#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod damage;
pub mod dataset;
pub mod device;
pub mod error;
#[cfg(any(feature = "candle", feature = "burn"))]
pub mod integrations;
pub mod list;
pub mod loader;
pub mod mixing;
pub mod seed;
pub mod source;
pub mod template;
pub mod transform;
pub mod values;

pub use damage::Damage;
pub use dataset::{Dataset, DatasetConfig, Sample, SampleInfo, SegmentInfo};
pub use device::Device;
pub use error::{Error, Problem, Result};
pub use ffmpeg_next as ffmpeg;
pub use list::{Entry, ListFormat};
pub use loader::{Batch, Epoch, ErrorPolicy, Loader, LoaderConfig, Skipped};
pub use mixcore::{Epilogue, FramesPerSegment, Layout, Mode, ScheduleBuf, Selection};
pub use mixing::{MixRequest, Mixed, MixedInfo, mix_input, mix_input_into};
pub use source::video::{init, probe};
pub use source::{OpenOptions, Reader, ReaderOptions, Source, SourceKind};
pub use template::{FrameTemplate, TemplateError};
pub use transform::{ClipGeometry, ClipTransform, Crop, CropMode, Resize, Transform};
pub use values::{Dtype, Half, Values};
