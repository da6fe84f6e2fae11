//! The kernels (through the emulator) against mixcore, bit for bit, over random plans, specs,
//! shapes and strides: the device-frames mix, the chunked host-upload mix, batches, and the
//! streaming accumulate/finish kernels, each in f32 and (docs/contract.md section 10) f16 and
//! bf16; plus the rounding probes and the struct layout.

use mixcore::{
    Admission, Admitted, Backend, Epilogue, FloatWeights, FrameView, FramesPerSegment, Geometry,
    Half, Layout, MixPath, MixSpec, Mode, Plan, PlanConfig, Schedule, Selection,
};

use super::{Buffers, Emu};
use crate::launch::{
    Addresses, PoolLayout, accumulate_launches, build_group, finish_launches, half_probe_launch,
    mix_launches, probe_launch, upload_chunks,
};
use crate::pack::{Packed, pack};
use crate::params::{Store, encode_jobs, words_to_bytes};

#[path = "../../tests/support/cases.rs"]
pub(crate) mod cases;
pub(super) use cases::Rng;

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// One random mix: plans (a batch of one or more videos), a spec, frames in a padded pool.
pub(super) struct Case {
    pub plans: Vec<Plan<'static>>,
    pub spec: MixSpec<'static>,
    pub g: Geometry,
    pub pool: PoolLayout,
    /// Every frame of every video, frame `i` at `i * frame_pitch`.
    pub frames: Vec<u8>,
}

pub(super) const EPILOGUES: [Epilogue; 4] = [
    Epilogue::Raw,
    Epilogue::Unit,
    Epilogue::IMAGENET,
    Epilogue::Normalize {
        mean: [0.5, 0.0, 1.0, 0.25],
        std: [0.001, 3.0, 0.5, 1e-3],
    },
];

fn random_config(rng: &mut Rng, frames: u32) -> (PlanConfig<'static>, MixPath<'static>) {
    let segments = rng.range(1, 10) as u32;
    let selection = rng.pick(&[Selection::Spread, Selection::Consecutive]);
    let mode = if rng.below(2) == 0 {
        Mode::Test
    } else {
        Mode::Train {
            seed: rng.0.next_u64(),
        }
    };
    let smallest = (frames / segments).max(1);
    let fixed = rng.range(1, u64::from(smallest.min(6))) as u32;
    let kind = rng.below(6);
    let (k, schedule) = match kind {
        0 => (FramesPerSegment::All, Schedule::Average),
        1 => (FramesPerSegment::All, Schedule::Linear),
        2 => (FramesPerSegment::Fixed(fixed), Schedule::Linear0),
        3 => (FramesPerSegment::Fixed(fixed), Schedule::Linear),
        _ => {
            let n: Vec<u32> = (0..fixed)
                .map(|_| match rng.below(4) {
                    0 => 0,
                    1 => rng.range(1, 1 << 31) as u32,
                    _ => rng.range(1, 9) as u32,
                })
                .collect();
            let mut n = n;
            if n.iter().all(|&x| x == 0) {
                n[0] = 1;
            }
            (
                FramesPerSegment::Fixed(fixed),
                Schedule::Custom(Box::leak(n.into_boxed_slice())),
            )
        }
    };
    let path = match rng.below(4) {
        0 => MixPath::Float(FloatWeights::Schedule),
        1 if matches!(k, FramesPerSegment::Fixed(_)) => {
            let w: Vec<f32> = (0..fixed)
                .map(|_| (rng.below(1 << 20) as f32) / 1_048_576.0 * 0.7)
                .collect();
            MixPath::Float(FloatWeights::Given(Box::leak(w.into_boxed_slice())))
        }
        _ => MixPath::Exact,
    };
    let config = PlanConfig {
        segments,
        k,
        selection,
        mode,
        schedule,
    };
    (config, path)
}

pub(super) fn random_case(rng: &mut Rng, max_videos: u64) -> Case {
    let videos = rng.range(1, max_videos);
    let g = Geometry::new(
        rng.range(1, 13) as u32,
        rng.range(1, 7) as u32,
        rng.range(1, 4) as u32,
    )
    .unwrap();
    let layout = rng.pick(&[Layout::Tchw, Layout::Cthw, Layout::Thwc]);
    let epilogue = rng.pick(&EPILOGUES);
    let mut plans = Vec::new();
    let mut path = MixPath::Exact;
    for v in 0..videos {
        // One path per batch: the first video's; later videos get plans it accepts.
        loop {
            let frames = rng.range(1, 40) as u32;
            let (config, p) = random_config(rng, frames);
            if v == 0 {
                path = p;
            }
            let Ok(plan) = Plan::new(frames, &config) else {
                continue;
            };
            let spec = MixSpec {
                path,
                ..MixSpec::default()
            };
            if pack(&[plan], &spec).is_ok() {
                plans.push(plan);
                break;
            }
        }
    }
    let row = (g.width * g.channels) as usize;
    let stride = row + rng.below(5) as usize;
    let pitch = stride * (g.height as usize - 1) + row + rng.below(9) as usize;
    let total: u32 = plans.iter().map(Plan::frames).sum();
    let frames = rng.bytes(pitch * total as usize);
    Case {
        plans,
        spec: MixSpec {
            layout,
            epilogue,
            path,
            backend: Backend::Reference,
        },
        g,
        pool: PoolLayout {
            row_stride: stride,
            frame_pitch: pitch,
        },
        frames,
    }
}

impl Case {
    fn describe(&self) -> String {
        format!(
            "geometry {:?}, pool {:?}, spec {:?}, plans {:?}",
            self.g,
            self.pool,
            self.spec,
            self.plans
                .iter()
                .map(|p| (p.frames(), *p.config()))
                .collect::<Vec<_>>()
        )
    }

    pub(super) fn frame(&self, global: u32) -> FrameView<'_> {
        let start = global as usize * self.pool.frame_pitch;
        FrameView::new(&self.frames[start..], self.g, self.pool.row_stride).unwrap()
    }

    /// mixcore's output for the whole batch, video after video.
    pub(super) fn reference(&self) -> Vec<f32> {
        let mut out = Vec::new();
        let mut offset = 0;
        for plan in &self.plans {
            let frames: Vec<FrameView<'_>> =
                (0..plan.frames()).map(|f| self.frame(offset + f)).collect();
            out.extend(mixcore::mix_to_vec(plan, &frames, &self.spec).unwrap());
            offset += plan.frames();
        }
        out
    }

    /// `mixcore::mix_half`'s output for the whole batch, video after video.
    pub(super) fn reference_half(&self, half: Half) -> Vec<u16> {
        let mut out = Vec::new();
        let mut offset = 0;
        for plan in &self.plans {
            let frames: Vec<FrameView<'_>> =
                (0..plan.frames()).map(|f| self.frame(offset + f)).collect();
            let mut v = vec![0; mixcore::output_len(plan, self.g).unwrap()];
            mixcore::mix_half(plan, &frames, &self.spec, half, &mut v).unwrap();
            out.extend(v);
            offset += plan.frames();
        }
        out
    }

    fn packed(&self) -> Packed {
        pack(&self.plans, &self.spec).unwrap()
    }

    fn out_len(&self) -> usize {
        self.packed().output_len(self.g).unwrap()
    }
}

/// Uploads the packed plan; returns the addresses of its arrays (frames, out, acc unset).
fn upload_plan(emu: &mut Emu, p: &Packed, compact: bool) -> Addresses {
    let terms = if compact { &p.term_slot } else { &p.term_frame };
    Addresses {
        jobs: emu.buffer(encode_jobs(&p.jobs)),
        term_frame: emu.buffer(u32_bytes(terms)),
        term_numer: emu.buffer(u32_bytes(&p.term_numer)),
        term_weight: emu.buffer(f32_bytes(&p.term_weight)),
        ..Addresses::default()
    }
}

/// A sentinel output of `len` elements of `store`: bytes 0xFF (a NaN with every fraction bit
/// set, which no rounding produces from a mixed value) so unwritten elements cannot match.
fn output(emu: &mut Emu, len: usize, store: Store) -> u64 {
    emu.buffer(vec![0xFF; len * store.bytes()])
}

/// The half format of a half store.
fn half_of(store: Store) -> Half {
    match store {
        Store::F16 => Half::F16,
        Store::Bf16 => Half::Bf16,
        Store::F32 => unreachable!("f32 is not a half format"),
    }
}

/// Compares the output at `addr` (elements of `store`) with mixcore (`mix_to_vec` for f32,
/// `mix_half` for the half formats).
fn check_output(case: &Case, what: &str, out: &Buffers, addr: u64, store: Store) {
    if store == Store::F32 {
        assert_bits(case, what, &out.f32s(addr), &case.reference());
    } else {
        let half = half_of(store);
        assert_half_bits(
            case,
            &format!("{what} ({half:?})"),
            &out.u16s(addr),
            &case.reference_half(half),
        );
    }
}

pub(super) fn assert_half_bits(case: &Case, what: &str, got: &[u16], want: &[u16]) {
    assert_eq!(got.len(), want.len(), "{what}: length; {}", case.describe());
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            a,
            b,
            "{what}: element {i}: kernel {a:#06x} vs mixcore {b:#06x}; {}",
            case.describe()
        );
    }
}

pub(super) fn assert_bits(case: &Case, what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length; {}", case.describe());
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{what}: element {i}: kernel {a} vs mixcore {b}; {}",
            case.describe()
        );
    }
}

/// Queues the device-frames mix of `case` (the whole pool on the device, terms index frames)
/// into an output of `store` elements.
fn queue_device_mix(emu: &mut Emu, case: &Case, store: Store) -> u64 {
    let p = case.packed();
    let mut addr = upload_plan(emu, &p, false);
    addr.frames = emu.buffer(case.frames.clone());
    addr.out = output(emu, case.out_len(), store);
    let jobs = 0..p.jobs.len() as u32;
    emu.launches(mix_launches(&p, case.g, case.pool, addr, jobs, store).unwrap());
    addr.out
}

/// Queues the host-upload mix: a compact pool of only the needed frames, packed rows, mixed
/// chunk by chunk as the CUDA backend does.
fn queue_host_mix(emu: &mut Emu, case: &Case, target_bytes: usize, store: Store) -> u64 {
    let p = case.packed();
    let row = (case.g.width * case.g.channels) as usize;
    let frame_bytes = case.g.elements().unwrap();
    let mut compact = Vec::with_capacity(frame_bytes * p.slot_frames.len());
    for &f in &p.slot_frames {
        let view = case.frame(f);
        for y in 0..case.g.height {
            compact.extend_from_slice(&view.row(y)[..row]);
        }
    }
    let mut addr = upload_plan(emu, &p, true);
    addr.frames = emu.buffer(compact);
    addr.out = output(emu, case.out_len(), store);
    let pool = PoolLayout {
        row_stride: row,
        frame_pitch: frame_bytes,
    };
    for chunk in upload_chunks(&p, frame_bytes, target_bytes) {
        emu.launches(mix_launches(&p, case.g, pool, addr, chunk.jobs, store).unwrap());
    }
    addr.out
}

/// Queues the streaming mix: frames pushed in `order` (global indices), uploaded in groups of
/// `group` frames into rings, accumulated, then finished into `store` elements.
fn queue_stream_mix(emu: &mut Emu, case: &Case, order: &[u32], group: usize, store: Store) -> u64 {
    let p = case.packed();
    // mixcore's admission, one per video, as `StreamMixer` keeps them.
    let mut admissions: Vec<_> = case
        .plans
        .iter()
        .map(|&plan| {
            let words = vec![0; Admission::words(&plan).unwrap()];
            Admission::new(plan, case.g, p.arith, words).unwrap()
        })
        .collect();
    let hwc = case.g.elements().unwrap();
    let acc = emu.buffer(vec![0; p.jobs.len() * hwc * p.arith.bytes()]);
    let mut pending: Vec<u32> = Vec::new();
    let row = (case.g.width * case.g.channels) as usize;
    let ring = PoolLayout {
        row_stride: row,
        frame_pitch: hwc,
    };
    let flush = |emu: &mut Emu, pending: &mut Vec<u32>| {
        if pending.is_empty() {
            return;
        }
        let grp = build_group(&p, pending);
        let mut ring_bytes = Vec::new();
        for &f in &grp.frames {
            let view = case.frame(f);
            for y in 0..case.g.height {
                ring_bytes.extend_from_slice(&view.row(y)[..row]);
            }
        }
        let addr = Addresses {
            frames: emu.buffer(ring_bytes),
            jobs: emu.buffer(encode_jobs(&grp.jobs)),
            term_frame: emu.buffer(u32_bytes(&grp.term_frame)),
            term_numer: emu.buffer(u32_bytes(&grp.term_numer)),
            term_weight: emu.buffer(f32_bytes(&grp.term_weight)),
            acc,
            out: 0,
        };
        emu.launches(accumulate_launches(&p, case.g, ring, addr, grp.jobs.len() as u32).unwrap());
        pending.clear();
    };
    for &global in order {
        let (video, f) = locate(&p, global);
        if admissions[video].admit(f, None).unwrap() == Admitted::Needed {
            pending.push(global);
            if pending.len() == group {
                flush(emu, &mut pending);
            }
        }
    }
    flush(emu, &mut pending);
    for a in &admissions {
        a.check_complete().unwrap();
    }
    let addr = Addresses {
        jobs: emu.buffer(encode_jobs(&p.jobs)),
        acc,
        out: output(emu, case.out_len(), store),
        ..Addresses::default()
    };
    emu.launches(finish_launches(&p, case.g, addr, store).unwrap());
    addr.out
}

fn locate(p: &Packed, global: u32) -> (usize, u32) {
    let b = p
        .videos
        .iter()
        .rposition(|v| v.frame_offset <= global)
        .unwrap();
    (b, global - p.videos[b].frame_offset)
}

/// A push order the streaming path accepts: any order on the exact path; on the float path
/// windows in a random order, frames increasing inside each.
pub(super) fn push_order(rng: &mut Rng, case: &Case) -> Vec<u32> {
    let total: u32 = case.plans.iter().map(Plan::frames).sum();
    let mut order: Vec<u32> = (0..total).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    if matches!(case.spec.path, MixPath::Float(_)) {
        order.sort_unstable();
    }
    order
}

const HALVES: [Store; 2] = [Store::F16, Store::Bf16];

/// One queued mix of a case: the store and the outputs of the device-frames, host-upload and
/// streaming paths (0: the path was not queued).
struct Queued {
    case: usize,
    store: Store,
    outputs: [(&'static str, u64); 3],
}

/// Random cases through the device-frames, host-upload and streaming paths into outputs of
/// each of `stores`; `edge_epilogue`: a third of the cases get one of
/// [`cases::HALF_EDGE_EPILOGUES`].
fn random_cases(test: &str, seed: u64, count: usize, stores: &[Store], edge_epilogue: bool) {
    let mut rng = Rng::new(seed);
    let mut emu = Emu::default();
    let mut cases = Vec::new();
    let mut queued = Vec::new();
    for _ in 0..count {
        let mut case = random_case(&mut rng, 3);
        if edge_epilogue && rng.below(3) == 0 {
            case.spec.epilogue = rng.pick(&cases::HALF_EDGE_EPILOGUES);
        }
        let order = push_order(&mut rng, &case);
        let group = rng.range(1, 5) as usize;
        let target = rng.range(0, 3000) as usize;
        for &store in stores {
            let device = queue_device_mix(&mut emu, &case, store);
            let host = queue_host_mix(&mut emu, &case, target, store);
            let stream = queue_stream_mix(&mut emu, &case, &order, group, store);
            queued.push(Queued {
                case: cases.len(),
                store,
                outputs: [
                    ("device-frames mix", device),
                    ("host-upload mix", host),
                    ("streaming mix", stream),
                ],
            });
        }
        cases.push(case);
    }
    let Some(out) = emu.run(test) else {
        return;
    };
    check_queued(&cases, &queued, &out);
    // The random cases reach every accumulator: u32, u64 (large custom numerators), float.
    let mut paths = [0usize; 3];
    for case in &cases {
        paths[case.packed().arith as usize] += 1;
    }
    assert!(paths.iter().all(|&n| n > 0), "paths covered: {paths:?}");
}

fn check_queued(cases: &[Case], queued: &[Queued], out: &Buffers) {
    for q in queued {
        for (what, addr) in q.outputs {
            if addr != 0 {
                check_output(&cases[q.case], what, out, addr, q.store);
            }
        }
    }
}

#[test]
fn emulated_mix_matches_mixcore_on_random_cases() {
    random_cases(
        "emulated_mix_matches_mixcore_on_random_cases",
        0x5EED_0001,
        120,
        &[Store::F32],
        false,
    );
}

/// f16 and bf16 outputs against `mixcore::mix_half` on random plans, shapes (odd widths),
/// layouts, epilogues (with the overflow and subnormal one) and accumulators, every path.
#[test]
fn emulated_half_mix_matches_mixcore_mix_half_on_random_cases() {
    random_cases(
        "emulated_half_mix_matches_mixcore_mix_half_on_random_cases",
        0x5EED_0002,
        80,
        &HALVES,
        true,
    );
}

/// Every schedule x layout x epilogue x path on fixed shapes, including the paper's setting,
/// into outputs of each of `stores`. Returns the cases (`None` when the emulator is missing).
fn every_schedule_layout_epilogue(
    test: &str,
    stores: &[Store],
    epilogues: &[Epilogue],
) -> Option<Vec<Case>> {
    let custom: &'static [u32] = &[3, 0, 1_000_000_007, 1];
    let given: &'static [f32] = &[0.125, 0.5, 0.0, 0.375];
    let mut rng = Rng::new(42);
    let mut emu = Emu::default();
    let mut cases = Vec::new();
    let mut queued = Vec::new();
    let schedules = [
        (Schedule::Average, FramesPerSegment::All),
        (Schedule::Linear, FramesPerSegment::All),
        (Schedule::Linear0, FramesPerSegment::All),
        (Schedule::Linear, FramesPerSegment::Fixed(4)),
        (Schedule::Custom(custom), FramesPerSegment::Fixed(4)),
    ];
    for (schedule, k) in schedules {
        for layout in [Layout::Tchw, Layout::Cthw, Layout::Thwc] {
            for &epilogue in epilogues {
                for path in [
                    MixPath::Exact,
                    MixPath::Float(FloatWeights::Schedule),
                    MixPath::Float(FloatWeights::Given(given)),
                ] {
                    if matches!(path, MixPath::Float(FloatWeights::Given(_)))
                        && k == FramesPerSegment::All
                    {
                        continue;
                    }
                    let config = PlanConfig {
                        segments: 8,
                        k,
                        schedule,
                        ..PlanConfig::default()
                    };
                    let plan = Plan::new(48, &config).unwrap();
                    let g = Geometry::new(5, 3, 3).unwrap();
                    let pool = PoolLayout {
                        row_stride: 17,
                        frame_pitch: 3 * 17 + 2,
                    };
                    let case = Case {
                        plans: vec![plan],
                        spec: MixSpec {
                            layout,
                            epilogue,
                            path,
                            backend: Backend::Reference,
                        },
                        g,
                        pool,
                        frames: rng.bytes(48 * pool.frame_pitch),
                    };
                    for &store in stores {
                        let device = queue_device_mix(&mut emu, &case, store);
                        let order: Vec<u32> = (0..48).collect();
                        let stream = queue_stream_mix(&mut emu, &case, &order, 8, store);
                        queued.push(Queued {
                            case: cases.len(),
                            store,
                            outputs: [
                                ("device-frames mix", device),
                                ("streaming mix", stream),
                                ("", 0),
                            ],
                        });
                    }
                    cases.push(case);
                }
            }
        }
    }
    let out = emu.run(test)?;
    check_queued(&cases, &queued, &out);
    Some(cases)
}

#[test]
fn emulated_mix_matches_mixcore_for_every_schedule_layout_epilogue() {
    every_schedule_layout_epilogue(
        "emulated_mix_matches_mixcore_for_every_schedule_layout_epilogue",
        &[Store::F32],
        &EPILOGUES,
    );
}

#[test]
fn emulated_half_mix_matches_mixcore_mix_half_for_every_schedule_layout_epilogue() {
    let mut epilogues = EPILOGUES.to_vec();
    epilogues.extend(cases::HALF_EDGE_EPILOGUES);
    let Some(cases) = every_schedule_layout_epilogue(
        "emulated_half_mix_matches_mixcore_mix_half_for_every_schedule_layout_epilogue",
        &HALVES,
        &epilogues,
    ) else {
        return;
    };
    // The cases reach the rounding's edges: f16 overflow to infinity, f16 subnormals of both
    // signs, signed zeros, and bf16 subnormals.
    let (mut f16_inf, mut f16_sub, mut f16_neg_sub, mut neg_zero, mut bf16_sub) =
        (false, false, false, false, false);
    for case in &cases {
        for b in case.reference_half(Half::F16) {
            f16_inf |= b & 0x7fff == 0x7c00;
            f16_sub |= b & 0x7c00 == 0 && b & 0x03ff != 0;
            f16_neg_sub |= b & 0xfc00 == 0x8000 && b & 0x03ff != 0;
            neg_zero |= b == 0x8000;
        }
        for b in case.reference_half(Half::Bf16) {
            bf16_sub |= b & 0x7f80 == 0 && b & 0x007f != 0;
        }
    }
    assert!(
        f16_inf && f16_sub && f16_neg_sub && neg_zero && bf16_sub,
        "edge classes reached: f16 inf {f16_inf}, f16 subnormal {f16_sub}, negative \
         {f16_neg_sub}, -0 {neg_zero}, bf16 subnormal {bf16_sub}"
    );
}

/// Huge windows: u64 accumulators and denominators >= 2^29 (the integer rounding route), and
/// more jobs than one grid's y dimension holds; f32, f16 and bf16 outputs.
#[test]
fn emulated_mix_matches_mixcore_for_wide_sums_and_many_jobs() {
    let mut rng = Rng::new(7);
    let mut emu = Emu::default();
    let mut cases = Vec::new();
    let mut queued = Vec::new();
    for (frames, config) in cases::wide_plans() {
        for epilogue in [Epilogue::Raw, Epilogue::IMAGENET] {
            let plan = Plan::new(frames, &config).unwrap();
            let g = Geometry::new(2, 1, 1).unwrap();
            let pool = PoolLayout {
                row_stride: 2,
                frame_pitch: 2,
            };
            let case = Case {
                plans: vec![plan],
                spec: MixSpec {
                    epilogue,
                    backend: Backend::Reference,
                    ..MixSpec::default()
                },
                g,
                pool,
                frames: rng.bytes(frames as usize * 2),
            };
            for store in [Store::F32, Store::F16, Store::Bf16] {
                let device = queue_device_mix(&mut emu, &case, store);
                queued.push(Queued {
                    case: cases.len(),
                    store,
                    outputs: [("device-frames mix", device), ("", 0), ("", 0)],
                });
            }
            cases.push(case);
        }
    }
    let Some(out) = emu.run("emulated_mix_matches_mixcore_for_wide_sums_and_many_jobs") else {
        return;
    };
    check_queued(&cases, &queued, &out);
}

/// The half-precision rounding the kernels store (`fm_f16_bits`, `fm_bf16_bits`) against
/// `mixcore::half::f16_bits` / `bf16_bits` on every class of `f32` input
/// ([`cases::half_probe_inputs`]: about 4.3 million patterns).
#[test]
fn emulated_half_rounding_matches_mixcore_half_bits() {
    let inputs = cases::half_probe_inputs(&mut Rng::new(0x4A1F));
    let bytes: Vec<u8> = inputs.iter().flat_map(|b| b.to_le_bytes()).collect();
    let mut emu = Emu::default();
    let input = emu.buffer(bytes);
    let mut outs = Vec::new();
    for store in HALVES {
        let out = emu.buffer(vec![0xAA; inputs.len() * 2]);
        emu.launch(half_probe_launch(store, input, out, inputs.len()).unwrap());
        outs.push((store, out));
    }
    let Some(out) = emu.run("emulated_half_rounding_matches_mixcore_half_bits") else {
        return;
    };
    for (store, addr) in outs {
        let half = half_of(store);
        for (&b, got) in inputs.iter().zip(out.u16s(addr)) {
            let want = half.bits(f32::from_bits(b));
            assert_eq!(
                got,
                want,
                "{half:?} of {b:#010x} ({}): kernel {got:#06x} vs mixcore {want:#06x}",
                f32::from_bits(b)
            );
        }
    }
}

/// The rounding, both routes, against `mixcore::round::round_ratio` on random ratios, exact
/// ties (midpoints between two f32) and their neighbours, over the whole range plans produce.
#[test]
fn emulated_rounding_matches_mixcore_round_ratio() {
    let mut rng = Rng::new(99);
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    for _ in 0..20_000 {
        let d = match rng.below(3) {
            0 => rng.range(1, 300),
            1 => rng.range(1, (1 << 29) - 1),
            _ => rng.range(1 << 29, (1 << 48) - 1),
        };
        pairs.push((rng.range(0, 255 * d), d));
    }
    for _ in 0..5_000 {
        // Midpoint between M * 2^e and (M + 1) * 2^e (M has 24 bits) as n / 2^j, exactly.
        let m = rng.range(1 << 23, (1 << 24) - 1);
        let j = rng.range(30, 47);
        // value = (2M + 1) * 2^(e - 1) <= 255 needs e - 1 <= -18 (2M+1 < 2^25, 2^25 * 2^-18 = 128).
        let e1 = -(rng.range(18, j) as i64);
        let d = 1u64 << j;
        let n = (2 * m + 1) << (j as i64 + e1);
        for n in [n - 1, n, n + 1] {
            pairs.push((n, d));
        }
    }
    for d in [
        1u64,
        2,
        3,
        255,
        (1 << 29) - 1,
        1 << 29,
        (1 << 29) + 1,
        (1 << 48) - 1,
    ] {
        for n in [0, 1, d - 1, d, d + 1, 255 * d - 1, 255 * d] {
            pairs.push((n, d));
        }
    }
    let n: Vec<u8> = pairs.iter().flat_map(|p| p.0.to_le_bytes()).collect();
    let d: Vec<u8> = pairs.iter().flat_map(|p| p.1.to_le_bytes()).collect();
    let mut emu = Emu::default();
    let (na, da) = (emu.buffer(n), emu.buffer(d));
    let fast = emu.buffer(vec![0xFF; pairs.len() * 4]);
    let exact = emu.buffer(vec![0xFF; pairs.len() * 4]);
    emu.launch(probe_launch(false, na, da, fast, pairs.len()).unwrap());
    emu.launch(probe_launch(true, na, da, exact, pairs.len()).unwrap());
    let Some(out) = emu.run("emulated_rounding_matches_mixcore_round_ratio") else {
        return;
    };
    for (route, addr) in [("fm_round_ratio", fast), ("fm_round_ratio_exact", exact)] {
        for (&(n, d), got) in pairs.iter().zip(out.f32s(addr)) {
            let want = mixcore::round::round_ratio(n, d);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{route}({n}, {d}): {got} vs {want}"
            );
        }
    }
}

/// The kernels' half rounding equals `mixcore::half::f16_bits` / `bf16_bits` on every one of
/// the 2^32 `f32` bit patterns: the emulator hashes its results in 256 blocks of 2^24
/// (`emu --half-hashes`: the sum of each result times an odd multiplier of its pattern, so any
/// one difference shows) while this process hashes mixcore's on every core; a differing block
/// is named. Ignored by default (about a minute of CPU, twice the rest of the crate's tests);
/// `cargo test -p mixcuda --lib -- --ignored every_f32` runs it. The 4.3 million patterns of
/// `emulated_half_rounding_matches_mixcore_half_bits` run every time.
#[test]
#[ignore = "exhaustive over 2^32 patterns: about a minute of CPU; run with --ignored"]
fn emulated_half_rounding_matches_mixcore_on_every_f32() {
    let Some(emulator) = super::emulator("emulated_half_rounding_matches_mixcore_on_every_f32")
    else {
        return;
    };
    let child = std::process::Command::new(&emulator.path)
        .arg("--half-hashes")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let block_hashes = |block: u64| {
        let (mut h16, mut hb) = (0u64, 0u64);
        for i in block << 24..(block + 1) << 24 {
            let x = f32::from_bits(i as u32);
            let weight = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            h16 = h16.wrapping_add(u64::from(mixcore::half::f16_bits(x)).wrapping_mul(weight));
            hb = hb.wrapping_add(u64::from(mixcore::half::bf16_bits(x)).wrapping_mul(weight));
        }
        [
            format!("f16 {block} {h16:016x}"),
            format!("bf16 {block} {hb:016x}"),
        ]
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let mut want: Vec<(u64, [String; 2])> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..256)
                        .step_by(threads as usize)
                        .map(|b| (b, block_hashes(b)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    want.sort_by_key(|w| w.0);
    let want: Vec<String> = want.into_iter().flat_map(|w| w.1).collect();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "emu --half-hashes failed");
    let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            g, w,
            "the kernels' rounding differs from mixcore's in this block of 2^24 patterns \
             (the block number times 2^24 is its first f32 bit pattern)"
        );
    }
}

/// The emulator's C++ compiler lays the header's structs out exactly as the host encodes them.
#[test]
fn emulated_struct_layout_matches_host_encoding() {
    let Some(emulator) = super::emulator("emulated_struct_layout_matches_host_encoding") else {
        return;
    };
    let out = std::process::Command::new(&emulator.path)
        .arg("--layout")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = [
        ("FmJob.denominator", 0),
        ("FmJob.term_first", 8),
        ("FmJob.term_count", 12),
        ("FmJob.segment", 16),
        ("FmJob.segments", 20),
        ("FmJob.first_segment", 24),
        ("FmJob.acc_block", 28),
        ("FmParams.frames", 0),
        ("FmParams.out", 8),
        ("FmParams.jobs", 16),
        ("FmParams.term_frame", 24),
        ("FmParams.term_numer", 32),
        ("FmParams.term_weight", 40),
        ("FmParams.acc", 48),
        ("FmParams.frame_pitch", 56),
        ("FmParams.row_stride", 64),
        ("FmParams.width", 72),
        ("FmParams.height", 76),
        ("FmParams.channels", 80),
        ("FmParams.layout", 84),
        ("FmParams.epilogue", 88),
        ("FmParams.job_offset", 92),
        ("FmParams.mean", 96),
        ("FmParams.std", 112),
        ("FmParams.store", 128),
        ("FmParams.reserved", 132),
        ("FmProbe.n", 0),
        ("FmProbe.d", 8),
        ("FmProbe.out", 16),
        ("FmProbe.count", 24),
        ("sizeof.FmJob", crate::params::JOB_SIZE),
        ("sizeof.FmParams", crate::params::PARAMS_SIZE),
        ("sizeof.FmProbe", crate::params::PROBE_SIZE),
    ];
    let got: Vec<(String, usize)> = text
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect();
    let want: Vec<(String, usize)> = expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(got, want);
    // And the host encoding puts each field there.
    let p = crate::params::MixParams {
        width: 0xAABB,
        job_offset: 0xCCDD,
        std: [0.0, 0.0, 0.0, 2.0],
        store: Store::Bf16,
        ..Default::default()
    };
    let bytes = words_to_bytes(&p.encode());
    assert_eq!(&bytes[72..76], &0xAABBu32.to_le_bytes());
    assert_eq!(&bytes[92..96], &0xCCDDu32.to_le_bytes());
    assert_eq!(&bytes[124..128], &2.0f32.to_le_bytes());
    assert_eq!(&bytes[128..136], &[2, 0, 0, 0, 0, 0, 0, 0]);
}

/// A kernel reading outside its buffers must fail the emulator when it has AddressSanitizer, so
/// the checks above mean something.
#[test]
fn emulator_catches_out_of_bounds_reads() {
    let Some(emulator) = super::emulator("emulator_catches_out_of_bounds_reads") else {
        return;
    };
    if !emulator.sanitized {
        println!(
            "emulator_catches_out_of_bounds_reads: skipped: emulator built without sanitizers"
        );
        return;
    }
    let case = Case {
        plans: vec![Plan::new(4, &PlanConfig::default()).unwrap()],
        spec: MixSpec::default(),
        g: Geometry::new(3, 2, 1).unwrap(),
        pool: PoolLayout {
            row_stride: 3,
            frame_pitch: 6,
        },
        frames: vec![1; 24],
    };
    let p = case.packed();
    let mut emu = Emu::default();
    let mut addr = upload_plan(&mut emu, &p, false);
    // A pool one frame short: the last segment reads 6 bytes past its end.
    addr.frames = emu.buffer(vec![0; 18]);
    addr.out = output(&mut emu, case.out_len(), Store::F32);
    let jobs = 0..p.jobs.len() as u32;
    emu.launches(mix_launches(&p, case.g, case.pool, addr, jobs, Store::F32).unwrap());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        emu.run("emulator_catches_out_of_bounds_reads")
    }));
    assert!(
        result.is_err(),
        "the emulator did not notice an out-of-bounds read"
    );
}
