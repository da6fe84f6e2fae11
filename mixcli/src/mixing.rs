//! One input through mixdata's pipeline ([`mixdata::mixing`]: count, plan, decode and mix in
//! one streaming pass), and the writing of its outputs.

use std::path::Path;

pub use mixdata::mixing::{MixRequest, Mixed, MixedInfo, decode_count, mix_input};

use crate::error::Result;
use crate::{npy, preview};

/// Writes a finished mix (the `.npy` of shape [`Mixed::full_shape`]: with three crops a leading
/// axis of 3 views), each file atomically: the preview (when asked) is encoded first and
/// renamed into place only after the `.npy`, so a failed input leaves no output file and never
/// touches an older one.
///
/// # Errors
/// I/O errors naming the output file.
pub fn write_outputs(
    mixed: &Mixed,
    req: &MixRequest<'_>,
    npy_path: &Path,
    preview_path: Option<&Path>,
) -> Result<()> {
    // The preview is encoded first and committed last: if the `.npy` cannot be written, the
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
    npy::write_f32(npy_path, &mixed.full_shape(), &mixed.data)?;
    if let Some(preview) = preview {
        preview.commit()?;
    }
    Ok(())
}
