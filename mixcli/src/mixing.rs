//! One input through mixdata's pipeline ([`mixdata::mixing`]: count, plan, decode and mix in
//! one streaming pass), and the writing of its outputs.

use std::collections::BTreeMap;
use std::path::Path;

pub use mixdata::mixing::{MixRequest, Mixed, MixedInfo, decode_count, mix_input};

use crate::error::Result;
use crate::preview;
use crate::tensor::Store;

/// What a safetensors output says of itself in `__metadata__` (strings, the format's rule):
/// `producer` (`mixcli VERSION`), `dtype`, `options` (the options that decide the bits, as the
/// batch record's key writes them: [`crate::record::options`]), `frames` (F), `seed` (the
/// train-mode seed, `null` in test mode) and `segments` (the plan's, as JSON text:
/// [`crate::record::segments`]).
#[must_use]
pub fn metadata(mixed: &Mixed, req: &MixRequest<'_>, store: Store) -> BTreeMap<String, String> {
    let seed = match req.plan.mode {
        mixcore::Mode::Train { seed } => seed.to_string(),
        mixcore::Mode::Test => "null".into(),
    };
    BTreeMap::from([
        (
            "producer".into(),
            concat!("mixcli ", env!("CARGO_PKG_VERSION")).into(),
        ),
        ("dtype".into(), store.dtype.to_string()),
        ("options".into(), crate::record::options(req)),
        ("frames".into(), mixed.frames.to_string()),
        ("seed".into(), seed),
        (
            "segments".into(),
            crate::record::segments(&req.plan, mixed.frames).to_string(),
        ),
    ])
}

/// Writes a finished mix (the tensor of shape [`Mixed::full_shape`]: with three crops a
/// leading axis of 3 views, in `store`'s element type and format), each file atomically: the
/// preview (when asked) is encoded first and renamed into place only after the tensor, so a
/// failed input leaves no output file and never touches an older one.
///
/// # Errors
/// I/O errors naming the output file.
pub fn write_outputs(
    mixed: &Mixed,
    req: &MixRequest<'_>,
    store: Store,
    output: &Path,
    preview_path: Option<&Path>,
) -> Result<()> {
    // The preview is encoded first and committed last: if the tensor cannot be written, the
    // preview's temporary file is dropped and nothing (not even an older preview) changes.
    let preview = preview_path
        .map(|png| {
            preview::encode_png_views(
                png,
                &mixed.data,
                mixed.views.len(),
                req.layout,
                &req.epilogue,
                req.plan.segments,
                mixed.geometry,
            )
        })
        .transpose()?;
    // Three crops: a leading axis of views ([3, S, 3, H, W] for tchw).
    let metadata = match store.format {
        crate::tensor::Format::Safetensors => metadata(mixed, req, store),
        crate::tensor::Format::Npy => BTreeMap::new(),
    };
    store.write(output, &mixed.full_shape(), &mixed.data, &metadata)?;
    if let Some(preview) = preview {
        preview.commit()?;
    }
    Ok(())
}
