/work/wt/clitests/ci/nostd-check/target/debug/deps/framemix_nostd_check-898f3262b0b4a698.d: src/lib.rs

/work/wt/clitests/ci/nostd-check/target/debug/deps/libframemix_nostd_check-898f3262b0b4a698.rmeta: src/lib.rs

src/lib.rs:
