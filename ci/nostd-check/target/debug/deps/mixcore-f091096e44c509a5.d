/work/wt/clitests/ci/nostd-check/target/debug/deps/mixcore-f091096e44c509a5.d: /work/wt/clitests/mixcore/src/lib.rs /work/wt/clitests/mixcore/src/accumulator.rs /work/wt/clitests/mixcore/src/admit.rs /work/wt/clitests/mixcore/src/epilogue.rs /work/wt/clitests/mixcore/src/error.rs /work/wt/clitests/mixcore/src/frame.rs /work/wt/clitests/mixcore/src/kernel/mod.rs /work/wt/clitests/mixcore/src/kernel/avx2.rs /work/wt/clitests/mixcore/src/kernel/avx512.rs /work/wt/clitests/mixcore/src/kernel/reference.rs /work/wt/clitests/mixcore/src/kernel/wide.rs /work/wt/clitests/mixcore/src/layout.rs /work/wt/clitests/mixcore/src/mix.rs /work/wt/clitests/mixcore/src/mixer/mod.rs /work/wt/clitests/mixcore/src/mixer/add.rs /work/wt/clitests/mixcore/src/mixer/finish.rs /work/wt/clitests/mixcore/src/mixer/run.rs /work/wt/clitests/mixcore/src/mixer/state.rs /work/wt/clitests/mixcore/src/plan.rs /work/wt/clitests/mixcore/src/round.rs /work/wt/clitests/mixcore/src/schedule.rs /work/wt/clitests/mixcore/src/select.rs /work/wt/clitests/mixcore/src/sink.rs /work/wt/clitests/mixcore/src/text.rs /work/wt/clitests/mixcore/src/window.rs

/work/wt/clitests/ci/nostd-check/target/debug/deps/libmixcore-f091096e44c509a5.rmeta: /work/wt/clitests/mixcore/src/lib.rs /work/wt/clitests/mixcore/src/accumulator.rs /work/wt/clitests/mixcore/src/admit.rs /work/wt/clitests/mixcore/src/epilogue.rs /work/wt/clitests/mixcore/src/error.rs /work/wt/clitests/mixcore/src/frame.rs /work/wt/clitests/mixcore/src/kernel/mod.rs /work/wt/clitests/mixcore/src/kernel/avx2.rs /work/wt/clitests/mixcore/src/kernel/avx512.rs /work/wt/clitests/mixcore/src/kernel/reference.rs /work/wt/clitests/mixcore/src/kernel/wide.rs /work/wt/clitests/mixcore/src/layout.rs /work/wt/clitests/mixcore/src/mix.rs /work/wt/clitests/mixcore/src/mixer/mod.rs /work/wt/clitests/mixcore/src/mixer/add.rs /work/wt/clitests/mixcore/src/mixer/finish.rs /work/wt/clitests/mixcore/src/mixer/run.rs /work/wt/clitests/mixcore/src/mixer/state.rs /work/wt/clitests/mixcore/src/plan.rs /work/wt/clitests/mixcore/src/round.rs /work/wt/clitests/mixcore/src/schedule.rs /work/wt/clitests/mixcore/src/select.rs /work/wt/clitests/mixcore/src/sink.rs /work/wt/clitests/mixcore/src/text.rs /work/wt/clitests/mixcore/src/window.rs

/work/wt/clitests/mixcore/src/lib.rs:
/work/wt/clitests/mixcore/src/accumulator.rs:
/work/wt/clitests/mixcore/src/admit.rs:
/work/wt/clitests/mixcore/src/epilogue.rs:
/work/wt/clitests/mixcore/src/error.rs:
/work/wt/clitests/mixcore/src/frame.rs:
/work/wt/clitests/mixcore/src/kernel/mod.rs:
/work/wt/clitests/mixcore/src/kernel/avx2.rs:
/work/wt/clitests/mixcore/src/kernel/avx512.rs:
/work/wt/clitests/mixcore/src/kernel/reference.rs:
/work/wt/clitests/mixcore/src/kernel/wide.rs:
/work/wt/clitests/mixcore/src/layout.rs:
/work/wt/clitests/mixcore/src/mix.rs:
/work/wt/clitests/mixcore/src/mixer/mod.rs:
/work/wt/clitests/mixcore/src/mixer/add.rs:
/work/wt/clitests/mixcore/src/mixer/finish.rs:
/work/wt/clitests/mixcore/src/mixer/run.rs:
/work/wt/clitests/mixcore/src/mixer/state.rs:
/work/wt/clitests/mixcore/src/plan.rs:
/work/wt/clitests/mixcore/src/round.rs:
/work/wt/clitests/mixcore/src/schedule.rs:
/work/wt/clitests/mixcore/src/select.rs:
/work/wt/clitests/mixcore/src/sink.rs:
/work/wt/clitests/mixcore/src/text.rs:
/work/wt/clitests/mixcore/src/window.rs:
