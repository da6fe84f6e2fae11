//! Criterion benches: every kernel variant on each case of the performance issue, plus the
//! read baseline, grouped by workload, reported as input bytes per second.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use framemix_benches::{CASES, Scratch, Variant, Workload, keep, read_baseline, run};

fn bench_cases(c: &mut Criterion) {
    for case in CASES {
        let w = Workload::new(case);
        let frames = w.views();
        let mut out = vec![0f32; w.output_len()];
        let mut scratch = Scratch::default();
        let size = format!("{}x{}x3x{}", case.width, case.height, case.frames);
        let mut group = c.benchmark_group(format!("case_{}", case.name));
        group.throughput(Throughput::Bytes(w.input_bytes() as u64));
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::new("read_baseline", &size), &w, |b, w| {
            b.iter(|| keep(read_baseline(keep(&w.bytes))));
        });
        for v in Variant::ALL {
            group.bench_with_input(BenchmarkId::new(v.name(), &size), &w, |b, w| {
                b.iter(|| run(w, &frames, v, &mut out, &mut scratch));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_cases);
criterion_main!(benches);
