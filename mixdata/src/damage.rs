//! What was wrong with an input that decoded.

/// What was wrong with an input that decoded: frames the decoder reported errors in or
/// concealed, and frames lost. `Damage::default()` is clean.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// Indices (0-based, in decoding order) of the frames that decoded with errors or
    /// concealment, ascending.
    pub frames: Vec<u32>,
    /// Frames lost: packets that produced no frame, or files that did not decode.
    pub lost: u32,
    /// Errors the decoder reported and recovered from (packets it refused, failed receives).
    pub errors: u32,
}

impl Damage {
    /// True when nothing was damaged.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.frames.is_empty() && self.lost == 0 && self.errors == 0
    }

    /// A short description: "frames 3, 4 decoded with errors; 2 frames lost".
    #[must_use]
    pub fn description(&self) -> String {
        let mut parts = Vec::new();
        if !self.frames.is_empty() {
            const SHOWN: usize = 10;
            let mut list: Vec<String> =
                self.frames.iter().take(SHOWN).map(u32::to_string).collect();
            if self.frames.len() > SHOWN {
                list.push(format!("... ({} in all)", self.frames.len()));
            }
            parts.push(format!(
                "{} {} decoded with errors or concealment",
                if self.frames.len() == 1 {
                    "frame"
                } else {
                    "frames"
                },
                list.join(", ")
            ));
        }
        if self.lost > 0 {
            parts.push(format!(
                "{} {} lost",
                self.lost,
                if self.lost == 1 { "frame" } else { "frames" }
            ));
        }
        if self.errors > 0 && self.frames.is_empty() && self.lost == 0 {
            parts.push(format!("{} decoder errors", self.errors));
        }
        if parts.is_empty() {
            "no damage".into()
        } else {
            parts.join("; ")
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description())
    }
}
