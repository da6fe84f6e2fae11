//! The `mixer` target: the streaming `Mixer` fed any sequence of pushes (repeats, gaps,
//! frames out of range, frames of the wrong size, padded rows, the float path out of order)
//! and finished into outputs of any length. It only ever returns errors, never panics; each
//! push and finish is accepted or refused exactly as a model of docs/contract.md section 9 says (a
//! refusal names a problem the call really has); a refused push changes nothing (a later
//! correct push of the frame is accepted and the result is unchanged); and when `finish`
//! succeeds its output equals the in-memory `mix` of the same frames, bit for bit (or, for
//! `finish_half`, that mix rounded to f16 or bf16 as docs/contract.md section 10 says), with
//! nothing written past the output.

use arbitrary::Arbitrary;
use mixcore::{Error, FrameView, Geometry, Half, MixPath, MixSpec, Mixer, Plan, mix, output_len};

use crate::inputs::{
    BackendGen, EpilogueGen, FrameLayoutGen, HALF_SENTINEL, LayoutGen, PaddedFrame, PathGen,
    PixelGen, SENTINEL, SmallPlanGen, WidthGen, sentinel_output,
};

/// Which frame index a push names.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum FrameSel {
    /// `value % F`.
    InRange(u8),
    /// `F + value`.
    Past(u8),
    /// Anything.
    Any(u32),
}

/// The geometry of a pushed frame.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ShapeGen {
    /// The mix's geometry.
    Right,
    /// One pixel wider.
    Wider,
    /// One pixel narrower (wider when the width is 1).
    Narrower,
    /// One row taller.
    Taller,
    /// Another channel count.
    OtherChannels,
}

/// The order of a bulk push.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Order {
    /// Increasing frame index.
    Forward,
    /// Decreasing frame index.
    Backward,
    /// Shuffled with this seed.
    Shuffled(u64),
}

/// One step of a push sequence.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Op {
    /// Push one frame.
    Push {
        /// Which frame.
        frame: FrameSel,
        /// Its geometry.
        shape: ShapeGen,
        /// Its padding and offset.
        layout: FrameLayoutGen,
    },
    /// Push one frame of the right geometry with `push_with`, written into the mixer's
    /// buffer (refused by an unbuffered mixer).
    PushWith {
        /// Which frame.
        frame: FrameSel,
    },
    /// Push every frame not accepted yet (only the needed ones when `only_needed`).
    PushRest {
        /// In this order.
        order: Order,
        /// Skip frames no segment mixes.
        only_needed: bool,
    },
}

/// One input of the `mixer` target.
#[derive(Arbitrary, Clone, Debug)]
pub struct MixerInput {
    /// The plan (F <= 48, S <= 12).
    pub plan: SmallPlanGen,
    /// Width.
    pub width: WidthGen,
    /// Height - 1, modulo 3.
    pub height: u8,
    /// Channels - 1, modulo 4.
    pub channels: u8,
    /// Output layout.
    pub layout: LayoutGen,
    /// Epilogue.
    pub epilogue: EpilogueGen,
    /// Exact or float path.
    pub path: PathGen,
    /// Kernel backend.
    pub backend: BackendGen,
    /// Frames the mixer buffers, modulo 18 (0: `Mixer::new`, unbuffered; past 16 counts as
    /// 16).
    pub buffer: u8,
    /// Frame content.
    pub pixels: PixelGen,
    /// Try a scratch buffer one word short first.
    pub short_scratch: bool,
    /// Push every remaining frame in increasing order after `ops`, before finishing.
    pub complete: bool,
    /// Output length: the output's length, minus 1, plus 0 or plus 1 (value % 3).
    pub out_len: u8,
    /// How the mix ends (value % 3): `with_buffer` then `finish(out)`; or (buffered mixers)
    /// `with_output(own)` then `finish(out)`; or `with_output(out)` then `finish_output()`.
    /// In the first two, `(value / 3) % 3` picks `finish` (0) or `finish_half` into f16 (1) or
    /// bf16 (2).
    pub finishing: u8,
    /// The pushes.
    pub ops: Vec<Op>,
}

/// Frame bytes per input, at most (the width shrinks to fit).
const MAX_BYTES: usize = 1 << 17;

/// docs/contract.md section 9 for one push, as a model of the mixer's state.
struct Model {
    frames: u32,
    /// Per frame: the (segment, t) pairs that mix it.
    selected: Vec<Vec<(u32, u32)>>,
    accepted: Vec<bool>,
    /// Per segment: the largest t accepted so far.
    last_t: Vec<Option<u32>>,
    float: bool,
}

impl Model {
    fn new(plan: &Plan<'_>, float: bool) -> Self {
        let f = plan.frames() as usize;
        let mut selected = vec![Vec::new(); f];
        for seg in plan.iter() {
            for (t, p) in seg.positions().enumerate() {
                selected[p as usize].push((seg.index(), t as u32));
            }
        }
        Model {
            frames: plan.frames(),
            selected,
            accepted: vec![false; f],
            last_t: vec![None; plan.segments() as usize],
            float,
        }
    }

    fn needed(&self, f: u32) -> bool {
        !self.selected[f as usize].is_empty()
    }

    /// True when `e` is a reason to refuse pushing frame `f` of geometry `found`.
    fn push_refusal_is_right(&self, f: u32, right: Geometry, found: Geometry, e: Error) -> bool {
        match e {
            Error::FrameOutOfRange { frame, frames } => {
                frame == f && frames == self.frames && f >= self.frames
            }
            Error::FramePushedTwice { frame } => {
                frame == f && f < self.frames && self.accepted[f as usize]
            }
            Error::FrameGeometryMismatch { expected, found: g } => {
                expected == right.as_tuple() && g == found.as_tuple() && right != found
            }
            Error::FloatOutOfOrder { frame } => frame == f && self.out_of_order(f),
            _ => false,
        }
    }

    fn out_of_order(&self, f: u32) -> bool {
        self.float
            && (f as usize) < self.selected.len()
            && self.selected[f as usize]
                .iter()
                .any(|&(i, t)| self.last_t[i as usize].is_some_and(|last| t < last))
    }

    /// True when the push must be accepted.
    fn push_ok(&self, f: u32, right: Geometry, found: Geometry) -> bool {
        f < self.frames && !self.accepted[f as usize] && right == found && !self.out_of_order(f)
    }

    fn accept(&mut self, f: u32) {
        self.accepted[f as usize] = true;
        for &(i, t) in &self.selected[f as usize] {
            let last = &mut self.last_t[i as usize];
            *last = Some(last.map_or(t, |l| l.max(t)));
        }
    }

    /// (missing needed frames, the first of them).
    fn missing(&self) -> (u32, Option<u32>) {
        let mut n = 0;
        let mut first = None;
        for f in 0..self.frames {
            if self.needed(f) && !self.accepted[f as usize] {
                n += 1;
                first.get_or_insert(f);
            }
        }
        (n, first)
    }
}

/// What one input exercised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Pushes accepted.
    pub accepted: u32,
    /// Pushes refused.
    pub refused: u32,
    /// `finish` succeeded and its output was compared with `mix`.
    pub finished: bool,
}

/// Runs the checks on one input; panics on any violation.
pub fn check(input: &MixerInput) -> Outcome {
    let req = input.plan.build();
    let cfg = req.config();
    let Ok(plan) = Plan::new(req.frames, &cfg) else {
        return Outcome::default();
    };
    let (h, ch) = (
        1 + u32::from(input.height % 3),
        1 + u32::from(input.channels % 4),
    );
    let per_column = (req.frames * h * ch) as usize;
    let w = input
        .width
        .get()
        .min((MAX_BYTES / per_column).max(1) as u32);
    let g = Geometry::new(w, h, ch).expect("small geometry");
    let row_bytes = (w * ch) as usize;
    let content: Vec<Vec<u8>> = (0..req.frames)
        .map(|f| {
            let mut packed = vec![0u8; row_bytes * h as usize];
            input.pixels.fill(f, &mut packed);
            packed
        })
        .collect();
    let weights = input.path.weights(req.k);
    let spec = MixSpec {
        layout: input.layout.into(),
        epilogue: input.epilogue.get(),
        path: input.path.get(&weights),
        backend: input.backend.into(),
    };
    let len = output_len(&plan, g).expect("small output");

    let buffered = u32::from(input.buffer % 18);
    let unbuffered_len = Mixer::scratch_len(&plan, g, &spec);
    let len_result = Mixer::scratch_len_buffered(&plan, g, &spec, buffered);
    assert_eq!(
        Mixer::scratch_len_buffered(&plan, g, &spec, 0),
        unbuffered_len,
        "scratch_len and scratch_len_buffered(0) disagree"
    );
    // An invalid spec: every entry point refuses it with the same error.
    let scratch_len = match len_result {
        Ok(n) => n,
        Err(e) => {
            assert_eq!(
                unbuffered_len,
                Err(e),
                "buffered and unbuffered scratch_len disagree"
            );
            let mut scratch = vec![0u64; 1 << 12];
            let r = new_mixer(&plan, g, spec, buffered, &mut scratch).map(|_| ());
            assert_eq!(
                r,
                Err(e),
                "the mixer's constructor and scratch_len disagree"
            );
            let views: Vec<FrameView<'_>> = content
                .iter()
                .map(|c| FrameView::packed(c, g).expect("view"))
                .collect();
            let mut out = vec![0.0; len];
            assert_eq!(
                mix(&plan, &views, &spec, &mut out),
                Err(e),
                "mix and Mixer disagree"
            );
            return Outcome::default();
        }
    };
    if input.short_scratch && scratch_len > 0 {
        let mut scratch = vec![0u64; scratch_len - 1];
        let r = new_mixer(&plan, g, spec, buffered, &mut scratch).map(|_| ());
        assert_eq!(
            r,
            Err(Error::BufferTooSmall {
                len: scratch_len - 1,
                needed: scratch_len
            })
        );
    }
    let out_len = (len + usize::from(input.out_len % 3)).saturating_sub(1);
    let mode = if buffered == 0 {
        0
    } else {
        input.finishing % 3
    };
    // The output given up front: `own` (mode 1) or the output itself (mode 2). A short one
    // is refused by the constructor; then the mixer is a plain buffered one.
    let mut own = sentinel_output(if mode == 1 { len } else { out_len }, 0);
    if mode != 0 && own.len() < len {
        let mut s = vec![0u64; scratch_len];
        let r = Mixer::with_output(&plan, g, spec, buffered, &mut s, &mut own).map(|_| ());
        assert_eq!(
            r,
            Err(Error::BufferTooSmall {
                len: own.len(),
                needed: len
            }),
            "with_output accepted a short output"
        );
    }
    let mode = if own.len() < len { 0 } else { mode };
    // Scratch full of garbage: `new` must clear what it uses.
    let mut scratch = vec![0xDEAD_BEEF_DEAD_BEEFu64; scratch_len + 1];
    let mut mixer = if mode == 0 {
        new_mixer(&plan, g, spec, buffered, &mut scratch)
    } else {
        Mixer::with_output(&plan, g, spec, buffered, &mut scratch, &mut own)
    }
    .expect("a mixer on valid input");
    let float = matches!(spec.path, MixPath::Float(_));
    let mut model = Model::new(&plan, float);

    let mut outcome = Outcome::default();
    let mut push = |mixer: &mut Mixer<'_, '_>,
                    model: &mut Model,
                    f: u32,
                    shape: ShapeGen,
                    layout: FrameLayoutGen| {
        let found = match shape {
            ShapeGen::Right => g,
            ShapeGen::Wider => Geometry { width: w + 1, ..g },
            ShapeGen::Narrower if w > 1 => Geometry { width: w - 1, ..g },
            ShapeGen::Narrower => Geometry { width: w + 2, ..g },
            ShapeGen::Taller => Geometry { height: h + 1, ..g },
            ShapeGen::OtherChannels => Geometry {
                channels: ch % 4 + 1,
                ..g
            },
        };
        let rb = (found.width * found.channels) as usize;
        let bytes = if found == g && f < req.frames {
            content[f as usize].clone()
        } else {
            let mut b = vec![0u8; rb * found.height as usize];
            input.pixels.fill(f ^ 0x5555, &mut b);
            b
        };
        let padded = PaddedFrame::new(&bytes, rb, found.height as usize, layout);
        let view = FrameView::new(padded.data(), found, padded.stride).expect("frame view");
        let expect_ok = model.push_ok(f, g, found);
        match mixer.push(f, &view) {
            Ok(()) => {
                assert!(
                    expect_ok,
                    "push of frame {f} ({found:?}) accepted, should be refused"
                );
                model.accept(f);
                outcome.accepted += 1;
            }
            Err(e) => {
                assert!(
                    !expect_ok,
                    "push of frame {f} refused with {e:?}, should be accepted"
                );
                assert!(
                    model.push_refusal_is_right(f, g, found, e),
                    "push of frame {f} ({found:?}) refused with {e:?}, not a problem it has"
                );
                assert!(!e.to_string().is_empty());
                outcome.refused += 1;
            }
        }
    };

    // `push_with`: accepted exactly when `push` of the right frame would be and the mixer
    // has a buffer; `fill` is called once, with the packed frame's length, exactly when the
    // accepted frame is needed.
    let frame_bytes = (w * h * ch) as usize;
    let push_with = |mixer: &mut Mixer<'_, '_>, model: &mut Model, f: u32, counts: &mut Outcome| {
        let expect_ok = model.push_ok(f, g, g) && buffered > 0;
        let mut calls = 0;
        let r = mixer.push_with(f, |slot| {
            calls += 1;
            assert_eq!(
                slot.len(),
                frame_bytes,
                "push_with slot of the wrong length"
            );
            let bytes = content
                .get(f as usize)
                .expect("fill called for a frame out of range");
            slot.copy_from_slice(bytes);
        });
        match r {
            Ok(()) => {
                assert!(
                    expect_ok,
                    "push_with of frame {f} accepted, should be refused"
                );
                assert_eq!(
                    calls,
                    usize::from(model.needed(f)),
                    "fill calls for frame {f}"
                );
                model.accept(f);
                counts.accepted += 1;
            }
            Err(e) => {
                assert!(
                    !expect_ok,
                    "push_with of frame {f} refused with {e:?}, should be accepted"
                );
                let no_buffer = buffered == 0
                    && model.push_ok(f, g, g)
                    && e == Error::BufferTooSmall {
                        len: 0,
                        needed: frame_bytes,
                    };
                assert!(
                    no_buffer || model.push_refusal_is_right(f, g, g, e),
                    "push_with of frame {f} refused with {e:?}, not a problem it has"
                );
                assert!(!e.to_string().is_empty());
                assert_eq!(calls, 0, "a refused push_with called fill");
                counts.refused += 1;
            }
        }
    };

    let mut with_counts = Outcome::default();
    let f_count = req.frames;
    for op in &input.ops {
        match *op {
            Op::PushWith { frame } => {
                let f = match frame {
                    FrameSel::InRange(v) => u32::from(v) % f_count,
                    FrameSel::Past(v) => f_count + u32::from(v),
                    FrameSel::Any(v) => v,
                };
                push_with(&mut mixer, &mut model, f, &mut with_counts);
            }
            Op::Push {
                frame,
                shape,
                layout,
            } => {
                let f = match frame {
                    FrameSel::InRange(v) => u32::from(v) % f_count,
                    FrameSel::Past(v) => f_count + u32::from(v),
                    FrameSel::Any(v) => v,
                };
                push(&mut mixer, &mut model, f, shape, layout);
            }
            Op::PushRest { order, only_needed } => {
                let mut list: Vec<u32> = (0..f_count)
                    .filter(|&f| !model.accepted[f as usize] && (!only_needed || model.needed(f)))
                    .collect();
                match order {
                    Order::Forward => {}
                    Order::Backward => list.reverse(),
                    Order::Shuffled(seed) => shuffle(&mut list, seed),
                }
                for f in list {
                    push(
                        &mut mixer,
                        &mut model,
                        f,
                        ShapeGen::Right,
                        FrameLayoutGen::default(),
                    );
                }
            }
        }
        assert_eq!(mixer.is_needed(0), model.needed(0));
    }
    if input.complete {
        for f in 0..f_count {
            if !model.accepted[f as usize] && model.needed(f) {
                push(
                    &mut mixer,
                    &mut model,
                    f,
                    ShapeGen::Right,
                    FrameLayoutGen::default(),
                );
            }
        }
    }

    let mut out = sentinel_output(out_len, 0);
    let mut halves = vec![HALF_SENTINEL; out_len];
    let half = match (input.finishing / 3) % 3 {
        1 if mode != 2 => Some(Half::F16),
        2 if mode != 2 => Some(Half::Bf16),
        _ => None,
    };
    let (missing, first) = model.missing();
    let result = if mode == 2 {
        let r = mixer.finish_output();
        out = own;
        r
    } else if let Some(h) = half {
        mixer.finish_half(h, &mut halves)
    } else {
        mixer.finish(&mut out)
    };
    match result {
        Err(e) => {
            let right = match e {
                Error::BufferTooSmall { len: l, needed } => {
                    l == out_len && needed == len && out_len < len
                }
                Error::FramesMissing {
                    missing: m,
                    first: fst,
                } => m == missing && Some(fst) == first,
                _ => false,
            };
            assert!(
                right,
                "finish refused with {e:?}; missing {missing} (first {first:?}), output {out_len} of {len}"
            );
            // (An output given up front holds the windows mixed before the refusal.)
            assert!(
                mode == 2
                    || (out.iter().all(|v| v.to_bits() == SENTINEL)
                        && halves.iter().all(|&v| v == HALF_SENTINEL)),
                "a refused finish ({half:?}) wrote to the output"
            );
        }
        Ok(()) => {
            assert!(
                missing == 0 && out_len >= len,
                "finish succeeded with {missing} frames missing (first {first:?}), output {out_len} of {len}"
            );
            let views: Vec<FrameView<'_>> = content
                .iter()
                .map(|c| FrameView::packed(c, g).expect("view"))
                .collect();
            let mut expected = sentinel_output(len, 0);
            mix(&plan, &views, &spec, &mut expected).expect("in-memory mix of the same input");
            if let Some(h) = half {
                // docs/contract.md section 10: the f32 value rounded once.
                for (j, (&a, &y)) in halves[..len].iter().zip(&expected).enumerate() {
                    assert_eq!(
                        a,
                        h.bits(y),
                        "streamed {h:?} output {j} differs from the in-memory mix rounded: {a:#06x} vs {y:?}"
                    );
                }
                assert!(
                    halves[len..].iter().all(|&v| v == HALF_SENTINEL),
                    "finish_half wrote past the output"
                );
            } else {
                for (j, (a, b)) in out[..len].iter().zip(&expected).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "streamed output {j} differs from the in-memory mix: {a:?} vs {b:?}"
                    );
                }
                assert!(
                    out[len..].iter().all(|v| v.to_bits() == SENTINEL),
                    "finish wrote past the output"
                );
            }
            outcome.finished = true;
        }
    }
    outcome.accepted += with_counts.accepted;
    outcome.refused += with_counts.refused;
    outcome
}

/// `Mixer::new` when `buffered` is 0, else `Mixer::with_buffer`.
fn new_mixer<'m, 'a>(
    plan: &'m Plan<'a>,
    g: Geometry,
    spec: MixSpec<'m>,
    buffered: u32,
    scratch: &'m mut [u64],
) -> mixcore::Result<Mixer<'m, 'a>> {
    if buffered == 0 {
        Mixer::new(plan, g, spec, scratch)
    } else {
        Mixer::with_buffer(plan, g, spec, buffered, scratch)
    }
}

fn shuffle(v: &mut [u32], seed: u64) {
    let mut s = seed | 1;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}
